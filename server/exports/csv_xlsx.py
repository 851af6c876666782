"""The inspection table as CSV and XLSX, written batch by batch as the cursor yields rows.

Memory stays flat at any size: the CSV is encoded one batch at a time and streamed; the XLSX is
written by xlsxwriter in constant_memory mode (each row goes to a temporary file as it is written)
on a worker thread, and the finished file is streamed from disk in chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import anyio
import msgspec
import xlsxwriter
from asyncpg import Record

from server.exports.models import ItemColumn
from server.exports.queries import ExportCursor
from server.exports.rules import answer_cell, neutralise, number, rfc3339
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
        with anyio.CancelScope(shield=True):
            await cursor.close()
        worker.shutdown(wait=False)


# XLSX -----------------------------------------------------------------------------------------------

# Excel refuses a cell longer than this; a note is far shorter, but a cell must never break the file.
_XLSX_MAX_TEXT = 32_767


class XlsxBook:
    """A workbook written row by row to a file, never held whole in memory (constant_memory)."""

    def __init__(self, path: str, table: Table):
        self.table = table
        self.book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "tmpdir": os.path.dirname(path),
                # Text is text: never turned into a formula, a number or a link, whatever it starts with.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.sheet = self.book.add_worksheet("Inspections")
        # Excel has no time zones: a time cell holds the UTC wall time, and its format says so.
        self.time_format = self.book.add_format({"num_format": 'yyyy-mm-dd hh:mm:ss "UTC"'})
        self.percent_format = self.book.add_format({"num_format": "0.0"})
        bold = self.book.add_format({"bold": True})
        self.sheet.freeze_panes(1, 0)
        self.sheet.set_column(0, 0, 38)
        self.sheet.set_column(1, len(table.headers) - 1, 16)
        for c, header in enumerate(table.headers):
            self.sheet.write_string(0, c, header, bold)
        self.row = 1

    def write_rows(self, rows: Iterable[Record]) -> None:
        write_string, write_number = self.sheet.write_string, self.sheet.write_number
        for record in rows:
            r = self.row
            for c, value in enumerate(self.table.cells(record)):
                if value is None:
                    continue
                if isinstance(value, bool):
                    self.sheet.write_boolean(r, c, value)
                elif isinstance(value, Decimal):
                    write_number(r, c, float(value), self.percent_format)
                elif isinstance(value, int | float):
                    write_number(r, c, value)
                elif isinstance(value, datetime):
                    self.sheet.write_datetime(r, c, value.astimezone(UTC).replace(tzinfo=None), self.time_format)
                else:
                    write_string(r, c, value[:_XLSX_MAX_TEXT])
            self.row += 1

    def close(self) -> None:
        headers = self.table.headers
        self.sheet.autofilter(0, 0, max(self.row - 1, 0), len(headers) - 1)
        if self.table.items:
            self._items_sheet()
        self.book.close()

    def _items_sheet(self) -> None:
        """A data dictionary of the item columns, for whoever reads the wide table later."""
        sheet = self.book.add_worksheet("Items")
        bold = self.book.add_format({"bold": True})
        for c, header in enumerate(("column", "section", "type", "label_en", "label_ur")):
            sheet.write_string(0, c, header, bold)
        for r, item in enumerate(self.table.items, start=1):
            for c, value in enumerate((ITEM_PREFIX + item.key, item.section, item.type, item.label_en, item.label_ur)):
                sheet.write_string(r, c, value)


async def xlsx_stream(cursor: ExportCursor, table: Table) -> AsyncIterator[bytes]:
    """Build the workbook off the event loop, batch by batch, then stream the file and delete it.

    All of one workbook's work runs on one thread of its own: xlsxwriter is not thread-safe, and
    one thread means one malloc arena, so the garbage of each batch is reused by the next instead of
    being spread over the arenas of a shared pool's threads.
    """
    loop = asyncio.get_running_loop()
    workdir = tempfile.mkdtemp(prefix=_WORKDIR_PREFIX)
    path = os.path.join(workdir, "export.xlsx")
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-export")
    worker.submit(_sweep_stale_workdirs, workdir)
    try:
        book = await loop.run_in_executor(worker, XlsxBook, path, table)
        try:
            # The next batch is read from the database while the worker writes this one.
            writing: asyncio.Future[None] | None = None
            async for rows in cursor.batches(table.batch_rows):
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(worker, book.write_rows, rows)
            if writing is not None:
                await writing
        finally:
            await cursor.close()
        await loop.run_in_executor(worker, book.close)
        with open(path, "rb") as handle:  # noqa: ASYNC230 - reads happen on the worker thread
            while chunk := await loop.run_in_executor(worker, handle.read, FILE_CHUNK):
                yield chunk
    finally:
        # Shielded: a client that goes away cancels the stream, and the file must still be removed.
        with anyio.CancelScope(shield=True):
            await cursor.close()
            await loop.run_in_executor(worker, _remove_tree, workdir)
        worker.shutdown(wait=False)


_WORKDIR_PREFIX = "muaina-xlsx-"
# No export runs this long; a directory left this long belongs to a process that was killed mid-export.
_STALE_SECONDS = 6 * 3600


def _sweep_stale_workdirs(current: str) -> None:
    """Remove the work directories of exports whose server process was killed before it cleaned up."""
    now = time.time()
    root = os.path.dirname(current)
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if not name.startswith(_WORKDIR_PREFIX) or path == current:
            continue
        with contextlib.suppress(OSError):
            newest = max([os.path.getmtime(path)] + [os.path.getmtime(os.path.join(path, f)) for f in os.listdir(path)])
            if now - newest > _STALE_SECONDS:
                _remove_tree(path)


def _remove_tree(path: str) -> None:
    for name in os.listdir(path) if os.path.isdir(path) else ():
        with contextlib.suppress(OSError):
            os.remove(os.path.join(path, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)
