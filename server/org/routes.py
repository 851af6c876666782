"""The hierarchy API: regions, districts, circles, stations and the station CSV import.

Admins write; every signed-in user reads what their scope covers (the scope is in each query's SQL,
and an object outside it is 404). Writes are audited in their own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from asyncpg import Connection, Record
from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter
from msgspec import UNSET

from server.assignments import queries as assignment_queries
from server.audit import queries as audit
from server.auth.models import Principal
from server.dashboards import rollup
from server.errors import FieldError, Invalid, NotFound
from server.http import Conn, Offset, User, client_ip, csv_body, csv_import
from server.org import queries
from server.org.importer import import_stations
from server.org.models import (
    CircleIn,
    CircleOut,
    CirclePatch,
    DistrictIn,
    DistrictOut,
    DistrictPatch,
    ImportCounts,
    ImportPreview,
    RegionIn,
    RegionOut,
    RegionPatch,
    StationIn,
    StationKind,
    StationOut,
    StationPatch,
)
from server.org.rules import Err, check_code, check_name, check_station_point, collector, name_parts

ADMIN = (True, [], [])  # the scope used to read back what an admin has just written
IMPORT_MAX_BYTES = 32 * 1024 * 1024  # ~200,000 stations: far beyond a country, far below a memory risk
Limit = Annotated[int, Parameter(ge=1, le=5000)]

_WHAT = {"regions": "region", "districts": "district", "circles": "circle", "stations": "station"}


def _raise_if(errors: list[FieldError], what: str) -> None:
    if errors:
        raise Invalid(
            f"the {what} is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors
        )


@contextmanager
def _unique_code(table: str) -> Iterator[None]:
    # The code was checked before writing; this catches a concurrent writer taking it in between.
    try:
        yield
    except asyncpg.UniqueViolationError:
        raise Invalid(
            "code taken", errors=[FieldError(field="code", message=f"another {_WHAT[table]} has this code")]
        ) from None


async def _check_new_code(conn: Connection, table: str, code: str, err: Err, except_id: UUID | None = None) -> None:
    check_code(code, "code", err)
    if await queries.code_taken(conn, table, code, except_id):
        err("code", f"another {_WHAT[table]} has this code")


async def _check_parent(conn: Connection, table: str, row_id: UUID, field: str, err: Err) -> None:
    if not await queries.exists(conn, table, row_id):
        err(field, f"no {_WHAT[table]} has this id")


async def _common_changes(
    conn: Connection, table: str, current: Record, data: Any, err: Err, *, urdu_required: bool
) -> dict[str, Any]:
    """The code, name and active changes of a PATCH, checked; only values that differ are kept."""
    changes: dict[str, Any] = {}
    if data.code is not UNSET and data.code.strip() != current["code"]:
        changes["code"] = data.code.strip()
        await _check_new_code(conn, table, changes["code"], err, current["id"])
    if data.name is not UNSET:
        en, ur = name_parts(data.name)
        # A plain-string name renames in English and keeps the Urdu name as it was.
        ur = ur if not isinstance(data.name, str) else current["name_ur"]
        check_name(en, ur, "name", err, urdu_required=urdu_required)
        changes.update({k: v for k, v in (("name_en", en), ("name_ur", ur)) if v != current[k]})
    if data.active is not UNSET and data.active != current["active"]:
        changes["active"] = data.active
    return changes


async def _save_changes(
    conn: Connection, table: str, row_id: UUID, changes: dict[str, Any], user: Principal, request: Request
) -> None:
    if not changes:
        return  # nothing differs: no write, no audit row, no change_seq for phones to chase
    with _unique_code(table):
        async with conn.transaction():
            # Deactivated, or of another kind (a checklist for other kinds may no longer be done there).
            held = table == "stations" and ("active" in changes or "kind" in changes)
            if held:
                await assignment_queries.lock_open_visits(conn, station_id=row_id)
            await queries.update_row(conn, table, row_id, changes)
            if table == "districts" and "region_id" in changes:
                await queries.touch_district_stations(conn, row_id)
                await rollup.follow_hierarchy(conn, district_ids=[row_id])
            if table == "circles" and "district_id" in changes:
                await queries.move_circle_stations(conn, row_id, changes["district_id"])
                await rollup.follow_hierarchy(conn, district_ids=[changes["district_id"]])
            if table == "stations" and "district_id" in changes:
                await rollup.follow_hierarchy(conn, station_ids=[row_id])
            data: dict[str, Any] = {"changes": changes}
            if held:
                # Its visits and schedules are held back while it is deactivated (or its kind does not
                # fit their checklist), and go ahead again when that is undone (assignments.queries.HELD_BACK).
                resumed = await assignment_queries.hold_back_changed(
                    conn, station_id=row_id, resume=changes.get("active", True)
                )
                if resumed:
                    data["resumed_schedules"] = {str(k): v for k, v in resumed.items()}
            await audit.record(
                conn,
                f"{_WHAT[table]}.update",
                actor=user,
                entity=_WHAT[table],
                entity_id=row_id,
                data=data,
                ip=client_ip(request),
            )


async def _current(conn: Connection, table: str, row_id: UUID) -> Record:
    current = await queries.raw_row(conn, table, row_id)
    if current is None:
        raise NotFound(f"{_WHAT[table]} not found")
    return current


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise NotFound(f"{what} not found")
    return value


class RegionController(Controller):
    path = "/api/v1/regions"
    tags = ["hierarchy"]

    @get("/")
    async def list_regions(
        self, user: User, conn: Conn, q: str | None = None, active: bool | None = None
    ) -> list[RegionOut]:
        return await queries.list_regions(conn, user.scope_args(), q, active)

    @get("/{region_id:uuid}")
    async def get_region(self, region_id: UUID, user: User, conn: Conn) -> RegionOut:
        return _found(await queries.get_region(conn, user.scope_args(), region_id), "region")

    @post("/")
    async def create_region(self, data: RegionIn, request: Request, user: User, conn: Conn) -> RegionOut:
        user.require("admin")
        code, (en, ur) = data.code.strip(), name_parts(data.name)
        errors, err = collector()
        await _check_new_code(conn, "regions", code, err)
        check_name(en, ur, "name", err, urdu_required=False)
        _raise_if(errors, "region")
        with _unique_code("regions"):
            async with conn.transaction():
                region = await queries.insert_region(conn, code, en, ur)
                await audit.record(
                    conn,
                    "region.create",
                    actor=user,
                    entity="region",
                    entity_id=region.id,
                    data={"code": code, "name": en},
                    ip=client_ip(request),
                )
        return region

    @patch("/{region_id:uuid}")
    async def update_region(
        self, region_id: UUID, data: RegionPatch, request: Request, user: User, conn: Conn
    ) -> RegionOut:
        user.require("admin")
        current = await _current(conn, "regions", region_id)
        errors, err = collector()
        changes = await _common_changes(conn, "regions", current, data, err, urdu_required=False)
        _raise_if(errors, "region")
        await _save_changes(conn, "regions", region_id, changes, user, request)
        return _found(await queries.get_region(conn, ADMIN, region_id), "region")


class DistrictController(Controller):
    path = "/api/v1/districts"
    tags = ["hierarchy"]

    @get("/")
    async def list_districts(
        self, user: User, conn: Conn, q: str | None = None, region_id: UUID | None = None, active: bool | None = None
    ) -> list[DistrictOut]:
        return await queries.list_districts(conn, user.scope_args(), q, region_id, active)

    @get("/{district_id:uuid}")
    async def get_district(self, district_id: UUID, user: User, conn: Conn) -> DistrictOut:
        return _found(await queries.get_district(conn, user.scope_args(), district_id), "district")

    @post("/")
    async def create_district(self, data: DistrictIn, request: Request, user: User, conn: Conn) -> DistrictOut:
        user.require("admin")
        code, (en, ur) = data.code.strip(), name_parts(data.name)
        errors, err = collector()
        await _check_new_code(conn, "districts", code, err)
        check_name(en, ur, "name", err, urdu_required=False)
        await _check_parent(conn, "regions", data.region_id, "region_id", err)
        _raise_if(errors, "district")
        with _unique_code("districts"):
            async with conn.transaction():
                district = await queries.insert_district(conn, code, en, ur, data.region_id)
                await audit.record(
                    conn,
                    "district.create",
                    actor=user,
                    entity="district",
                    entity_id=district.id,
                    data={"code": code, "name": en, "region_id": data.region_id},
                    ip=client_ip(request),
                )
        return district

    @patch("/{district_id:uuid}")
    async def update_district(
        self, district_id: UUID, data: DistrictPatch, request: Request, user: User, conn: Conn
    ) -> DistrictOut:
        user.require("admin")
        current = await _current(conn, "districts", district_id)
        errors, err = collector()
        changes = await _common_changes(conn, "districts", current, data, err, urdu_required=False)
        if data.region_id is not UNSET and data.region_id != current["region_id"]:
            changes["region_id"] = data.region_id
            await _check_parent(conn, "regions", data.region_id, "region_id", err)
        _raise_if(errors, "district")
        await _save_changes(conn, "districts", district_id, changes, user, request)
        return _found(await queries.get_district(conn, ADMIN, district_id), "district")


class CircleController(Controller):
    path = "/api/v1/circles"
    tags = ["hierarchy"]

    @get("/")
    async def list_circles(
        self,
        user: User,
        conn: Conn,
        q: str | None = None,
        district_id: UUID | None = None,
        region_id: UUID | None = None,
        active: bool | None = None,
    ) -> list[CircleOut]:
        return await queries.list_circles(conn, user.scope_args(), q, district_id, region_id, active)

    @get("/{circle_id:uuid}")
    async def get_circle(self, circle_id: UUID, user: User, conn: Conn) -> CircleOut:
        return _found(await queries.get_circle(conn, user.scope_args(), circle_id), "circle")

    @post("/")
    async def create_circle(self, data: CircleIn, request: Request, user: User, conn: Conn) -> CircleOut:
        user.require("admin")
        code, (en, ur) = data.code.strip(), name_parts(data.name)
        errors, err = collector()
        await _check_new_code(conn, "circles", code, err)
        check_name(en, ur, "name", err, urdu_required=False)
        await _check_parent(conn, "districts", data.district_id, "district_id", err)
        _raise_if(errors, "circle")
        with _unique_code("circles"):
            async with conn.transaction():
                circle_id = await queries.insert_circle(conn, code, en, ur, data.district_id)
                await audit.record(
                    conn,
                    "circle.create",
                    actor=user,
                    entity="circle",
                    entity_id=circle_id,
                    data={"code": code, "name": en, "district_id": data.district_id},
                    ip=client_ip(request),
                )
        return _found(await queries.get_circle(conn, ADMIN, circle_id), "circle")

    @patch("/{circle_id:uuid}")
    async def update_circle(
        self, circle_id: UUID, data: CirclePatch, request: Request, user: User, conn: Conn
    ) -> CircleOut:
        user.require("admin")
        current = await _current(conn, "circles", circle_id)
        errors, err = collector()
        changes = await _common_changes(conn, "circles", current, data, err, urdu_required=False)
        if data.district_id is not UNSET and data.district_id != current["district_id"]:
            changes["district_id"] = data.district_id
            await _check_parent(conn, "districts", data.district_id, "district_id", err)
        _raise_if(errors, "circle")
        await _save_changes(conn, "circles", circle_id, changes, user, request)
        return _found(await queries.get_circle(conn, ADMIN, circle_id), "circle")


async def _check_station_place(
    conn: Connection, district_id: UUID, circle_id: UUID | None, err: Err, district_given: bool = True
) -> None:
    if district_given and not await queries.exists(conn, "districts", district_id):
        err("district_id", "no district has this id")
        return
    if circle_id is not None:
        circle_district = await queries.circle_district(conn, circle_id)
        if circle_district is None:
            err("circle_id", "no circle has this id")
        elif circle_district != district_id:
            err("circle_id", "the circle is not in the station's district")


class StationController(Controller):
    path = "/api/v1/stations"
    tags = ["hierarchy"]

    @get("/")
    async def list_stations(
        self,
        user: User,
        conn: Conn,
        q: str | None = None,
        district_id: UUID | None = None,
        region_id: UUID | None = None,
        circle_id: UUID | None = None,
        kind: StationKind | None = None,
        sips: bool | None = None,
        active: bool | None = None,
        limit: Limit = 1000,
        offset: Offset = 0,
    ) -> list[StationOut]:
        return await queries.list_stations(
            conn,
            user.scope_args(),
            q=q,
            district_id=district_id,
            region_id=region_id,
            circle_id=circle_id,
            kind=kind,
            sips=sips,
            active=active,
            limit=limit,
            offset=offset,
        )

    @get("/{station_id:uuid}")
    async def get_station(self, station_id: UUID, user: User, conn: Conn) -> StationOut:
        return _found(await queries.get_station(conn, user.scope_args(), station_id), "station")

    @post("/")
    async def create_station(self, data: StationIn, request: Request, user: User, conn: Conn) -> StationOut:
        user.require("admin")
        values = {
            "code": data.code.strip(),
            "name_en": data.name.en.strip(),
            "name_ur": data.name.ur.strip(),
            "district_id": data.district_id,
            "circle_id": data.circle_id,
            "lat": data.lat,
            "lon": data.lon,
            "sips": data.sips,
            "kind": data.kind,
            "active": data.active,
        }
        errors, err = collector()
        await _check_new_code(conn, "stations", values["code"], err)
        check_name(values["name_en"], values["name_ur"], "name", err, urdu_required=True)
        check_station_point(data.lat, data.lon, err)
        await _check_station_place(conn, data.district_id, data.circle_id, err)
        _raise_if(errors, "station")
        with _unique_code("stations"):
            async with conn.transaction():
                station_id = await queries.insert_station(conn, values)
                await audit.record(
                    conn,
                    "station.create",
                    actor=user,
                    entity="station",
                    entity_id=station_id,
                    data=values,
                    ip=client_ip(request),
                )
        return _found(await queries.get_station(conn, ADMIN, station_id), "station")

    @patch("/{station_id:uuid}")
    async def update_station(
        self, station_id: UUID, data: StationPatch, request: Request, user: User, conn: Conn
    ) -> StationOut:
        user.require("admin")
        current = await _current(conn, "stations", station_id)
        errors, err = collector()
        changes = await _common_changes(conn, "stations", current, data, err, urdu_required=True)
        for name in ("district_id", "circle_id", "lat", "lon", "sips", "kind"):
            value = getattr(data, name)
            if value is not UNSET and value != current[name]:
                changes[name] = value
        if "lat" in changes or "lon" in changes:
            # The point the station would be at, checked as a new station's and an import row's are.
            check_station_point(changes.get("lat", current["lat"]), changes.get("lon", current["lon"]), err)
        if "district_id" in changes or "circle_id" in changes:
            await _check_station_place(
                conn,
                changes.get("district_id", current["district_id"]),
                changes.get("circle_id", current["circle_id"]),
                err,
                district_given="district_id" in changes,
            )
        _raise_if(errors, "station")
        await _save_changes(conn, "stations", station_id, changes, user, request)
        return _found(await queries.get_station(conn, ADMIN, station_id), "station")

    @csv_import(IMPORT_MAX_BYTES)
    async def import_csv(
        self, request: Request, user: User, conn: Conn, dry_run: bool = False
    ) -> ImportCounts | ImportPreview:
        """Body: the CSV file itself (Content-Type text/csv). See server/org/rules.py for its columns."""
        user.require("admin")
        return await import_stations(conn, await csv_body(request), dry_run=dry_run, actor=user, ip=client_ip(request))


ROUTES = [RegionController, DistrictController, CircleController, StationController]
