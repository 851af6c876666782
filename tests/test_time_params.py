"""Date and time query parameters take dates and times only: a bare number is not read as a Unix time.

Litestar converts query values leniently, and a lenient conversion turns `from=0` into 1970-01-01
(and `from=1700000000` into a day in 2023). The fuzz run found that on GET /inspections; this test
asks every date or time query parameter the OpenAPI document lists, so a new one is covered too.
"""

from __future__ import annotations

from typing import Any

from tests.factories import make_world, query_params

# Dates and times the handler parses itself, documented as plain strings.
STRING_TYPED = [("/api/v1/exports/inspections.csv", "from"), ("/api/v1/exports/inspections.csv", "to")]


def _time_params(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (path, name) for path, name, schema in query_params(document) if schema.get("format") in ("date", "date-time")
    ]


async def test_a_bare_number_for_a_date_or_time_query_parameter_is_refused_naming_the_parameter(client):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("admin")
    params = _time_params((await client.get("/schema/openapi.json")).json())
    # The ones the fuzz run and the dashboards rely on must be among those found, or the walk is broken.
    assert {
        ("/api/v1/inspections", "from"),
        ("/api/v1/inspections", "to"),
        ("/api/v1/dashboard/scores", "from"),
    } <= set(params)
    refused = {}
    for path, name in params + STRING_TYPED:
        for value in ("0", "1700000000", "-1.5"):
            response = await client.get(path, token, params={name: value})
            body = response.json()
            refused[(path, name, value)] = response.status_code in (400, 422) and name in [
                e["field"] for e in body.get("errors", [])
            ]
    assert [key for key, ok in refused.items() if not ok] == []


async def test_a_time_with_its_offset_still_filters_the_inspection_list(client):
    conn = await client.db()
    try:
        await make_world(conn)
    finally:
        await conn.close()
    token = await client.login("admin")
    ok = await client.get(
        "/api/v1/inspections", token, params={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T05:00:00+05:00"}
    )
    assert ok.status_code == 200, ok.text
    naive = await client.get("/api/v1/inspections", token, params={"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "from"


async def test_a_time_where_a_day_is_taken_is_refused_saying_what_is_taken(client, admin):
    """The dashboards count whole days: a time for `from` said "Invalid RFC3339 encoded date" of an RFC
    3339 time, which left the client nothing to mend."""
    token = admin
    for path in ("/api/v1/dashboard/scores", "/api/v1/dashboard/failed-items", "/api/v1/dashboard/flagged"):
        refused = await client.get(path, token, params={"from": "2026-01-01T00:00:00Z"})
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["errors"] == [{"field": "from", "message": "must be a day written YYYY-MM-DD"}], path
        assert (await client.get(path, token, params={"from": "2026-01-01"})).status_code == 200, path
