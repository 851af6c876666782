"""Station import from CSV, shared by POST /api/v1/stations/import and `muaina import-stations`.

All or nothing: every row is checked before anything is written, every problem is reported (422
with one error per bad row and field), and the writes happen in one transaction together with the
audit row. A dry run checks and compares exactly the same way and writes nothing.

A row's code finds its station ignoring case, and the stored spelling is kept: an officer's `ps-7`
means the station `PS-7`, and a second station cannot be made by a change of case (stations are
never deleted). A database older than schema/0017 may hold two codes that differ only in case: a row
naming them in a third spelling is refused, since either could be meant. A row's district and circle
codes are found the same way (rules.Codes, schema/0019).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg import Connection, Record

from server.audit import queries as audit
from server.csvfile import decode, refused
from server.dashboards import rollup
from server.errors import Conflict, FieldError, Invalid
from server.org import queries
from server.org.models import FieldChange, ImportCounts, ImportPreview, NotInFile, StationChanges
from server.org.rules import ImportRow, code_key, collector, parse_station_csv, station_changes, zeros_lost

NOT_IN_FILE_SHOWN = 50  # codes a preview lists of the stations a file leaves out; the count is whole


async def _match_stored(
    conn: Connection, rows: Sequence[ImportRow]
) -> tuple[list[ImportRow], dict[str, Record], dict[str, str], list[FieldError]]:
    """The rows with each code spelt as its stored station's, the stations by that code, the file's
    other spellings by stored code, and the problems (not in the file's order): a code that could be
    either of two stations, and a new numeric code that is a stored one without its leading zeros."""
    candidates: dict[str, list[Record]] = {}
    for station in await queries.stations_by_code(conn, [r.code for r in rows]):
        candidates.setdefault(code_key(station["code"]), []).append(station)
    errors, err = collector()
    matched: list[ImportRow] = []
    existing: dict[str, Record] = {}
    spelt: dict[str, str] = {}
    new: list[ImportRow] = []
    for row in rows:
        found = candidates.get(code_key(row.code), [])
        station = next((s for s in found if s["code"] == row.code), found[0] if len(found) == 1 else None)
        if station is None and found:
            codes = ", ".join(sorted(s["code"] for s in found))
            err(f"row {row.row}.code", f"could be any of the stations {codes}: write the code exactly as stored")
            continue
        if station is not None:
            existing[station["code"]] = station
            if station["code"] != row.code:
                spelt[station["code"]] = row.code
                row = dataclasses.replace(row, code=station["code"])
        else:
            new.append(row)
        matched.append(row)
    numeric = [r for r in new if zeros_lost(r.code) == r.code]
    if numeric:
        padded = await queries.numeric_codes_without_zeros(conn, [r.code for r in numeric])
        for row in numeric:
            if row.code in padded:
                err(
                    f"row {row.row}.code",
                    f"looks like {padded[row.code]} with its leading zero lost "
                    "(Excel drops them: format the column as Text)",
                )
    return matched, existing, spelt, errors


async def import_stations(
    conn: Connection,
    data: bytes,
    *,
    dry_run: bool = False,
    actor: Any = None,
    ip: str | None = None,
    source: str = "api",
) -> ImportCounts | ImportPreview:
    text = decode(data)
    async with conn.transaction():
        # Serialise imports, so the comparison with the stored stations is still true when writing.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", queries.IMPORT_LOCK_ID)
        districts, circles = await queries.district_codes(conn), await queries.circle_codes(conn)
        # Off the event loop: a file at the size limit takes seconds of a core to check.
        rows, errors = await asyncio.to_thread(parse_station_csv, text, districts, circles)
        rows, existing, spelt, unmatched = await _match_stored(conn, rows)
        if errors or unmatched:
            # One reply lists every problem, in the order of the file's rows.
            raise refused(errors.merged(unmatched))
        created = [r for r in rows if r.code not in existing]
        updated = [
            (r, changes) for r in rows if r.code in existing and (changes := station_changes(existing[r.code], r))
        ]
        unchanged = len(rows) - len(created) - len(updated)
        if dry_run:
            count, codes = await queries.stations_not_in(
                conn, list({r.district_id for r in rows}), [s["id"] for s in existing.values()], NOT_IN_FILE_SHOWN
            )
            return ImportPreview(
                created=[r.code for r in created],
                updated=[
                    StationChanges(
                        code=r.code,
                        changes={k: FieldChange(a, b) for k, (a, b) in c.items()},
                        code_in_file=spelt.get(r.code),
                    )
                    for r, c in updated
                ],
                unchanged=unchanged,
                rows=len(rows),
                not_in_file=NotInFile(count=count, codes=codes),
            )
        # Unchanged stations are left alone, so re-importing the same file does not make every
        # phone download every station again.
        try:
            await queries.upsert_stations(conn, created + [r for r, _ in updated])
        except asyncpg.UniqueViolationError:
            # A station made meanwhile through the API (imports take turns; a single create does not)
            # took one of the new codes in another case.
            raise Conflict("a station with one of these codes was added meanwhile: check the file again") from None
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
