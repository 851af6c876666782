"""SQL for the hierarchy. Every read for a signed-in user carries the scope in its WHERE clause.

`scope` is Principal.scope_args(): (is_admin, district_ids, region_ids), always bound as $1..$3 and
tested against the row's district `d` (or, for a region, against its districts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.auth.models import SCOPE_SQL
from server.org.models import CircleOut, DistrictOut, RegionOut, StationName, StationOut
from server.org.rules import ImportRow, name_text

Scope = tuple[bool, list[UUID], list[UUID]]

# A region is visible to anyone who may see one of its districts: its own reviewers and the
# inspectors of any district inside it (who need its name for a heading).
_REGION_IN_SCOPE = (
    "($1::bool OR r.id = ANY($3::uuid[]) OR EXISTS (SELECT 1 FROM districts d "
    "WHERE d.region_id = r.id AND d.id = ANY($2::uuid[])))"
)


def like_pattern(q: str | None) -> str | None:
    """A search string for ILIKE with its wildcard characters taken literally."""
    if q is None or not q.strip():
        return None
    # Typed as names are stored (rules.name_text): an Arabic yeh or a decomposed letter finds the name.
    escaped = name_text(q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _match(alias: str, param: str) -> str:
    return (
        f"({param}::text IS NULL OR {alias}.code ILIKE {param} OR {alias}.name_en ILIKE {param} "
        f"OR {alias}.name_ur ILIKE {param})"
    )


# Regions -----------------------------------------------------------------------------------------

_REGION_COLS = "r.id, r.code, r.name_en AS name, r.name_ur, r.active"


async def list_regions(conn: Connection, scope: Scope, q: str | None, active: bool | None) -> list[RegionOut]:
    rows = await conn.fetch(
        f"""SELECT {_REGION_COLS} FROM regions r
             WHERE {_REGION_IN_SCOPE} AND {_match("r", "$4")} AND ($5::bool IS NULL OR r.active = $5)
             ORDER BY r.name_en, r.code""",
        *scope,
        like_pattern(q),
        active,
    )
    return [RegionOut(**dict(r)) for r in rows]


async def get_region(conn: Connection, scope: Scope, region_id: UUID) -> RegionOut | None:
    row = await conn.fetchrow(
        f"SELECT {_REGION_COLS} FROM regions r WHERE {_REGION_IN_SCOPE} AND r.id = $4", *scope, region_id
    )
    return RegionOut(**dict(row)) if row else None


async def insert_region(conn: Connection, code: str, name_en: str, name_ur: str) -> RegionOut:
    row = await conn.fetchrow(
        f"INSERT INTO regions AS r (code, name_en, name_ur) VALUES ($1, $2, $3) RETURNING {_REGION_COLS}",
        code,
        name_en,
        name_ur,
    )
    return RegionOut(**dict(row))


# Districts ---------------------------------------------------------------------------------------

_DISTRICT_COLS = "d.id, d.code, d.name_en AS name, d.name_ur, d.region_id, d.active"


async def list_districts(
    conn: Connection, scope: Scope, q: str | None, region_id: UUID | None, active: bool | None
) -> list[DistrictOut]:
    rows = await conn.fetch(
        f"""SELECT {_DISTRICT_COLS} FROM districts d
             WHERE {SCOPE_SQL} AND {_match("d", "$4")} AND ($5::uuid IS NULL OR d.region_id = $5)
               AND ($6::bool IS NULL OR d.active = $6)
             ORDER BY d.name_en, d.code""",
        *scope,
        like_pattern(q),
        region_id,
        active,
    )
    return [DistrictOut(**dict(r)) for r in rows]


async def get_district(conn: Connection, scope: Scope, district_id: UUID) -> DistrictOut | None:
    row = await conn.fetchrow(
        f"SELECT {_DISTRICT_COLS} FROM districts d WHERE {SCOPE_SQL} AND d.id = $4", *scope, district_id
    )
    return DistrictOut(**dict(row)) if row else None


async def insert_district(conn: Connection, code: str, name_en: str, name_ur: str, region_id: UUID) -> DistrictOut:
    row = await conn.fetchrow(
        f"""INSERT INTO districts AS d (code, name_en, name_ur, region_id) VALUES ($1, $2, $3, $4)
            RETURNING {_DISTRICT_COLS}""",
        code,
        name_en,
        name_ur,
        region_id,
    )
    return DistrictOut(**dict(row))


# Circles -----------------------------------------------------------------------------------------

_CIRCLE_COLS = "c.id, c.code, c.name_en AS name, c.name_ur, c.district_id, d.region_id, c.active"


async def list_circles(
    conn: Connection, scope: Scope, q: str | None, district_id: UUID | None, region_id: UUID | None, active: bool | None
) -> list[CircleOut]:
    rows = await conn.fetch(
        f"""SELECT {_CIRCLE_COLS} FROM circles c JOIN districts d ON d.id = c.district_id
             WHERE {SCOPE_SQL} AND {_match("c", "$4")} AND ($5::uuid IS NULL OR c.district_id = $5)
               AND ($6::uuid IS NULL OR d.region_id = $6) AND ($7::bool IS NULL OR c.active = $7)
             ORDER BY c.name_en, c.code""",
        *scope,
        like_pattern(q),
        district_id,
        region_id,
        active,
    )
    return [CircleOut(**dict(r)) for r in rows]


async def get_circle(conn: Connection, scope: Scope, circle_id: UUID) -> CircleOut | None:
    row = await conn.fetchrow(
        f"""SELECT {_CIRCLE_COLS} FROM circles c JOIN districts d ON d.id = c.district_id
             WHERE {SCOPE_SQL} AND c.id = $4""",
        *scope,
        circle_id,
    )
    return CircleOut(**dict(row)) if row else None


async def insert_circle(conn: Connection, code: str, name_en: str, name_ur: str, district_id: UUID) -> UUID:
    return await conn.fetchval(
        "INSERT INTO circles (code, name_en, name_ur, district_id) VALUES ($1, $2, $3, $4) RETURNING id",
        code,
        name_en,
        name_ur,
        district_id,
    )


# Stations ----------------------------------------------------------------------------------------

_STATION_COLS = (
    "s.id, s.code, s.name_en, s.name_ur, s.district_id, s.circle_id, d.region_id, s.lat, s.lon, "
    "s.sips, s.kind, s.active, s.change_seq, s.updated_at"
)


def station_out(row: Record) -> StationOut:
    data = dict(row)
    data["name"] = StationName(en=data.pop("name_en"), ur=data.pop("name_ur"))
    return StationOut(**data)


async def list_stations(
    conn: Connection,
    scope: Scope,
    *,
    q: str | None,
    district_id: UUID | None,
    region_id: UUID | None,
    circle_id: UUID | None,
    kind: str | None,
    sips: bool | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> list[StationOut]:
    rows = await conn.fetch(
        f"""SELECT {_STATION_COLS} FROM stations s JOIN districts d ON d.id = s.district_id
             WHERE {SCOPE_SQL} AND {_match("s", "$4")}
               AND ($5::uuid IS NULL OR s.district_id = $5) AND ($6::uuid IS NULL OR d.region_id = $6)
               AND ($7::uuid IS NULL OR s.circle_id = $7) AND ($8::text IS NULL OR s.kind = $8)
               AND ($9::bool IS NULL OR s.sips = $9) AND ($10::bool IS NULL OR s.active = $10)
             ORDER BY s.name_en, s.code LIMIT $11 OFFSET $12""",
        *scope,
        like_pattern(q),
        district_id,
        region_id,
        circle_id,
        kind,
        sips,
        active,
        limit,
        offset,
    )
    return [station_out(r) for r in rows]


async def get_station(conn: Connection, scope: Scope, station_id: UUID) -> StationOut | None:
    row = await conn.fetchrow(
        f"""SELECT {_STATION_COLS} FROM stations s JOIN districts d ON d.id = s.district_id
             WHERE {SCOPE_SQL} AND s.id = $4""",
        *scope,
        station_id,
    )
    return station_out(row) if row else None


async def insert_station(conn: Connection, values: dict[str, Any]) -> UUID:
    return await conn.fetchval(
        """INSERT INTO stations (code, name_en, name_ur, district_id, circle_id, lat, lon, sips, kind, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
        values["code"],
        values["name_en"],
        values["name_ur"],
        values["district_id"],
        values["circle_id"],
        values["lat"],
        values["lon"],
        values["sips"],
        values["kind"],
        values["active"],
    )


# Updates and lookups shared by the four levels ---------------------------------------------------

# Column names that PATCH may set per table: the only names ever formatted into SQL.
UPDATABLE = {
    "regions": ("code", "name_en", "name_ur", "active"),
    "districts": ("code", "name_en", "name_ur", "region_id", "active"),
    "circles": ("code", "name_en", "name_ur", "district_id", "active"),
    "stations": ("code", "name_en", "name_ur", "district_id", "circle_id", "lat", "lon", "sips", "kind", "active"),
}


async def update_row(conn: Connection, table: str, row_id: UUID, changes: dict[str, Any]) -> bool:
    """Apply `changes` to one row. A station's change_seq moves so that phones pick the change up."""
    names = [n for n in UPDATABLE[table] if n in changes]
    sets = [f"{n} = ${i + 2}" for i, n in enumerate(names)]
    if table == "stations":
        sets += ["change_seq = nextval('change_seq')", "updated_at = now()"]
    if not sets:
        return True
    result = await conn.execute(
        f"UPDATE {table} SET {', '.join(sets)} WHERE id = $1", row_id, *[changes[n] for n in names]
    )
    return result != "UPDATE 0"


async def touch_district_stations(conn: Connection, district_id: UUID) -> None:
    """A station's reply carries its district's region: when that moves, its stations count as changed."""
    await conn.execute(
        "UPDATE stations SET change_seq = nextval('change_seq'), updated_at = now() WHERE district_id = $1",
        district_id,
    )


async def move_circle_stations(conn: Connection, circle_id: UUID, district_id: UUID) -> None:
    """A circle's stations are in its district (every station write checks it): they move with it, as a
    sub-division carved into a new district takes its police stations along."""
    await conn.execute(
        """UPDATE stations SET district_id = $2, change_seq = nextval('change_seq'), updated_at = now()
            WHERE circle_id = $1 AND district_id <> $2""",
        circle_id,
        district_id,
    )


async def code_taken(conn: Connection, table: str, code: str, except_id: UUID | None = None) -> bool:
    assert table in UPDATABLE
    # Codes of every level are the same whatever their case (schema/0017 and 0019 index lower(code)).
    return await conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE lower(code) = lower($1) AND id IS DISTINCT FROM $2)",
        code,
        except_id,
    )


async def raw_row(conn: Connection, table: str, row_id: UUID) -> Record | None:
    """An unscoped row for admin edits: the current values a PATCH is applied to."""
    assert table in UPDATABLE
    return await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1", row_id)


async def exists(conn: Connection, table: str, row_id: UUID) -> bool:
    assert table in UPDATABLE
    return await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)", row_id)


async def circle_district(conn: Connection, circle_id: UUID) -> UUID | None:
    return await conn.fetchval("SELECT district_id FROM circles WHERE id = $1", circle_id)


# Station import ----------------------------------------------------------------------------------

IMPORT_LOCK_ID = 0x696D7074  # "impt": one import at a time, so its preview of changes stays true


async def district_codes(conn: Connection) -> dict[str, UUID]:
    return {r["code"]: r["id"] for r in await conn.fetch("SELECT code, id FROM districts")}


async def circle_codes(conn: Connection) -> dict[str, tuple[UUID, UUID]]:
    return {
        r["code"]: (r["id"], r["district_id"]) for r in await conn.fetch("SELECT code, id, district_id FROM circles")
    }


async def stations_by_code(conn: Connection, codes: Sequence[str]) -> list[Record]:
    """The stations whose codes are among `codes` ignoring case: a database older than schema/0017 may
    hold two that differ only in case, so one code can find both (the caller decides)."""
    return await conn.fetch(
        """SELECT s.id, s.code, s.name_en, s.name_ur, d.code AS district_code, c.code AS circle_code,
                  s.lat, s.lon, s.sips, s.kind
             FROM stations s JOIN districts d ON d.id = s.district_id LEFT JOIN circles c ON c.id = s.circle_id
            WHERE lower(s.code) = ANY($1::text[])""",
        [code.lower() for code in codes],
    )


async def numeric_codes_without_zeros(conn: Connection, stripped: Sequence[str]) -> dict[str, str]:
    """Stored numeric codes with leading zeros, by the code Excel would make of them: {'101': '0101'}."""
    rows = await conn.fetch(
        """SELECT code, coalesce(nullif(ltrim(code, '0'), ''), '0') AS stripped FROM stations
            WHERE code ~ '^0[0-9]*$' AND coalesce(nullif(ltrim(code, '0'), ''), '0') = ANY($1::text[])
            ORDER BY code""",
        list(stripped),
    )
    return {r["stripped"]: r["code"] for r in rows}


async def stations_not_in(
    conn: Connection, district_ids: Sequence[UUID], known_ids: Sequence[UUID], limit: int
) -> tuple[int, list[str]]:
    """Active stations of these districts other than `known_ids`: how many, and the first codes."""
    rows = await conn.fetch(
        """SELECT count(*) OVER () AS total, code FROM stations
            WHERE district_id = ANY($1::uuid[]) AND active AND NOT (id = ANY($2::uuid[]))
            ORDER BY code LIMIT $3""",
        list(district_ids),
        list(known_ids),
        limit,
    )
    return (rows[0]["total"] if rows else 0), [r["code"] for r in rows]


async def upsert_stations(conn: Connection, rows: Sequence[ImportRow]) -> None:
    """Insert new stations and update existing ones by code, in bulk: COPY into a temporary table, then
    one INSERT ... ON CONFLICT. Must run inside the caller's transaction (the table drops at commit)."""
    await conn.execute(
        """CREATE TEMPORARY TABLE station_import (
               code text, name_en text, name_ur text, district_id uuid, circle_id uuid,
               lat double precision, lon double precision, sips boolean, kind text) ON COMMIT DROP"""
    )
    await conn.copy_records_to_table(
        "station_import",
        records=[
            (r.code, r.name_en, r.name_ur, r.district_id, r.circle_id, r.lat, r.lon, r.sips, r.kind) for r in rows
        ],
        columns=["code", "name_en", "name_ur", "district_id", "circle_id", "lat", "lon", "sips", "kind"],
    )
    await conn.execute(
        """INSERT INTO stations (code, name_en, name_ur, district_id, circle_id, lat, lon, sips, kind)
           SELECT code, name_en, name_ur, district_id, circle_id, lat, lon, sips, kind FROM station_import
           ON CONFLICT (code) DO UPDATE SET
               name_en = EXCLUDED.name_en, name_ur = EXCLUDED.name_ur, district_id = EXCLUDED.district_id,
               circle_id = EXCLUDED.circle_id, lat = EXCLUDED.lat, lon = EXCLUDED.lon, sips = EXCLUDED.sips,
               kind = EXCLUDED.kind, change_seq = nextval('change_seq'), updated_at = now()"""
    )
