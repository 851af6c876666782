"""The streaming workbook writer (server/exports/xlsx.py), read back by openpyxl and checked as XML."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from server.exports import xlsx
from tests.conftest import require_or_skip

TRICKY = [
    "plain",
    '=HYPERLINK("http://x")',  # a formula's text stays text
    "a & b < c > d",
    "  spaced  ",
    "line one\nline two\ttabbed",
    "bell\x07 and nul\x00 and cr\r",
    "_x0041_ is how SpreadsheetML writes A",
    "تھانہ سٹی لاہور",
    "x" * 40_000,  # longer than a cell may hold
]


def build(rows: list[list[object]], headers: list[str]) -> bytes:
    book = xlsx.StreamingWorkbook()
    sheet = book.sheet("Inspections", headers, [38] + [16] * (len(headers) - 1))
    out = book.take()
    sheet.write_rows(rows[: len(rows) // 2])
    out += book.take()
    sheet.write_rows(rows[len(rows) // 2 :])
    sheet.close()
    return out + book.close()


def test_cells_read_back_with_their_types_and_text_exactly():
    moment = datetime(2026, 3, 31, 10, 15, 30, 250_000, tzinfo=timezone(timedelta(hours=5)))
    rows = [
        [text, 7, 0.1 + 0.2, Decimal("87.5"), True, False, moment, None, 2**53 + 1, float("nan")] for text in TRICKY
    ]
    headers = ["text", "int", "float", "percent", "yes", "no", "time", "empty", "big", "nan"]
    data = build(rows, headers)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Inspections"]
    assert [c.value for c in sheet[1]] == headers
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:J{len(rows) + 1}"
    for row, text in zip(sheet.iter_rows(min_row=2), TRICKY, strict=True):
        got = [c.value for c in row]
        # openpyxl gives the cell's text as stored; Excel reads its _xHHHH_ escapes (ECMA-376 ST_Xstring).
        assert unescape(got[0]) == text[: xlsx.MAX_TEXT]
        assert row[0].data_type == "s"
        assert got[1:6] == [7, 0.1 + 0.2, 87.5, True, False]  # every bit of the double
        assert row[3].number_format == "0.0"
        # The wall time in Pakistan (Excel has no zones; the format names it), to the millisecond.
        assert abs(got[6] - datetime(2026, 3, 31, 10, 15, 30, 250_000)) < timedelta(milliseconds=1)
        assert row[6].number_format == 'yyyy-mm-dd hh:mm:ss "PKT"'
        assert got[7] is None
        assert got[8] == 2**53 + 1
        assert got[9] == "nan"


def unescape(stored: str) -> str:
    return re.sub("_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), stored)


def test_every_part_is_well_formed_xml_and_the_zip_is_whole():
    data = build([[t, 1] for t in TRICKY], ["text", "n"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml"} <= set(names)
        for name in names:
            ElementTree.fromstring(archive.read(name))  # raises on anything malformed
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    # Characters XML cannot carry are written as SpreadsheetML escapes, and text that looks like one is
    # escaped itself, so that a reader gives back what was written.
    assert "_x0007_" in sheet and "_x0000_" in sheet and "_x000D_" in sheet
    assert "_x005F_x0041_" in sheet


def test_a_lone_surrogate_does_not_break_the_workbook():
    data = build([["half a pair \ud800 here"]], ["text"])
    value = openpyxl.load_workbook(io.BytesIO(data))["Inspections"]["A2"].value
    assert value.startswith("half a pair ") and value.endswith(" here")


def test_a_sheet_that_would_pass_the_zip_member_limit_goes_on_in_another(monkeypatch):
    """Exercised with a tiny limit: the caller (csv_xlsx) starts a sheet when xml_bytes passes it."""
    from server.exports import csv_xlsx

    monkeypatch.setattr(xlsx, "SHEET_BYTES", 2_000)
    table = csv_xlsx.Table()
    book, sheet, head = csv_xlsx._xlsx_start(table, None)
    sheets = [sheet]
    record = {name: None for name, _ in csv_xlsx.FIXED} | {
        "id": "00000000-0000-0000-0000-000000000001",
        "station_code": "PS-1",
        "score_percent": None,
        # What computed columns read besides their own (phone_clock_off: when the server had it).
        "created_at": datetime(2026, 11, 30, 5, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 30, 5, tzinfo=UTC),
    }
    body = head
    for _ in range(4):
        body += csv_xlsx._xlsx_batch(book, sheets, table, [record] * 10)
    body += csv_xlsx._xlsx_finish(book, sheets, table)
    workbook = openpyxl.load_workbook(io.BytesIO(body))
    assert workbook.sheetnames[0] == "Inspections" and len(workbook.sheetnames) > 1
    assert all(workbook[name]["A1"].value == "inspection_id" for name in workbook.sheetnames)
    assert sum(workbook[name].max_row - 1 for name in workbook.sheetnames) == 40


@pytest.mark.parametrize(("index", "name"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_names(index: int, name: str):
    assert xlsx.column_name(index) == name


def test_excel_time_counts_days_from_its_epoch():
    assert xlsx.excel_time(datetime(1900, 3, 1)) == 61
    assert xlsx.excel_time(datetime(2026, 1, 1, 7, tzinfo=UTC)) == 46023.5  # noon in Pakistan


SOFFICE = "/usr/bin/soffice"


def test_libreoffice_reads_the_workbook_as_written(tmp_path):
    """A spreadsheet program, not only openpyxl, opens the hand-written workbook: LibreOffice Calc
    converts each sheet to CSV, and the cells come back with their types and text."""
    if not Path(SOFFICE).exists():
        require_or_skip(f"{SOFFICE} is not installed (apt-get install libreoffice-calc-nogui)")
    texts = ["=1+1 is text", "a & b < c > d", "تھانہ سٹی لاہور", "two\nlines", "_x0041_ stays as typed"]
    moment = datetime(2026, 3, 31, 10, 15, 30, tzinfo=timezone(timedelta(hours=5)))
    rows = [[text, n, n + 0.25, Decimal("87.5"), n % 2 == 0, moment, None] for n, text in enumerate(texts)]
    workbook = tmp_path / "export.xlsx"
    workbook.write_bytes(build(rows, ["text", "n", "x", "percent", "even", "time", "empty"]))
    # Comma-separated, quoted, UTF-8, cells as their formats show them, every sheet to its own file.
    options = "44,34,76,1,,0,false,true,true,false,false,-1"
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            f"csv:Text - txt - csv (StarCalc):{options}",
            str(workbook),
            "--outdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "export-Inspections.csv", encoding="utf-8", newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == ["text", "n", "x", "percent", "even", "time", "empty"]
    assert [r[0] for r in read[1:]] == texts
    assert [(int(r[1]), float(r[2]), float(r[3]), r[4]) for r in read[1:]] == [
        (n, n + 0.25, 87.5, "TRUE" if n % 2 == 0 else "FALSE") for n in range(len(texts))
    ]
    assert {r[5] for r in read[1:]} == {"2026-03-31 10:15:30 PKT"}  # Pakistan's wall time, in its format
    assert {r[6] for r in read[1:]} == {""}
