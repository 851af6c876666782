"""A real S3-protocol server on loopback for tests: moto's server in a child process.

A child process rather than moto's in-process thread, because outage tests need to
kill it, freeze it and bring it back on the same port, exactly as a real MinIO would
go away, and because its CPU then never competes with the test's event loop.

moto keeps everything in memory, so `stop()` followed by `start()` (or `restart()`)
comes back with no buckets at all: a test that restarts the server must create its
bucket again (`S3Store.start()` does). `pause()` / `resume()` freeze the process with
SIGSTOP / SIGCONT instead, which keeps its state and imitates a hung server whose
port still accepts connections but never answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# moto accepts any credentials; these are what tests pass to the client.
ACCESS_KEY = "muaina-test"
SECRET_KEY = "muaina-test-secret"
REGION = "us-east-1"


def free_port(host: str = "127.0.0.1") -> int:
    # The kernel picks a port that is free now; the tiny race until moto binds it is
    # covered by start() retrying with a fresh port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # Runs in the child before exec: ask Linux to send SIGTERM when the test process
    # dies, so a killed pytest run never leaves a moto server holding a port.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class S3Server:
    """One moto server process bound to 127.0.0.1; `endpoint` is "127.0.0.1:PORT"."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, start_timeout: float = 20.0):
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        # A port given by the caller, or one the server has already run on, is kept
        # so restarts land where clients expect; a port we just picked is swapped for
        # a fresh one if something else grabbed it before moto could bind it.
        self._port_pinned = port is not None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("the S3 server has not been started")
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the server (on the same port as before, if it ran already) and return its endpoint."""
        if self.running:
            return self.endpoint
        last_error = ""
        for _attempt in range(3):
            if self.port is None:
                self.port = free_port(self.host)
            last_error = self._spawn_and_wait()
            if not last_error:
                self._port_pinned = True
                return self.endpoint
            if not self._port_pinned:
                self.port = None
        raise RuntimeError(f"moto server did not start on {self.host}:{self.port}: {last_error}")

    def stop(self) -> None:
        """Stop the server and wait for it to exit; its port is free again afterwards."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # A paused process cannot act on SIGTERM until it is continued.
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def restart(self) -> str:
        """Stop, then start again on the same port: every bucket and object is gone afterwards."""
        self.stop()
        return self.start()

    def pause(self) -> None:
        """Freeze the process: connections are still accepted by the kernel but never answered."""
        if not self.running:
            raise RuntimeError("the S3 server is not running")
        os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc is not None:
            os.kill(self._proc.pid, signal.SIGCONT)

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn_and_wait(self) -> str:
        # moto logs every request to stderr; a file keeps the pipe from filling up and
        # still lets a failed start say why.
        fd, log_name = tempfile.mkstemp(prefix="moto-", suffix=".log")
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            status = self._proc.poll()
            if status is not None:
                reason = self._log_tail()
                self.stop()
                return reason or f"exited with status {status}"
            # Werkzeug binds its socket only after the whole app is imported, so the
            # first accepted connection means the server is ready to answer.
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return ""
            except OSError:
                time.sleep(0.05)
        reason = self._log_tail() or "timed out"
        self.stop()
        return reason

    def _log_tail(self) -> str:
        if self._log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return self._log_path.read_text(errors="replace")[-2000:].strip()
        return ""


if __name__ == "__main__":
    # `python tests/s3server.py` runs a server by hand for poking at with a client.
    with S3Server() as server:
        print(f"moto S3 server on {server.url} (access key {ACCESS_KEY!r}); Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while server.running:
                time.sleep(1)
