"""GET /metrics: off without METRICS_TOKEN, only for its bearer, Prometheus's text format, the force's
figures read from PostgreSQL, HTTP counts by route template, and counts added up across worker processes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.audit.queries import VERIFIED
from server.config import ConfigError, Settings, load_settings
from server.metrics import FIGURES
from tests.conftest import LiveServer, live_server_for
from tests.factories import ApiClient
from tests.review_fixtures import make_ctx

TOKEN = "m" * 24 + uuid.uuid4().hex  # 56 characters
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@pytest.fixture
async def metrics_client(settings: Settings, executor) -> AsyncIterator[ApiClient]:
    app = create_app(msgspec.structs.replace(settings, metrics_token=TOKEN), executor=executor, run_migrations=False)
    async with AsyncTestClient(app, raise_server_exceptions=False) as test_client:
        yield ApiClient(test_client, settings.database_url or "")


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a Prometheus text body by sample name (parsing it is the check of its format)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(text: str, name: str, **labels: str) -> float:
    return sum(v for got, v in samples(text).get(name, []) if all(got.get(k) == w for k, w in labels.items()))


async def scrape(client: ApiClient) -> str:
    response = await client.get("/metrics", TOKEN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.text


def test_metrics_token_is_read_and_a_short_one_stops_start_up_naming_it():
    assert load_settings({}).metrics_token is None
    assert load_settings({"METRICS_TOKEN": TOKEN}).metrics_token == TOKEN
    with pytest.raises(ConfigError, match=r"^METRICS_TOKEN must be at least 32 characters") as short:
        load_settings({"METRICS_TOKEN": "secret-but-short"})
    assert "secret-but-short" not in str(short.value)
    with pytest.raises(ConfigError, match=r"^METRICS_TOKEN must be visible ASCII"):
        load_settings({"METRICS_TOKEN": TOKEN[:20] + " " + TOKEN[20:]})


async def test_without_a_metrics_token_the_endpoint_answers_as_a_path_that_is_not_there(client: ApiClient):
    absent = await client.get("/no-such-path")
    for token in (None, TOKEN):
        response = await client.get("/metrics", token)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json() == {**absent.json(), "detail": response.json()["detail"]}
        assert "muaina" not in response.text


async def test_metrics_need_the_metrics_token_and_a_session_is_not_it(metrics_client: ApiClient):
    ctx = await make_ctx(metrics_client)
    session = ctx.tokens["admin"]
    for headers in (
        {},
        {"Authorization": "Bearer " + TOKEN[:-1] + "x"},
        {"Authorization": "Bearer " + session},
        {"Authorization": "Basic " + TOKEN},
    ):
        response = await metrics_client.http.get("/metrics", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "muaina_" not in response.text
    assert (await metrics_client.get("/metrics", TOKEN)).status_code == 200


async def test_the_figures_count_the_queue_missing_photos_overdue_actions_and_the_audit_trail(
    metrics_client: ApiClient,
):
    ctx = await make_ctx(metrics_client)
    submitted = [(await ctx.submit())[0] for _ in range(3)]
    await ctx.put(uuid.uuid4(), status="draft")  # a draft is not in the queue
    approved, revision = await ctx.submit()
    assert (await ctx.review(approved, "approve", revision)).status_code == 200
    conn = await metrics_client.db()
    try:
        # Photos one inspection still waits for, and one drafted (not counted); an action overdue by
        # Pakistan's calendar, one due in a month, one overdue but done.
        await conn.execute("UPDATE inspections SET photos_missing = 2 WHERE id = $1", submitted[0])
        await conn.execute("UPDATE inspections SET photos_missing = 1 WHERE status = 'draft'")
        await conn.execute(
            """INSERT INTO actions (station_id, source, description, due_date, status)
               VALUES ($1, 'reviewer', 'late', (now() AT TIME ZONE 'Asia/Karachi')::date - 1, 'open'),
                      ($1, 'reviewer', 'later', (now() AT TIME ZONE 'Asia/Karachi')::date + 30, 'in_progress'),
                      ($1, 'reviewer', 'done', (now() AT TIME ZONE 'Asia/Karachi')::date - 5, 'done')""",
            ctx.world.stations["A"],
        )
        # A photo being received in parts, 300 of its 1,000 bytes there.
        await conn.execute(
            """INSERT INTO photo_uploads (photo_id, uploaded_by, inspection_id, item_key, size, device, received)
               VALUES (gen_random_uuid(), $1, $2, 'x', 1000, '{}', 300)""",
            ctx.world.users["inspector_a"],
            submitted[1],
        )
        queued = await conn.fetchval("SELECT count(*) FROM inspections WHERE status = 'submitted'")
        last_entry = await conn.fetchval("SELECT max(seq) FROM audit_log")
    finally:
        await conn.close()

    text = await scrape(metrics_client)
    assert queued == 3
    assert value(text, "muaina_review_queue_inspections") == 3
    assert 0 <= value(text, "muaina_review_queue_oldest_seconds") < 600
    assert value(text, "muaina_photos_awaited_inspections") == 1
    assert value(text, "muaina_corrective_actions_overdue") == 1
    assert value(text, "muaina_audit_last_entry") == last_entry > 0
    assert value(text, "muaina_audit_last_full_check_age_seconds") == float("inf")  # never checked
    assert value(text, "muaina_photo_uploads_open") == 1
    assert value(text, "muaina_photo_uploads_open_bytes") == 300
    assert value(text, "muaina_database_figures_up") == 1
    assert "# HELP muaina_review_queue_inspections Inspections submitted and waiting for review." in text
    # Prometheus asks for gzip; the body it gets is the same text.
    zipped = await metrics_client.http.get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"}
    )
    assert value(zipped.text, "muaina_review_queue_inspections") == 3


async def test_requests_are_counted_by_route_template_and_no_series_carries_an_id(metrics_client: ApiClient):
    ctx = await make_ctx(metrics_client)
    inspection_id, _ = await ctx.submit()
    template = "/api/v1/inspections/{inspection_id}"
    before = value(await scrape(metrics_client), "muaina_requests_total", path=template, method="GET")
    for other in (inspection_id, uuid.uuid4(), uuid.uuid4()):
        await ctx.get(f"/api/v1/inspections/{other}")
    for probe in ("/health", "/ready", "/sw.js", "/schema/openapi.json", "/js/app.js"):
        await metrics_client.get(probe)
    text = await scrape(metrics_client)
    assert value(text, "muaina_requests_total", path=template, method="GET") == before + 3
    assert value(text, "muaina_requests_total", path=template, method="GET", status_code="404") >= 2
    assert value(text, "muaina_request_duration_seconds_count", path=template, method="GET") == before + 3
    paths = {labels.get("path") for name, rows in samples(text).items() for labels, _ in rows} - {None}
    assert template in paths
    assert all(path.startswith("/api/") or path == "/" for path in paths), paths
    assert not {"/health", "/ready", "/metrics", "/sw.js", "/schema/openapi.json"} & paths
    assert not UUID.search(text), UUID.search(text)


# Several worker processes -------------------------------------------------------------------------


class WorkersServer(LiveServer):
    """`muaina serve --workers 2` against a test database."""

    serve_args = ("serve", "--workers", "2")

    def start(self, timeout: float = 60) -> WorkersServer:
        super().start(timeout)
        return self


@pytest.fixture
def workers_server(pg_admin_url: str, template_db: str, tmp_path: Path, monkeypatch) -> Iterator[WorkersServer]:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr("tests.conftest.LiveServer", WorkersServer)
    stale = tmp_path / "live" / "metrics"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left by a previous run")  # serve must empty the directory
    yield from live_server_for(pg_admin_url, template_db, tmp_path, METRICS_TOKEN=TOKEN)


def test_with_several_workers_every_scrape_reports_the_requests_of_all_of_them(workers_server: WorkersServer):
    counted = workers_server.data_dir / "metrics"
    assert not (counted / "counter_1.db").exists()  # the last run's files are gone
    requests = 0
    # A connection each, until both workers have taken some (each writes its counts to files of its own).
    while requests < 400:
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: httpx.get(workers_server.url + "/api/v1/me").status_code, range(8)))
        assert statuses == [401] * 8
        requests += 8
        if len({path.stem.rpartition("_")[2] for path in counted.glob("counter_*.db")}) == 2:
            break
    assert len({path.stem.rpartition("_")[2] for path in counted.glob("counter_*.db")}) == 2
    for _ in range(6):
        response = httpx.get(workers_server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        assert value(response.text, "muaina_requests_total", path="/api/v1/me") == requests
        assert value(response.text, "muaina_review_queue_inspections") == 0


async def test_the_figures_statement_reads_only_indexes_of_small_subsets(conn):
    """Each part of the statement can be answered from an index of a small subset (the queue, inspections
    awaiting photos, open actions, the trail's key and actions): with sequential scans made prohibitively
    dear, no plan falls back to reading a whole table."""
    await conn.execute("SET enable_seqscan = off")
    plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + FIGURES, VERIFIED))
    print(plan)
    # photo_uploads is read whole: it is the small subset itself (photos being received in parts, at most
    # four photos' worth per inspector and none over a week old: server/photos/resumable.py).
    plan = re.sub(r"Seq Scan on photo_uploads\b", "whole photo_uploads", plan)
    assert "Seq Scan" not in plan, plan
    for index in ("inspections_queue_idx", "inspections_photos_missing_idx", "actions_open_due_idx"):
        assert index in plan, plan
