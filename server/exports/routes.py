"""GET /exports/inspections.csv and .xlsx (streamed), GET /inspections/{id}/report.pdf (DESIGN §7).

Table exports: the handler counts the rows in the export's own snapshot, audits the export with its
filters and that exact count, and only then returns the stream; its pooled connection goes back at
once, and the rows come from a server-side cursor on a connection the stream owns and closes.

The PDF route declares neither `conn` nor `user`: rendering takes seconds in the process pool, and a
dependency would hold a pooled connection all that time. It signs the caller in and reads on a
connection it gives back first, and takes one again only to audit.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from asyncpg import Connection
from litestar import Controller, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Stream

from server.audit import queries as audit
from server.auth.models import Principal
from server.errors import FieldError, Invalid, NotFound
from server.exports import queries, render, report, rules
from server.exports.csv_xlsx import XLSX_MEDIA_TYPE, Table, csv_stream, xlsx_stream
from server.exports.models import ExportFilters
from server.http import Conn, User, client_ip, provide_conn, provide_user
from server.templates.models import Definition

_connect = asynccontextmanager(provide_conn)

_PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

Format = Literal["csv", "xlsx"]


class ExportController(Controller):
    path = "/api/v1/exports"
    tags = ["exports"]

    @get(
        "/inspections.csv",
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to a text/* type
        description="One row per inspection in scope (UTF-8 with BOM, RFC 4180). With template_id, one column "
        "per item. `from` inclusive, `to` exclusive (a date means that whole day, Pakistan time), "
        "on the time the inspection was made as the dashboards count it (`made_at`: the phone's finish "
        "when its clock could be right, else the first submission), or for drafts the time the server "
        "first received them.",
    )
    async def inspections_csv(
        self,
        user: User,
        conn: Conn,
        state: State,
        request: Request,
        station_id: UUID | None = None,
        district_id: UUID | None = None,
        region_id: UUID | None = None,
        status: str | None = None,
        template_id: UUID | None = None,
        since: Annotated[str | None, Parameter(query="from", max_length=64)] = None,
        until: Annotated[str | None, Parameter(query="to", max_length=64)] = None,
    ) -> Stream:
        filters = _filters(station_id, district_id, region_id, status, template_id, since, until)
        return await _export("csv", user, conn, state, request, filters)

    @get(
        "/inspections.xlsx",
        media_type=XLSX_MEDIA_TYPE,
        description="The same table as the CSV, as an Excel workbook (times in Pakistan time, PKT).",
    )
    async def inspections_xlsx(
        self,
        user: User,
        conn: Conn,
        state: State,
        request: Request,
        station_id: UUID | None = None,
        district_id: UUID | None = None,
        region_id: UUID | None = None,
        status: str | None = None,
        template_id: UUID | None = None,
        since: Annotated[str | None, Parameter(query="from", max_length=64)] = None,
        until: Annotated[str | None, Parameter(query="to", max_length=64)] = None,
    ) -> Stream:
        filters = _filters(station_id, district_id, region_id, status, template_id, since, until)
        return await _export("xlsx", user, conn, state, request, filters)


def _filters(
    station_id: UUID | None,
    district_id: UUID | None,
    region_id: UUID | None,
    status: str | None,
    template_id: UUID | None,
    since: str | None,
    until: str | None,
) -> ExportFilters:
    return ExportFilters(
        station_id=station_id,
        district_id=district_id,
        region_id=region_id,
        status=rules.check_status(status),
        template_id=template_id,
        since=rules.parse_bound(since, "from", upper=False),
        until=rules.parse_bound(until, "to", upper=True),
    )


async def _table(conn: Connection, template_id: UUID | None) -> Table:
    if template_id is None:
        return Table()
    versions = await queries.template_versions(conn, template_id)
    if not versions and not await queries.template_exists(conn, template_id):
        raise NotFound("no such template")
    return Table([(v["id"], msgspec.json.decode(v["definition"], type=Definition)) for v in versions])


async def _export(
    fmt: Format, user: Principal, conn: Connection, state: State, request: Request, filters: ExportFilters
) -> Stream:
    user.require("admin", "reviewer")
    table = await _table(conn, filters.template_id)
    cursor = queries.ExportCursor(state.read_pool, user.scope_args(), filters, with_answers=table.wide)
    rows = await cursor.open()
    try:
        if fmt == "xlsx" and rows > rules.XLSX_MAX_ROWS:
            raise Invalid(
                f"{rows} rows do not fit in one Excel sheet ({rules.XLSX_MAX_ROWS} at most); "
                "narrow the filters or export CSV",
                errors=[FieldError(field="from", message="narrow the date range")],
            )
        async with conn.transaction():
            await audit.record(
                conn,
                f"export.{fmt}",
                actor=user,
                entity="inspection",
                ip=client_ip(request),
                data={"filters": filters.for_audit(), "rows": rows, "columns": len(table.headers)},
            )
    except BaseException:
        await cursor.close()
        raise
    stamp = datetime.now(UTC).astimezone(rules.PKT).strftime("%Y-%m-%d")
    body = csv_stream(cursor, table) if fmt == "csv" else xlsx_stream(cursor, table, rows)
    return Stream(
        body,
        media_type="text/csv" if fmt == "csv" else XLSX_MEDIA_TYPE,
        headers={
            **_PRIVATE,
            "Content-Disposition": f'attachment; filename="inspections-{stamp}.{fmt}"',
            "X-Export-Rows": str(rows),
        },
        # A stream that is never read (HEAD, a client gone before the body) still gives its connection back.
        background=BackgroundTask(cursor.close),
    )


class ReportController(Controller):
    path = "/api/v1/inspections"
    tags = ["exports"]

    @get(
        "/{inspection_id:uuid}/report.pdf",
        media_type="application/pdf",
        description="The inspection's report: station, inspector, location, scores, answers with notes, "
        "review comments and overrides, photo thumbnails; `lang=ur` sets it in Urdu, right to left.",
    )
    async def report_pdf(
        self, inspection_id: UUID, request: Request, state: State, lang: Literal["en", "ur"] = "en"
    ) -> Response[bytes]:
        async with _connect(state) as conn:
            user = await provide_user(request, conn)
            data = await report.gather(conn, state.store, user, inspection_id, lang, state.settings.presence_radius_m)
        async with state.report_slots:
            pdf = await asyncio.get_running_loop().run_in_executor(state.executor, render.render_report, data)
        async with _connect(state) as conn, conn.transaction():
            await audit.record(
                conn,
                "export.pdf",
                actor=user,
                entity="inspection",
                entity_id=inspection_id,
                ip=client_ip(request),
                data={"lang": lang, "photos": len(data.photos), "bytes": len(pdf)},
            )
        filename = rules.report_filename(data.station_code, report.report_date(data))
        return Response(
            pdf,
            media_type="application/pdf",
            headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{filename}"'},
        )


ROUTES = [ExportController, ReportController]
