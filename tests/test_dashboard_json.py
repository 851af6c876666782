"""Dashboards: the scores and rankings replies, whose JSON PostgreSQL builds, equal a computation made
here in Python from the rollup rows themselves, over random rollups with ties, groups missing from a
period and quarters; and the OpenAPI document still describes them."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.factories import make_district, make_world

SCORE_KEYS = [
    "group_id",
    "group_name",
    "name_ur",
    "code",
    "period",
    "period_start",
    "inspections",
    "avg_percent",
    "critical_failed",
    "previous_avg_percent",
    "change",
]
RANK_KEYS = [
    "rank",
    "group_id",
    "group_name",
    "name_ur",
    "code",
    "inspections",
    "avg_percent",
    "critical_failed",
    "previous_rank",
    "previous_avg_percent",
    "change",
]
# The months that hold rollup rows: a year and a half, so that quarters and their edges are covered.
MONTHS = [date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(7, 25)]
# Few distinct percents, so that many averages are equal (rank ties) and many are whole numbers.
PERCENTS = [Fraction(50), Fraction(75), Fraction(100), Fraction(125, 2), Fraction(0), Fraction(161, 2)]
# Station names with exact duplicates (ties broken by id) and a lower-case name that code point order
# puts after the capitals and a dictionary order would put among them.
NAMES = ["PS Alpha", "PS Alpha", "PS beta", "PS Gamma", "PS Delta", "PS Zulu", "PS Écluse", "PS Alpha 2"]


@dataclass(frozen=True)
class Group:
    id: uuid.UUID
    name: str
    name_ur: str
    code: str


@dataclass(frozen=True)
class Row:
    month: date
    template: uuid.UUID
    station: uuid.UUID
    inspections: int
    scored: int
    sum_percent: Fraction
    critical_failed: int


@dataclass
class Country:
    stations: dict[uuid.UUID, Group]
    districts: dict[uuid.UUID, Group]
    regions: dict[uuid.UUID, Group]
    district_of: dict[uuid.UUID, uuid.UUID]
    region_of: dict[uuid.UUID, uuid.UUID]
    templates: list[uuid.UUID]
    rows: list[Row]
    region_a: uuid.UUID
    district_a2: uuid.UUID


async def _country(client, seed: int) -> Country:
    """make_world's two regions plus a second district in region A, ten more stations, and random
    station-month rollup rows over two templates; the district grain is the sum of the station grain,
    as the rollup upkeep keeps it."""
    rng = random.Random(seed)
    conn = await client.db()
    try:
        world = await make_world(conn)
        district_a2 = await make_district(conn, world.regions["A"], "DA2", "District A2")
        for n, name in enumerate(NAMES + ["PS Beta", "PS alpha"]):
            district = rng.choice([world.districts["A"], district_a2, world.districts["B"]])
            await conn.execute(
                """INSERT INTO stations (code, name_en, name_ur, district_id, lat, lon)
                   VALUES ($1, $2, $3, $4, 31.5, 74.3)""",
                f"SX{n:02d}",
                name,
                f"تھانہ {n}",
                district,
            )
        stations = {
            r["id"]: Group(r["id"], r["name_en"], r["name_ur"], r["code"])
            for r in await conn.fetch("SELECT id, name_en, name_ur, code FROM stations")
        }
        districts = {
            r["id"]: Group(r["id"], r["name_en"], r["name_ur"], r["code"])
            for r in await conn.fetch("SELECT id, name_en, name_ur, code FROM districts")
        }
        regions = {
            r["id"]: Group(r["id"], r["name_en"], r["name_ur"], r["code"])
            for r in await conn.fetch("SELECT id, name_en, name_ur, code FROM regions")
        }
        district_of = {r["id"]: r["district_id"] for r in await conn.fetch("SELECT id, district_id FROM stations")}
        region_of = {r["id"]: r["region_id"] for r in await conn.fetch("SELECT id, region_id FROM districts")}
        templates = [uuid.uuid4(), uuid.uuid4()]
        rows = []
        for station in stations:
            for month in MONTHS:
                for template in templates:
                    if rng.random() < 0.45:
                        continue
                    inspections = rng.choice([0, 1, 1, 2, 3])
                    scored = rng.randint(0, inspections)
                    percents = [rng.choice(PERCENTS) for _ in range(scored)]
                    rows.append(
                        Row(
                            month,
                            template,
                            station,
                            inspections,
                            scored,
                            sum(percents, Fraction(0)),
                            rng.randint(0, inspections),
                        )
                    )
        await conn.executemany(
            """INSERT INTO rollup_station_period (period_start, station_id, template_id, inspections, scored,
                                                  sum_percent, critical_failed)
               VALUES ($1, $2, $3, $4, $5, $6::text::numeric, $7)""",
            [
                (
                    r.month,
                    r.station,
                    r.template,
                    r.inspections,
                    r.scored,
                    str(Decimal(r.sum_percent.numerator) / r.sum_percent.denominator),
                    r.critical_failed,
                )
                for r in rows
            ],
        )
        await conn.execute(
            """INSERT INTO rollup_district_period (period_start, district_id, template_id, inspections, scored,
                                                   sum_percent, critical_failed)
               SELECT r.period_start, s.district_id, r.template_id, sum(r.inspections), sum(r.scored),
                      sum(r.sum_percent), sum(r.critical_failed)
                 FROM rollup_station_period r JOIN stations s ON s.id = r.station_id
                GROUP BY 1, 2, 3"""
        )
    finally:
        await conn.close()
    return Country(
        stations, districts, regions, district_of, region_of, templates, rows, world.regions["A"], district_a2
    )


def _quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _label(day: date, period: str) -> str:
    return f"{day:%Y-%m}" if period == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _figures(
    c: Country,
    *,
    group_by: str,
    period: str,
    start: date,
    end: date,
    regions: set[uuid.UUID] | None,
    template_id: uuid.UUID | None = None,
    region_id: uuid.UUID | None = None,
    district_id: uuid.UUID | None = None,
) -> dict[tuple[uuid.UUID, date], dict[str, Any]]:
    """Per (group, period) of [start, end), in scope and filters: counts and the exact average."""
    cells: dict[tuple[uuid.UUID, date], list[Any]] = {}
    for r in c.rows:
        d = c.district_of[r.station]
        g = c.region_of[d]
        if not (start <= r.month < end) or (regions is not None and g not in regions):
            continue
        if (
            (template_id and r.template != template_id)
            or (region_id and g != region_id)
            or (district_id and d != district_id)
        ):
            continue
        key = {"station": r.station, "district": d, "region": g}[group_by]
        cell = cells.setdefault((key, r.month if period == "month" else _quarter(r.month)), [0, 0, Fraction(0), 0])
        cell[0] += r.inspections
        cell[1] += r.scored
        cell[2] += r.sum_percent
        cell[3] += r.critical_failed
    groups = {"station": c.stations, "district": c.districts, "region": c.regions}[group_by]
    return {
        key: {
            "group": groups[key[0]],
            "inspections": n,
            "critical_failed": crit,
            "avg": total / scored if scored else None,
        }
        for key, (n, scored, total, crit) in cells.items()
        if n > 0
    }


def _same_float(got: Any, want: Fraction | None) -> bool:
    """A JSON float equal to the exact value to the last bits a float8 division may round, and written as
    a float (100.0, not 100), as the app's encoder writes floats."""
    if want is None:
        return got is None
    return isinstance(got, float) and got == pytest.approx(float(want), rel=1e-13, abs=1e-13)


async def _collation_order(client, names: list[str]) -> dict[str, int]:
    """The database's order of these names: the scores list groups by name in the database's collation."""
    conn = await client.db()
    try:
        ordered = await conn.fetch("SELECT n FROM unnest($1::text[]) n ORDER BY n", sorted(set(names)))
    finally:
        await conn.close()
    return {r["n"]: i for i, r in enumerate(ordered)}


async def _check_scores(
    client,
    token: str,
    c: Country,
    *,
    group_by: str,
    period: str,
    first: date,
    last: date,
    regions: set[uuid.UUID] | None,
    **filters: Any,
) -> list[dict[str, Any]]:
    params = {"group_by": group_by, "period": period, "from": first.isoformat(), "to": last.isoformat()}
    params.update({k: str(v) for k, v in filters.items() if v})
    response = await client.get("/api/v1/dashboard/scores", token, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["group_by", "period", "from", "to", "rows"]
    assert (body["group_by"], body["period"], body["from"], body["to"]) == (
        group_by,
        period,
        first.isoformat(),
        last.isoformat(),
    )

    unit = 1 if period == "month" else 3
    shown = first.replace(day=1) if period == "month" else _quarter(first)
    end = _shift(last.replace(day=1) if period == "month" else _quarter(last), unit)
    figures = _figures(
        c, group_by=group_by, period=period, start=_shift(shown, -unit), end=end, regions=regions, **filters
    )
    order = await _collation_order(client, [f["group"].name for f in figures.values()])
    want = sorted(
        ((key, f) for key, f in figures.items() if key[1] >= shown),
        key=lambda kf: (kf[0][1], order[kf[1]["group"].name], str(kf[0][0])),
    )
    rows = body["rows"]
    assert len(rows) == len(want), (group_by, period)
    for row, ((group_id, start), f) in zip(rows, want, strict=True):
        assert list(row) == SCORE_KEYS
        before = figures.get((group_id, _shift(start, -unit)))
        previous = before["avg"] if before else None
        g = f["group"]
        assert (
            row["group_id"],
            row["group_name"],
            row["name_ur"],
            row["code"],
            row["period"],
            row["period_start"],
            row["inspections"],
            row["critical_failed"],
        ) == (
            str(g.id),
            g.name,
            g.name_ur,
            g.code,
            _label(start, period),
            start.isoformat(),
            f["inspections"],
            f["critical_failed"],
        ), (group_by, period)
        assert _same_float(row["avg_percent"], f["avg"]), row
        assert _same_float(row["previous_avg_percent"], previous), row
        if row["avg_percent"] is None or row["previous_avg_percent"] is None:
            assert row["change"] is None, row
        else:
            # The change is the difference of the two floats shown, to the bit.
            assert row["change"] == row["avg_percent"] - row["previous_avg_percent"], row
            assert isinstance(row["change"], float)
    # A group's previous average is exactly its average in the row of the period before, when shown.
    shown_rows = {(r["group_id"], r["period_start"]): r for r in rows}
    for r in rows:
        before = shown_rows.get((r["group_id"], _shift(date.fromisoformat(r["period_start"]), -unit).isoformat()))
        if before is not None:
            assert r["previous_avg_percent"] == before["avg_percent"]
    return rows


def _ranked(figures: dict[tuple[uuid.UUID, date], dict[str, Any]], period_start: date) -> list[tuple[int, dict]]:
    scored = sorted(
        (f for (_, start), f in figures.items() if start == period_start and f["avg"] is not None),
        key=lambda f: (-f["avg"], f["group"].name, str(f["group"].id)),
    )
    out: list[tuple[int, dict]] = []
    for position, f in enumerate(scored, start=1):
        out.append((out[-1][0] if out and out[-1][1]["avg"] == f["avg"] else position, f))
    return out


async def _check_rankings(
    client,
    token: str,
    c: Country,
    *,
    group_by: str,
    period: str,
    at: date,
    limit: int,
    regions: set[uuid.UUID] | None,
    **filters: Any,
) -> list[dict[str, Any]]:
    params = {"group_by": group_by, "period": period, "at": at.isoformat(), "limit": str(limit)}
    params.update({k: str(v) for k, v in filters.items() if v})
    response = await client.get("/api/v1/dashboard/rankings", token, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    unit = 1 if period == "month" else 3
    current = at.replace(day=1) if period == "month" else _quarter(at)
    previous = _shift(current, -unit)
    assert list(body) == ["group_by", "period", "current", "previous", "rows"]
    assert (body["group_by"], body["period"], body["current"], body["previous"]) == (
        group_by,
        period,
        _label(current, period),
        _label(previous, period),
    )
    figures = _figures(
        c, group_by=group_by, period=period, start=previous, end=_shift(current, unit), regions=regions, **filters
    )
    before = {f["group"].id: (rank, f) for rank, f in _ranked(figures, previous)}
    want = _ranked(figures, current)[:limit]
    rows = body["rows"]
    assert len(rows) == len(want)
    for row, (rank, f) in zip(rows, want, strict=True):
        assert list(row) == RANK_KEYS
        g = f["group"]
        previous_rank, prev = before.get(g.id, (None, None))
        assert (
            row["rank"],
            row["group_id"],
            row["group_name"],
            row["name_ur"],
            row["code"],
            row["inspections"],
            row["critical_failed"],
            row["previous_rank"],
        ) == (rank, str(g.id), g.name, g.name_ur, g.code, f["inspections"], f["critical_failed"], previous_rank)
        assert _same_float(row["avg_percent"], f["avg"]), row
        assert _same_float(row["previous_avg_percent"], prev["avg"] if prev else None), row
        if prev is None:
            assert row["change"] is None
        else:
            assert row["change"] == row["avg_percent"] - row["previous_avg_percent"], row
    # Equal averages share a rank, and the next rank skips ("1, 2, 2, 4").
    for a, b in zip(rows, rows[1:], strict=False):
        assert (b["rank"] == a["rank"]) == (b["avg_percent"] == a["avg_percent"])
    return rows


async def test_scores_built_in_the_database_equal_a_python_computation_from_random_rollups(client):
    c = await _country(client, seed=20261128)
    admin, reviewer_a = await client.login("admin"), await client.login("reviewer_a")
    region_a = {c.region_a}
    seen_trend = seen_missing_before = seen_unscored = 0
    for group_by in ("station", "district", "region"):
        for period in ("month", "quarter"):
            for token, regions, filters in (
                (admin, None, {}),
                (reviewer_a, region_a, {}),
                (admin, None, {"template_id": c.templates[0]}),
                (admin, None, {"district_id": c.district_a2}),
                (reviewer_a, region_a, {"region_id": c.region_a}),
            ):
                # From the middle of a quarter: the first quarter shown is whole and has a trend too.
                rows = await _check_scores(
                    client,
                    token,
                    c,
                    group_by=group_by,
                    period=period,
                    first=date(2025, 8, 20),
                    last=date(2026, 11, 3),
                    regions=regions,
                    **filters,
                )
                seen_trend += sum(r["change"] is not None for r in rows)
                seen_missing_before += sum(
                    r["previous_avg_percent"] is None and r["avg_percent"] is not None for r in rows
                )
                seen_unscored += sum(r["avg_percent"] is None for r in rows)
    assert seen_trend and seen_missing_before and seen_unscored


async def test_rankings_built_in_the_database_equal_a_python_computation_with_ties_and_newcomers(client):
    c = await _country(client, seed=6)
    admin, reviewer_a = await client.login("admin"), await client.login("reviewer_a")
    ties = newcomers = 0
    for group_by in ("station", "district", "region"):
        for period, at in (
            ("month", date(2026, 3, 14)),
            ("month", date(2025, 7, 31)),
            ("quarter", date(2026, 5, 2)),
            ("quarter", date(2025, 10, 1)),
        ):
            for token, regions, filters, limit in (
                (admin, None, {}, 100),
                (admin, None, {}, 3),
                (reviewer_a, {c.region_a}, {}, 100),
                (admin, None, {"template_id": c.templates[1]}, 100),
            ):
                rows = await _check_rankings(
                    client, token, c, group_by=group_by, period=period, at=at, limit=limit, regions=regions, **filters
                )
                ties += sum(a["rank"] == b["rank"] for a, b in zip(rows, rows[1:], strict=False))
                newcomers += sum(r["previous_rank"] is None for r in rows)
    assert ties and newcomers


async def test_the_openapi_document_still_describes_the_scores_and_rankings_replies(client):
    spec = (await client.get("/schema/openapi.json")).json()
    for path, model, row in (
        ("/api/v1/dashboard/scores", "ScoresOut", "ScoreRow"),
        ("/api/v1/dashboard/rankings", "RankingsOut", "RankRow"),
    ):
        reply = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert reply["$ref"].endswith("/" + model)
        schema = spec["components"]["schemas"][model]
        assert schema["properties"]["rows"]["items"]["$ref"].endswith("/" + row)
        assert set(spec["components"]["schemas"][row]["properties"]) == set(
            SCORE_KEYS if row == "ScoreRow" else RANK_KEYS
        )


async def test_an_empty_scope_gets_an_empty_list_of_rows_not_null(client):
    c = await _country(client, seed=1)
    token = await client.login("reviewer_b")
    scores = await client.get(
        "/api/v1/dashboard/scores", token, params={"group_by": "station", "region_id": str(c.region_a)}
    )
    rankings = await client.get("/api/v1/dashboard/rankings", token, params={"region_id": str(c.region_a)})
    assert json.loads(scores.content)["rows"] == [] and json.loads(rankings.content)["rows"] == []
