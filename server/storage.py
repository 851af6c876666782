"""The photo store: one small interface, an S3 implementation and a directory one.

Photos and renditions are immutable blobs under server-made keys, so the interface
is the handful of operations the photo pipeline and the orphan sweeper need. The S3
store (minio-py, in server.s3store) is what production runs against MinIO; the directory store backs
the embedded default (`var/photos/`) and behaves the same, so every caller and the
shared contract tests treat them alike.

Both stores refuse the same keys, so a key that works in development works in
production too. Driver errors are translated here, in one place: a missing object is
`NotFound`, anything that means "the store cannot answer now" is `Unavailable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import stat
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import msgspec

from server.errors import NotFound, Unavailable

log = logging.getLogger("muaina.storage")


# Each segment starts with a letter, digit, "_" or "-", which rules out ".", ".."
# and hidden names; the directory store relies on that to keep its temporary files
# (dot-names) out of every key and every listing.
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
# A listing prefix may stop anywhere, after a "/" or halfway through a segment.
_PREFIX = re.compile(rf"(?:{_SEGMENT}/)*(?:{_SEGMENT})?")
# write_atomically's temporary files: "." + the target's name + "." + random + _TEMP_SUFFIX.
_TEMP_SUFFIX = ".tmp"
_PARTIAL = re.compile(r"\..+" + re.escape(_TEMP_SUFFIX))
# S3 limits a key to 1024 bytes; the same limit keeps both stores interchangeable.
MAX_KEY_LENGTH = 1024


class StoredObject(msgspec.Struct, frozen=True):
    key: str
    size: int
    # An opaque version tag that changes whenever the object is replaced; it is not
    # a content hash (multipart S3 ETags are not either). The photo pipeline records
    # the SHA-256 of the original itself.
    etag: str


class PhotoStore(Protocol):
    async def start(self) -> None:
        """Prepare the store (create the bucket or the root directory); safe to call twice."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` whole under `key`, replacing any object there; readers never see part of it."""

    async def get(self, key: str) -> bytes:
        """Return the object's bytes, or raise NotFound."""

    async def stat(self, key: str) -> StoredObject | None: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing one that does not exist is not an error."""

    def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """Yield every key starting with `prefix`, in lexical order, a page at a time."""

    async def remove_partial_writes(self, before: datetime, *, dry_run: bool = False) -> int:
        """Remove what writes interrupted before `before` left behind (never a whole object); return how many."""

    async def check(self) -> None:
        """Readiness probe: return quietly, or raise Unavailable."""

    async def close(self) -> None: ...


def validate_key(key: str) -> str:
    if len(key.encode()) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    if len(prefix.encode()) > MAX_KEY_LENGTH or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"invalid storage key prefix: {prefix!r}")
    return prefix


def parse_endpoint(value: str) -> tuple[str, bool | None]:
    """Split an S3 endpoint setting into minio-py's "host[:port]" and the scheme it implies.

    "host:port" leaves the choice of TLS to S3_SECURE (None); an "http://" or
    "https://" prefix decides it (False / True). Paths, credentials and any other
    scheme are refused here, so a wrong setting stops start-up with a clear line
    instead of surfacing later as a puzzling minio-py error on the first upload.
    """
    text, secure = value.strip(), None
    for scheme, flag in (("http://", False), ("https://", True)):
        if text.lower().startswith(scheme):
            text, secure = text[len(scheme) :], flag
            break
    problem = f"S3 endpoint must be host:port, http://host:port or https://host:port, not {value!r}"
    # Any "/" left means a path or another scheme; "@" means credentials in the URL.
    if not text or text.endswith(":") or any(c in text for c in "/?#@ \t"):
        raise ValueError(problem)
    parts = urlsplit("//" + text)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(problem) from None
    if not parts.hostname or port == 0:
        raise ValueError(problem)
    return text, secure


class DirectoryStore:
    """Objects as files under `root`, one file per key; for a single machine and for tests."""

    def __init__(self, root: Path | str, *, min_free_bytes: int = 0):
        self.root = Path(root).resolve()
        # check() reports the store unavailable with less free space than this: uploads already
        # answer 503 on a full disk, and a monitor watching /ready should see it coming too.
        self.min_free_bytes = min_free_bytes

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        # The content type is not kept: renditions are always JPEG, and the photo
        # pipeline records the original's real type in the database.
        try:
            await asyncio.to_thread(write_atomically, self._path(key), data)
        except OSError as exc:
            raise _disk_failed("put", key, exc) from exc

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound(f"no stored object {key}") from None
        except OSError as exc:
            raise _disk_failed("get", key, exc) from exc

    async def stat(self, key: str) -> StoredObject | None:
        try:
            st = await asyncio.to_thread(_stat_file, self._path(key))
        except OSError as exc:
            raise _disk_failed("stat", key, exc) from exc
        if st is None:
            return None
        # Every put replaces the file with a new inode, so inode, size and mtime
        # together change on every overwrite without reading the content.
        return StoredObject(key=key, size=st.st_size, etag=f"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}")

    async def exists(self, key: str) -> bool:
        # The same test as stat: a disk that cannot answer is Unavailable, never "not there", which
        # would tell the caller that a stored photo is lost.
        return await self.stat(key) is not None

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(_unlink_file, self._path(key))
        except OSError as exc:
            raise _disk_failed("delete", key, exc) from exc

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        # Only the directory the prefix points into is walked, one directory per
        # thread hop, so a sweep over a million photos never holds the whole listing.
        folder, _, name_start = validate_prefix(prefix).rpartition("/")
        async for key in self._walk(folder, name_start):
            yield key

    async def _walk(self, rel_dir: str, name_start: str) -> AsyncIterator[str]:
        try:
            entries = await asyncio.to_thread(_scan_sorted, self.root / rel_dir, name_start)
        except OSError as exc:
            raise _disk_failed("list", rel_dir or ".", exc) from exc
        for name, is_dir in entries:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if is_dir:
                async for key in self._walk(rel, ""):
                    yield key
            else:
                yield rel

    async def remove_partial_writes(self, before: datetime, *, dry_run: bool = False) -> int:
        # A process killed between creating its temporary file and the rename leaves the file
        # behind, up to a photo's size each. Its age is its mtime: a write in progress touches it
        # every few milliseconds, so a cutoff far older than any write can never catch one.
        try:
            return await asyncio.to_thread(_remove_partial_files, self.root, before.timestamp(), dry_run)
        except OSError as exc:
            raise _disk_failed("remove partial writes", ".", exc) from exc

    async def check(self) -> None:
        try:
            ok = await asyncio.to_thread(lambda: self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK))
        except OSError as exc:
            raise _disk_failed("check", ".", exc) from exc
        if not ok:
            raise Unavailable("photo store unavailable")
        free = await self.free_bytes()
        if free < self.min_free_bytes:
            log.warning("photo store: %d MB free under %s", free // 2**20, self.root)
            raise Unavailable(f"photo disk full: {free // 2**20} MB free")

    async def free_bytes(self) -> int:
        """The space left for photos: what an unprivileged process may still write under `root`."""
        try:
            st = await asyncio.to_thread(os.statvfs, self.root)
        except OSError as exc:
            raise _disk_failed("check", ".", exc) from exc
        return st.f_bavail * st.f_frsize

    async def close(self) -> None:
        return None


def _disk_failed(call: str, key: str, exc: OSError) -> Unavailable:
    """A disk that is full, failing or gone (ENOSPC, EIO, ESTALE, EROFS …) is the store being down: the
    request answers 503, as for an S3 outage, and the phone sends it again later."""
    log.warning("photo store: %s %s failed: %s", call, key, exc)
    return Unavailable("photo store unavailable")


def _stat_file(path: Path) -> os.stat_result | None:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _unlink_file(path: Path) -> None:
    # A key that names nothing, or only a folder of other keys, is no object: removing it is a no-op,
    # as on S3. Linux refuses to unlink a directory with EISDIR, some systems with EPERM.
    try:
        path.unlink()
    except (FileNotFoundError, NotADirectoryError):
        return
    except (IsADirectoryError, PermissionError):
        if _stat_file(path) is not None:
            raise


def _scan_sorted(directory: Path, name_start: str) -> list[tuple[str, bool]]:
    try:
        with os.scandir(directory) as it:
            found = [
                (e.name, e.is_dir(follow_symlinks=False))
                for e in it
                if e.name.startswith(name_start) and not e.name.startswith(".")
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    # A directory "a" holds keys "a/...", which sort after "a-b" and "a.b" because
    # "/" follows "-" and "."; sorting directories as "a/" gives S3's lexical order.
    found.sort(key=lambda entry: entry[0] + "/" if entry[1] else entry[0])
    return found


def _remove_partial_files(root: Path, before: float, dry_run: bool) -> int:
    removed = 0
    # os.walk holds one directory's names at a time, so this stays small for a million photos.
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if not _PARTIAL.fullmatch(name):
                continue
            path = Path(folder, name)
            st = _stat_file(path)
            if st is None or st.st_mtime >= before:
                continue
            if not dry_run:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            log.info("%s partial write %s", "would remove" if dry_run else "removed", path.relative_to(root))
            removed += 1
    return removed


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all, durably: a temporary file fsynced and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file lives in the target's directory so os.replace is a rename
    # within one file system, which is atomic; its dot-name keeps it out of listings.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    # The rename itself is durable only once the directory entry reaches the disk.
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
