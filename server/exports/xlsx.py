"""A workbook written as a stream: SpreadsheetML (ECMA-376) in a zip, produced row by row.

The export's first bytes leave while its first rows are formatted, and nothing is held but the batch
in hand: no temporary file, no workbook object, nothing to clean up after a killed process. A
reverse proxy in front of the server sees bytes flowing from the start, so its read timeout does not
cut a large export off, and a row costs a string join rather than a call per cell.

What a workbook holds here is small and fixed: sheets of typed cells (text, numbers, booleans, times),
a bold header row that stays in view and carries an autofilter, and four cell formats. Text is always
an inline string cell: never a formula, a number or a link, whatever it starts with.

The zip is written to an unseekable sink, so each member carries its sizes in a data descriptor after
its data; Excel, LibreOffice and openpyxl read that form. Such a member cannot grow past 2 GiB without
zip64 records, which some readers refuse when they could have been left out: a caller that could
reach that size starts another sheet first (Sheet.xml_bytes says how far a sheet has got).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from server.exports.rules import PKT

# Excel refuses a cell longer than this; a note is far shorter, but a cell must never break the file.
MAX_TEXT = 32_767
# The most XML one sheet may hold: zipfile's limit for a member it cannot seek back to, less room for
# one more batch of rows.
SHEET_BYTES = zipfile.ZIP64_LIMIT - 512 * 1024 * 1024
# zlib's default level: a fifth smaller than level 1 for under a fifth more of the export's time
# (formatting the rows costs several times what compressing them does), and the file may travel
# over a slow mobile link.
_COMPRESS_LEVEL = 6

# Cell formats (their index in styles.xml's cellXfs): the default, the header, a Pakistan time, a percent.
_BOLD, _TIME, _PERCENT = 1, 2, 3
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0, as the 1900 date system counts with its leap-year quirk

# Characters XML 1.0 cannot carry (and \r, which XML parsers turn into \n), and text that looks like
# SpreadsheetML's own escape for them: both are written as _xHHHH_, as Excel does.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def _escape_char(match: re.Match[str]) -> str:
    text = match.group()
    return "_x005F" + text if len(text) > 1 else f"_x{ord(text):04X}_"


def escape(text: str) -> str:
    """Text as the content of an XML element."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return _UNSAFE.sub(_escape_char, text)


def column_name(index: int) -> str:
    """A, B, …, Z, AA, … for a 0-based column index."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def excel_time(moment: datetime) -> float:
    """A time as Excel's serial day number, of its wall time in Pakistan (Excel has no time zones; the
    cell's format names the zone). The officers who open the sheet read times as the clock on their
    wall, and a submission at 00:30 on the 1st of April belongs to April in the sheet as it does on the
    dashboards and in the export's own date filter."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(PKT).replace(tzinfo=None)
    delta = moment - _EPOCH
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _text_cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value[:MAX_TEXT])}</t></is></c>'


def cell(ref: str, value: Any) -> str:
    """One cell's XML; "" for an empty cell (None)."""
    kind = type(value)
    if kind is str:
        return _text_cell(ref, value)
    if value is None:
        return ""
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if kind is int:
        return f'<c r="{ref}"><v>{value}</v></c>'
    if kind is float:
        # A spreadsheet has no NaN or infinity: such a number is shown as the text it is.
        return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else _text_cell(ref, repr(value))
    if kind is Decimal:
        return f'<c r="{ref}" s="{_PERCENT}"><v>{float(value)!r}</v></c>'
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{_TIME}"><v>{excel_time(value)!r}</v></c>'
    return _text_cell(ref, str(value))


class _Sink(io.RawIOBase):
    """Where the zip is written: bytes kept until taken. It can tell its position but not seek, so
    zipfile writes each member's sizes after its data instead of going back for them."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


class Sheet:
    """A sheet under way: its header is written at the start, its rows as they come, its end by close."""

    def __init__(
        self,
        book: StreamingWorkbook,
        name: str,
        headers: Sequence[str],
        widths: Sequence[float],
        rows: int | None = None,
    ) -> None:
        self.name = name
        self.columns = len(headers)
        self._refs = [column_name(c) for c in range(self.columns)]
        self._book = book
        self.xml_bytes = 0
        book._sheets.append(name)
        self._member = book._zip.open(f"xl/worksheets/sheet{len(book._sheets)}.xml", "w")
        book._open = self._member
        cols = "".join(
            f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>' for c, w in enumerate(widths) if w
        )
        self._write(
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            # The extent, when the caller knows how many rows will come: readers size the sheet from it.
            + (f'<dimension ref="A1:{column_name(max(self.columns, 1) - 1)}{rows + 1}"/>' if rows is not None else "")
            + '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if len(book._sheets) == 1 else "")
            + '><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>' + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>"
        )
        self._row = 1
        refs = self._refs
        self._write(
            '<row r="1">'
            + "".join(
                f'<c r="{refs[c]}1" t="inlineStr" s="{_BOLD}"><is><t>{escape(h)}</t></is></c>'
                for c, h in enumerate(headers)
            )
            + "</row>"
        )

    def _write(self, text: str) -> None:
        # A lone surrogate (possible in text decoded from JSON) cannot be UTF-8: it becomes "?".
        self.xml_bytes += self._member.write(text.encode("utf-8", "replace"))

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        refs = self._refs
        parts: list[str] = []
        r = self._row
        for values in rows:
            r += 1
            n = str(r)
            parts.append(f'<row r="{n}">')
            parts.extend([cell(ref + n, v) for ref, v in zip(refs, values, strict=False) if v is not None])
            parts.append("</row>")
        self._row = r
        self._write("".join(parts))

    def close(self) -> None:
        last = column_name(max(self.columns, 1) - 1)
        self._write(f'</sheetData><autoFilter ref="A1:{last}{self._row}"/></worksheet>')
        self._member.close()
        self._book._open = None
        self._book._filters.append(f"'{self.name}'!$A$1:${last}${self._row}")


class StreamingWorkbook:
    """Sheets one after another (one open at a time); `take()` gives the bytes written so far."""

    def __init__(self) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL)
        self._sheets: list[str] = []
        self._filters: list[str] = []
        self._open: IO[bytes] | None = None  # the sheet being written

    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[float] = (), rows: int | None = None) -> Sheet:
        """A new sheet; `rows`, when known, is how many rows will follow its header."""
        return Sheet(self, name, headers, widths, rows)

    def take(self) -> bytes:
        return self._sink.take()

    def close(self) -> bytes:
        """Write the workbook's parts that name the sheets; returns the last bytes."""
        sheets = "".join(
            f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(self._sheets, 1)
        )
        # Excel keeps each sheet's autofilter range as a hidden defined name too.
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">{escape(ref)}</definedName>'
            for n, ref in enumerate(self._filters)
        )
        sheet_rels = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(self._sheets) + 1)
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>'
            for n in range(1, len(self._sheets) + 1)
        )
        after = len(self._sheets) + 1
        parts = {
            "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            f"<sheets>{sheets}</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>",
            "xl/styles.xml": _STYLES,
            "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG_REL}">{sheet_rels}'
            f'<Relationship Id="rId{after}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
            "_rels/.rels": f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
            "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        }
        for name, xml in parts.items():
            self._zip.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml)
        self._zip.close()
        return self.take()

    def abandon(self) -> None:
        """Drop a workbook that will not be finished (its export failed or its client left): what is
        open is closed so that nothing is left half-written when it is collected; no bytes go out."""
        if self._open is not None:
            self._open.close()
            self._open = None
        self._zip.close()
        self._sink.take()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_PKG_REL = _PKG + "/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

# Fonts: normal and bold. Formats 164 and 165 are the workbook's own: a Pakistan time and a percent
# with one decimal. cellXfs, in order: the default, the header (bold), a time, a percent.
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss &quot;PKT&quot;"/>'
    '<numFmt numFmtId="165" formatCode="0.0"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
