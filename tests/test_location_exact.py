"""A visit whose GPS fix is exactly the station's recorded position (to the centimetre) was likely set by
hand or by a fake-GPS app: it is flagged in the queue, the flagged list and the reviewer's evidence
(server/inspections/rules.py EXACT_STATION_FIX_M, schema 0025), and never shown as "at the station"."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pypdf

from server.inspections import rules
from server.review import queries
from tests.factories import make_version, make_world
from tests.review_fixtures import answers, make_ctx

# make_world puts station A at 31.5, 74.35.
EXACT = {"lat": 31.5, "lon": 74.35, "accuracy_m": 5}
THREE_METRES = {"lat": 31.50003, "lon": 74.35, "accuracy_m": 5}


def migration() -> str:
    # The flagged list's index as last rebuilt (0026 added the repeated fix to it).
    return (Path(__file__).parent.parent / "schema" / "0026_location_repeated.sql").read_text(encoding="utf-8")


def pdf_text(content: bytes) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def words(sql: str) -> str:
    return " ".join(sql.split())


async def send(ctx, location: dict[str, Any] | None) -> uuid.UUID:
    """A submission as the phone sends it, with the given fix (None: the phone had none)."""
    inspection_id = uuid.uuid4()
    body = {
        "station_id": str(ctx.world.stations["A"]),
        "template_version_id": str(ctx.version_id),
        "base_revision": 0,
        "status": "submitted",
        "started_at": "2026-11-27T09:00:00Z",
        "location": location,
        "answers": answers(),
    }
    response = await ctx.client.put(f"/api/v1/inspections/{inspection_id}", await ctx.token("inspector_a"), json=body)
    assert response.status_code in (200, 201), response.text
    return inspection_id


async def queue_row(ctx, inspection_id: uuid.UUID, **params: Any) -> dict[str, Any] | None:
    rows = (await ctx.get("/api/v1/review/queue", **params)).json()["rows"]
    return next((r for r in rows if r["id"] == str(inspection_id)), None)


async def flagged_ids(ctx, **params: Any) -> list[str]:
    response = await ctx.get("/api/v1/dashboard/flagged", **params)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["rows"]]


async def evidence_of(ctx, inspection_id: uuid.UUID) -> dict[str, Any]:
    response = await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews")
    assert response.status_code == 200, response.text
    return response.json()["evidence"]


async def test_a_fix_exactly_on_the_station_is_flagged_and_one_a_few_metres_off_or_missing_is_not(client):
    ctx = await make_ctx(client)
    exact = await send(ctx, EXACT)
    near = await send(ctx, THREE_METRES)
    # No fix at all: flagged as missing (far_from_station), never as exact.
    missing = await send(ctx, None)

    row = await queue_row(ctx, exact)
    assert row["distance_m"] == 0 and row["flags"]["location_exact"] is True
    assert row["flags"]["far_from_station"] is False
    near_row = await queue_row(ctx, near)
    assert 3 < near_row["distance_m"] < 4 and near_row["flags"]["location_exact"] is False
    missing_row = await queue_row(ctx, missing)
    assert missing_row["distance_m"] is None and missing_row["flags"]["location_exact"] is False

    assert [r["id"] for r in (await ctx.get("/api/v1/review/queue", flag="exact")).json()["rows"]] == [str(exact)]
    listed = await flagged_ids(ctx)
    assert str(exact) in listed and str(near) not in listed
    assert await flagged_ids(ctx, flag="exact") == [str(exact)]

    assert (await evidence_of(ctx, exact))["location_exact"] is True
    assert (await evidence_of(ctx, near))["location_exact"] is False
    assert (await evidence_of(ctx, missing))["location_exact"] is False


async def test_an_exact_fix_stays_on_the_flagged_list_once_reviewed(client):
    ctx = await make_ctx(client)
    exact = await send(ctx, EXACT)
    approved = await ctx.review(exact, "approve", 1)
    assert approved.status_code == 200, approved.text
    assert await flagged_ids(ctx, flag="exact") == [str(exact)]


async def test_an_unknown_flag_is_refused_naming_the_field(client):
    ctx = await make_ctx(client)
    for path in ("/api/v1/review/queue", "/api/v1/dashboard/flagged"):
        response = await ctx.get(path, flag="exactly")
        assert response.status_code in (400, 422), response.text
        assert "flag" in response.text


def test_the_python_rule_the_list_and_the_index_agree():
    assert rules.exact_station_fix(0.0) and rules.exact_station_fix(0.009)
    assert not rules.exact_station_fix(0.01) and not rules.exact_station_fix(None)
    assert rules.EXACT_STATION_FIX_M == 0.01
    predicate = re.search(r"CREATE INDEX inspections_flagged_repeated_idx .*? WHERE (.*?);", migration(), re.S)
    assert predicate is not None
    assert f"distance_m < {rules.EXACT_STATION_FIX_M}" in predicate.group(1)
    # The list's condition is the index's predicate word for word, each column qualified by `i.`.
    assert words(predicate.group(1)) in words(queries._FLAGGED.replace("i.", "")), predicate.group(1)


async def test_the_flagged_list_is_read_through_its_partial_index(conn):
    """On 100,000 inspections of which a few are flagged, the list is an index scan, not a table scan."""
    world = await make_world(conn)
    version = await make_version(conn)
    await conn.execute(
        """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                    body_hash, document, started_at, finished_at, submitted_at, distance_m)
           SELECT gen_random_uuid(), $1, $2, $3, 'approved', 1, '\\x00', '{}',
                  now() - n * interval '15 minutes', now() - n * interval '15 minutes' + interval '10 minutes',
                  now() - n * interval '15 minutes' + interval '11 minutes', CASE WHEN n % 1000 = 0 THEN 0 ELSE 40 END
             FROM generate_series(1, 100000) AS n""",
        world.stations["A"],
        version,
        world.users["inspector_a"],
    )
    await conn.execute("ANALYZE inspections")
    args = [True, [], [], None, None, None, None, None, None, 51, None, None]
    plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + queries._FLAGGED, *args))
    assert "inspections_flagged_repeated_idx" in plan, plan
    assert "Seq Scan on inspections" not in plan, plan
    for flag in (None, "exact"):
        rows = await conn.fetch(queries._FLAGGED, True, [], [], None, None, None, flag, None, None, 200, None, None)
        assert len(rows) == 100 and all(r["distance_m"] == 0 for r in rows)


async def test_the_report_says_the_fix_is_the_stations_position_instead_of_at_the_station(client):
    ctx = await make_ctx(client)
    exact = await send(ctx, EXACT)
    near = await send(ctx, THREE_METRES)
    exact_pdf = await ctx.get(f"/api/v1/inspections/{exact}/report.pdf")
    assert exact_pdf.status_code == 200, exact_pdf.text
    text = " ".join(pdf_text(exact_pdf.content)[0].split())
    assert "EXACTLY THE STATION'S RECORDED POSITION" in text and "At the station" not in text
    near_text = " ".join(pdf_text((await ctx.get(f"/api/v1/inspections/{near}/report.pdf")).content)[0].split())
    assert "At the station" in near_text and "EXACTLY" not in near_text
    # The inspector's own report does not tell them: their presence reads as their app showed it.
    own = await ctx.get(f"/api/v1/inspections/{exact}/report.pdf", user="inspector_a")
    assert own.status_code == 200, own.text
    own_text = " ".join(pdf_text(own.content)[0].split())
    assert "EXACTLY" not in own_text and "by an app" not in own_text and "At the station (within" in own_text
