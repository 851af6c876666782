"""Station import from CSV, shared by POST /api/v1/stations/import and `muaina import-stations`.

All or nothing: every row is checked before anything is written, every problem is reported (422
with one error per bad row and field), and the writes happen in one transaction together with the
audit row. A dry run checks and compares exactly the same way and writes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from asyncpg import Connection

from server.audit import queries as audit
from server.dashboards import rollup
from server.errors import FieldError, Invalid
from server.org import queries
from server.org.models import FieldChange, ImportCounts, ImportPreview, StationChanges
from server.org.rules import decode_csv, parse_station_csv, station_changes


async def import_stations(
    conn: Connection,
    data: bytes,
    *,
    dry_run: bool = False,
    actor: Any = None,
    ip: str | None = None,
    source: str = "api",
) -> ImportCounts | ImportPreview:
    text = decode_csv(data)
    if text is None:
        raise Invalid(
            "the file is not UTF-8 text",
            errors=[FieldError(field="body", message="save the file as CSV UTF-8 (Urdu needs it)")],
        )
    async with conn.transaction():
        # Serialise imports, so the comparison with the stored stations is still true when writing.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", queries.IMPORT_LOCK_ID)
        rows, errors = parse_station_csv(text, await queries.district_codes(conn), await queries.circle_codes(conn))
        if errors:
            bad_rows = len({e.field.split(".")[0] for e in errors if e.field.startswith("row ")})
            raise Invalid(f"nothing was imported: {len(errors)} problem(s) in {bad_rows} row(s)", errors=errors)
        existing = await queries.stations_by_code(conn, [r.code for r in rows])
        created = [r for r in rows if r.code not in existing]
        updated = [
            (r, changes) for r in rows if r.code in existing and (changes := station_changes(existing[r.code], r))
        ]
        unchanged = len(rows) - len(created) - len(updated)
        if dry_run:
            return ImportPreview(
                created=[r.code for r in created],
                updated=[
                    StationChanges(code=r.code, changes={k: FieldChange(a, b) for k, (a, b) in c.items()})
                    for r, c in updated
                ],
                unchanged=unchanged,
                rows=len(rows),
            )
        # Unchanged stations are left alone, so re-importing the same file does not make every
        # phone download every station again.
        await queries.upsert_stations(conn, created + [r for r, _ in updated])
        if moved := [existing[r.code]["id"] for r, changes in updated if "district_code" in changes]:
            await rollup.follow_hierarchy(conn, station_ids=moved)
        counts = ImportCounts(created=len(created), updated=len(updated), unchanged=unchanged, rows=len(rows))
        await audit.record(
            conn,
            "station.import",
            actor=actor,
            entity="station",
            data={
                "source": source,
                "created": counts.created,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "rows": counts.rows,
            },
            ip=ip,
        )
    return counts


async def import_stations_file(conn: Connection, path: Path) -> tuple[bool, str]:
    """`muaina import-stations FILE.csv`: (ok, a message for the terminal)."""
    try:
        data = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        return False, f"error: cannot read {path}: {exc.strerror or exc}"
    try:
        result = await import_stations(conn, data, source=f"command line: {Path(path).name}")
    except Invalid as exc:
        lines = [f"error: {exc.detail}"] + [f"  {e.field}: {e.message}" for e in exc.errors]
        return False, "\n".join(lines)
    assert isinstance(result, ImportCounts)
    return True, (
        f"imported {result.rows} station(s) from {path}: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged"
    )
