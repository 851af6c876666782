"""The inspection table as CSV and XLSX, written batch by batch as the cursor yields rows.

Memory stays flat at any size: each is encoded one batch at a time, on a worker thread, and streamed
as it is made (the XLSX by server/exports/xlsx.py, a zip written as it goes).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import anyio
import msgspec
from asyncpg import Record

from server.exports import xlsx
from server.exports.models import ItemColumn
from server.exports.queries import ExportCursor
from server.exports.rules import answer_cell, neutralise, number, rfc3339
from server.structs import inspection_clock_off
from server.templates.models import Definition, Item, iter_items
from server.templates.scoring import display_percent, is_visible

Cell = str | int | float | bool | datetime | Decimal | None

BOM = "\ufeff".encode()
BATCH_ROWS = 1000
# A wide row carries the inspection's answers; smaller batches keep the rows in hand to a few MB.
WIDE_BATCH_ROWS = 200
FILE_CHUNK = 256 * 1024
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Answer(msgspec.Struct):
    """What a cell needs of an answer. Decoding into this (not dicts) skips the notes and keeps a
    batch of 95-answer rows small in memory."""

    value: Any = None
    photos: list[Any] = []


_decode_answers = msgspec.json.Decoder(dict[str, _Answer | None]).decode


def _display(row: Record) -> Decimal | None:
    shown = display_percent(row["score_percent"])
    return Decimal(shown) if shown is not None else None


def _clock_off(row: Record) -> bool:
    return inspection_clock_off(
        row["started_at"], row["finished_at"], row["created_at"], row["submitted_at"], row["updated_at"]
    )


def _num(key: str) -> Callable[[Record], Cell]:
    return lambda row: None if row[key] is None else number(row[key])


def _col(key: str) -> Callable[[Record], Cell]:
    return lambda row: row[key]


# The fixed columns, in order: (header, how to read it from an export row).
FIXED: tuple[tuple[str, Callable[[Record], Cell]], ...] = (
    ("inspection_id", lambda row: str(row["id"])),
    ("station_code", _col("station_code")),
    ("station_name_en", _col("station_name_en")),
    ("station_name_ur", _col("station_name_ur")),
    ("district_code", _col("district_code")),
    ("district_name_en", _col("district_name_en")),
    ("district_name_ur", _col("district_name_ur")),
    ("region_code", _col("region_code")),
    ("region_name_en", _col("region_name_en")),
    ("region_name_ur", _col("region_name_ur")),
    ("inspector_username", _col("inspector_username")),
    ("inspector_name", _col("inspector_name")),
    ("template_key", _col("template_key")),
    ("template_version", _col("template_version")),
    ("status", _col("status")),
    ("revision", _col("revision")),
    ("started_at", _col("started_at")),
    ("submitted_at", _col("submitted_at")),
    ("finished_at", _col("finished_at")),
    ("score_percent", _col("score_percent")),
    ("display_percent", _display),
    ("grade", _col("grade")),
    ("critical_failed", _col("critical_failed")),
    ("score_overridden", _col("score_overridden")),
    ("lat", _col("lat")),
    ("lon", _col("lon")),
    ("accuracy_m", _num("accuracy_m")),
    ("far_from_station", _col("far_from_station")),
    ("distance_m", _col("distance_m")),
    ("photos_expected", _col("photos_expected")),
    ("photos_missing", _col("photos_missing")),
    ("reused_photos", _col("reused_photos")),
    # The phone's clock was wrong: started_at and finished_at are not facts (structs.phone_clock_off).
    ("phone_clock_off", _clock_off),
    # When it was made, as the dashboards count it (its month is the month of its figures).
    ("made_at", _col("made_at")),
)

ITEM_PREFIX = "item."


class _Version:
    """One template version as the wide table reads it, prepared once per export.

    Visibility is worked out only for the items that have a condition (and the items those
    conditions name); every other item is always shown. The decisions are scoring.is_visible's, in
    the template's order, so chains (a condition on a hidden item) hide as they do in scoring.
    """

    def __init__(self, defn: Definition):
        items = [it for _, _, _, it in iter_items(defn)]
        self.by_key: dict[str, Item] = {it.key: it for it in items}
        self.conditional = [it for it in items if it.visible_if is not None]
        named = {it.visible_if.item for it in self.conditional if it.visible_if is not None}
        self.always = {key: True for key in named if key in self.by_key and self.by_key[key].visible_if is None}

    def hidden(self, answers: dict[str, Any]) -> set[str]:
        if not self.conditional:
            return set()
        shown = dict(self.always)
        for item in self.conditional:
            shown[item.key] = is_visible(item, answers, shown)
        return {key for key, visible in shown.items() if not visible}


class Table:
    """The export's columns: the fixed ones and, for one template, one column per item.

    An item's column holds the answer given in the inspection's own version of the template; an item
    that version does not have, or that its visible_if hid, is an empty cell (a hidden item's old
    answer does not count, as in scoring).
    """

    def __init__(self, versions: Sequence[tuple[UUID, Definition]] = ()):
        self.items = item_columns([d for _, d in versions])
        self._versions = {vid: _Version(d) for vid, d in versions}
        self.headers = [h for h, _ in FIXED] + [ITEM_PREFIX + c.key for c in self.items]
        self._keys = [c.key for c in self.items]

    @property
    def wide(self) -> bool:
        return bool(self.items)

    @property
    def batch_rows(self) -> int:
        return WIDE_BATCH_ROWS if self.items else BATCH_ROWS

    def cells(self, row: Record) -> list[Cell]:
        out = [read(row) for _, read in FIXED]
        if not self.items:
            return out
        version = self._versions.get(row["template_version_id"])
        if version is None or not row["answers"]:
            return out + [None] * len(self.items)
        given = _decode_answers(row["answers"])
        hidden = version.hidden(given)
        by_key = version.by_key
        for key in self._keys:
            answer = given.get(key)
            item = by_key.get(key)
            if answer is None or item is None or key in hidden:
                out.append(None)
            else:
                out.append(answer_cell(item.type, answer.value, len(answer.photos)))
        return out


def item_columns(definitions: Sequence[Definition]) -> list[ItemColumn]:
    """Items of every version, newest version first: its order, then items only older versions had."""
    seen: dict[str, ItemColumn] = {}
    for defn in definitions:
        for _, _, section, item in iter_items(defn):
            if item.key not in seen:
                seen[item.key] = ItemColumn(
                    key=item.key, type=item.type, section=section.key, label_en=item.label.en, label_ur=item.label.ur
                )
    return list(seen.values())


# CSV ------------------------------------------------------------------------------------------------


_CSV_TEXT: dict[type, Callable[[Any], str]] = {
    str: neutralise,
    bool: lambda b: "true" if b else "false",
    int: str,
    float: repr,
    Decimal: str,
    datetime: lambda moment: rfc3339(moment) or "",
    type(None): lambda _: "",
}


def csv_text(value: Cell) -> str:
    # One dictionary lookup per cell: this runs for every cell of every row.
    convert = _CSV_TEXT.get(type(value))
    return convert(value) if convert is not None else neutralise(str(value))


def csv_lines(rows: Iterable[Sequence[Cell]]) -> bytes:
    """RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma, quote or line end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows([csv_text(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def _csv_batch(table: Table, rows: list[Record]) -> bytes:
    return csv_lines(table.cells(r) for r in rows)


async def csv_stream(cursor: ExportCursor, table: Table) -> AsyncIterator[bytes]:
    """BOM and header, then one chunk per batch of rows; the cursor is closed however the stream ends.

    Batches are encoded on a worker thread of the export's own while the next is read: formatting
    a batch takes tens of milliseconds, which on the event loop would stall every other request.
    """
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-export")
    try:
        yield BOM + csv_lines([table.headers])
        encoding: asyncio.Future[bytes] | None = None
        async for rows in cursor.batches(table.batch_rows):
            if encoding is not None:
                yield await encoding
            encoding = loop.run_in_executor(worker, _csv_batch, table, rows)
        if encoding is not None:
            yield await encoding
    finally:
        worker.shutdown(wait=False)
        with anyio.CancelScope(shield=True):
            await cursor.close()


# XLSX -----------------------------------------------------------------------------------------------

_SHEET = "Inspections"


def _xlsx_start(table: Table, rows: int | None) -> tuple[xlsx.StreamingWorkbook, xlsx.Sheet, bytes]:
    book = xlsx.StreamingWorkbook()
    sheet = _xlsx_sheet(book, table, _SHEET, rows)
    return book, sheet, book.take()


def _xlsx_sheet(book: xlsx.StreamingWorkbook, table: Table, name: str, rows: int | None = None) -> xlsx.Sheet:
    # The id column fits a UUID; the others start at a width that shows a date or a short name.
    return book.sheet(name, table.headers, [38] + [16] * (len(table.headers) - 1), rows)


def _xlsx_batch(book: xlsx.StreamingWorkbook, sheets: list[xlsx.Sheet], table: Table, rows: list[Record]) -> bytes:
    sheet = sheets[-1]
    if sheet.xml_bytes > xlsx.SHEET_BYTES:
        # A sheet is one zip member, which cannot pass 2 GiB without zip64 (see server/exports/xlsx.py):
        # an export that large (very long answers near Excel's row limit) goes on in another sheet.
        sheet.close()
        sheets.append(_xlsx_sheet(book, table, f"{_SHEET} {len(sheets) + 1}"))
        sheet = sheets[-1]
    sheet.write_rows(table.cells(r) for r in rows)
    return book.take()


def _xlsx_finish(book: xlsx.StreamingWorkbook, sheets: list[xlsx.Sheet], table: Table) -> bytes:
    sheets[-1].close()
    if table.items:
        # A data dictionary of the item columns, for whoever reads the wide table later.
        items = book.sheet("Items", ("column", "section", "type", "label_en", "label_ur"), (28, 14, 12, 40, 40))
        items.write_rows(
            (ITEM_PREFIX + item.key, item.section, item.type, item.label_en, item.label_ur) for item in table.items
        )
        items.close()
    return book.close()


async def xlsx_stream(cursor: ExportCursor, table: Table, rows: int | None = None) -> AsyncIterator[bytes]:
    """The workbook as it is written: its first bytes at once, then one chunk per batch of rows.
    `rows`, the count the cursor gave when it opened, sizes the sheet for its readers.

    The rows are formatted and compressed on a worker thread of the export's own while the next batch
    is read: tens of milliseconds a batch, which on the event loop would stall every other request.
    """
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-export")
    book: xlsx.StreamingWorkbook | None = None
    try:
        book, sheet, head = await loop.run_in_executor(worker, _xlsx_start, table, rows)
        sheets = [sheet]
        yield head
        writing: asyncio.Future[bytes] | None = None
        async for batch in cursor.batches(table.batch_rows):
            if writing is not None:
                if chunk := await writing:
                    yield chunk
            writing = loop.run_in_executor(worker, _xlsx_batch, book, sheets, table, batch)
        if writing is not None:
            if chunk := await writing:
                yield chunk
        last = await loop.run_in_executor(worker, _xlsx_finish, book, sheets, table)
        book = None
        yield last
    finally:
        if book is not None:
            worker.submit(book.abandon)  # after any batch still being written: one worker, in order
        worker.shutdown(wait=False)
        with anyio.CancelScope(shield=True):
            await cursor.close()
