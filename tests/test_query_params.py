"""Query parameters mean what the OpenAPI document says: integers are integers, and one value is one.

Litestar converts query values leniently and, for a parameter given twice, quietly uses one value:
the fuzz run found `GET /audit?before=4.0` answered as `before=4`, and `entity_id` given five times
answered for one of them. Every list route's query parameters are asked here, read from the OpenAPI
document, so a new parameter is covered too.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.factories import query_params


def _valid(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    return {
        "integer": str(int(max(schema.get("minimum", 1), 1))),
        "number": "1.5",
        "boolean": "true",
    }.get(schema.get("type", ""), None) or {
        "uuid": str(uuid.uuid4()),
        "date": "2026-01-01",
        "date-time": "2026-01-01T00:00:00Z",
    }.get(schema.get("format", ""), "x")


async def test_an_integer_parameter_takes_only_a_whole_number(client, admin):
    params = [
        (path, name)
        for path, name, schema in query_params((await client.get("/schema/openapi.json")).json())
        if schema.get("type") == "integer"
    ]
    assert {("/api/v1/audit", "before"), ("/api/v1/audit", "limit"), ("/api/v1/inspections", "limit")} <= set(params)
    wrong = {}
    for path, name in params:
        for value in ("4.0", "1e3", "0x10", "5 ", "five"):
            response = await client.get(path, admin, params={name: value})
            fields = [e["field"] for e in response.json().get("errors", [])] if response.status_code == 422 else []
            if name not in fields:
                wrong[(path, name, value)] = response.status_code
        whole = await client.get(path, admin, params={name: "5"})
        if whole.status_code != 200:
            wrong[(path, name, "5")] = whole.status_code
    assert wrong == {}


async def test_a_parameter_given_twice_is_refused_naming_it(client, admin):
    params = query_params((await client.get("/schema/openapi.json")).json())
    assert len(params) > 40, "the walk over the OpenAPI document found too few parameters"
    wrong = {}
    for path, name, schema in params:
        value = _valid(schema)
        once = await client.get(path, admin, params={name: value})
        twice = await client.get(path, admin, params=[(name, value), (name, value)])
        if _given_twice(once, name) or not _given_twice(twice, name):
            wrong[(path, name, value)] = (once.status_code, twice.status_code)
    assert wrong == {}


def _given_twice(response: Any, name: str) -> bool:
    if response.status_code != 422:
        return False
    return {"field": name, "message": "must be given once"} in response.json().get("errors", [])


async def test_a_photo_location_is_a_plain_decimal_number(client, admin):
    # The numbers a phone sends (as JavaScript writes them) pass this check; the route then judges them.
    response = await client.put(
        f"/api/v1/photos/{uuid.uuid4()}",
        admin,
        params={
            "inspection_id": str(uuid.uuid4()),
            "item_key": "x",
            "lat": "31.5204",
            "lon": "1e-7",
            "accuracy_m": "12",
        },
        content=b"",
    )
    assert not any(e["field"] in ("lat", "lon", "accuracy_m") for e in response.json().get("errors", []))
    refused = await client.put(
        f"/api/v1/photos/{uuid.uuid4()}",
        admin,
        params={"inspection_id": str(uuid.uuid4()), "item_key": "x", "lat": "NaN", "lon": "0x1A"},
        content=b"",
    )
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} >= {"lat", "lon"}


async def test_a_whole_number_beyond_its_column_is_refused_naming_it(client, admin):
    # Beyond PostgreSQL's bigint (and integer) range the driver refuses the value, which the last-resort
    # handler can only answer with a 422 naming no field; the route's own bounds must name it.
    document = (await client.get("/schema/openapi.json")).json()
    params = [(path, name) for path, name, schema in query_params(document) if schema.get("type") == "integer"]
    assert {("/api/v1/stations", "offset"), ("/api/v1/assignments", "offset"), ("/api/v1/audit", "before")} <= set(
        params
    )
    wrong = {}
    for path, name in params:
        response = await client.get(path, admin, params={name: str(2**63)})
        if name not in [e["field"] for e in response.json().get("errors", [])]:
            wrong[(path, name)] = (response.status_code, response.text[:120])
    # The integer path parameters: a template's version number.
    template = (await client.get("/api/v1/templates", admin)).json()
    template_id = template[0]["id"] if template else str(uuid.uuid4())
    for path in ("/api/v1/templates/{id}/versions/{n}", "/api/v1/templates/{id}/versions/{n}/export"):
        for number in (2**31, 2**63):
            response = await client.get(path.format(id=template_id, n=number), admin)
            if "version" not in [e["field"] for e in response.json().get("errors", [])]:
                wrong[(path, number)] = (response.status_code, response.text[:120])
    assert wrong == {}
