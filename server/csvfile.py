"""What the CSV imports (stations: server/org, users: server/auth) share: reading the file as Excel
saves it, and its rows numbered as a spreadsheet shows them (the header is row 1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence

from server.errors import FieldError, Invalid


def decode(data: bytes) -> str:
    """The file as text; a byte-order mark, as Excel writes, is fine. Not UTF-8: a 422 naming the body."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(
            "the file is not UTF-8 text",
            errors=[FieldError(field="body", message="save the file as CSV UTF-8 (Urdu needs it)")],
        ) from None


Err = Callable[[str, str], None]

# The problems one refusal lists: the first so many in the file's order, with the counts whole. A file of
# 50,000 bad rows has 400,000 problems, which listed in full made a reply of 33 MB (27 times the file)
# that the admin's screen then drew row by row; the first few hundred are what a person mends first.
SHOWN_PROBLEMS = 500


def row_order(error: FieldError) -> int:
    """Sorts a file's problems in its order: 'row 12.code' -> 12; one of the whole file ('header',
    'body') comes first."""
    if not error.field.startswith("row "):
        return 0
    return int(error.field[4:].split(".")[0])


class Problems:
    """A file's problems as they are found, which is in its rows' order: the first SHOWN_PROBLEMS kept,
    every one counted, and the rows they are on marked. A 32 MiB station file of bad rows has 26 million
    problems: kept whole they took 5 GB of the server's memory before the first few hundred were shown."""

    def __init__(self) -> None:
        self.first: list[FieldError] = []
        self.count = 0
        self._rows = bytearray()  # 1 at the index of a row with a problem

    def __call__(self, field: str, message: str) -> None:
        """Says a problem (an Err)."""
        self.add(FieldError(field=field, message=message))

    def add(self, error: FieldError) -> None:
        self.count += 1
        self._mark(error)
        if len(self.first) < SHOWN_PROBLEMS:
            self.first.append(error)

    def _mark(self, error: FieldError) -> None:
        if row := row_order(error):
            if row >= len(self._rows):
                self._rows.extend(bytes(row + 1 - len(self._rows)))
            self._rows[row] = 1

    def __bool__(self) -> bool:
        return self.count > 0

    @property
    def rows(self) -> int:
        """How many rows have a problem."""
        return len(self._rows) - self._rows.count(0)

    def merged(self, later: list[FieldError]) -> Problems:
        """These and problems found afterwards, in any order (their list is whole), in the file's order."""
        both = Problems()
        both._rows = bytearray(self._rows)
        for error in later:
            both._mark(error)
        both.count = self.count + len(later)
        # The first SHOWN_PROBLEMS of both are among the kept ones: those not kept come after them.
        both.first = sorted(self.first + later, key=row_order)[:SHOWN_PROBLEMS]
        return both


def refused(errors: list[FieldError] | Problems) -> Invalid:
    """The 422 of a file with problems: nothing was imported, how many problems in how many rows, and
    the first SHOWN_PROBLEMS of them in the file's order."""
    if isinstance(errors, list):
        errors = Problems().merged(errors)
    detail = f"nothing was imported: {errors.count} problem(s) in {errors.rows} row(s)"
    if errors.count > SHOWN_PROBLEMS:
        detail += f"; the first {SHOWN_PROBLEMS} are listed"
    extra = {"problem_count": errors.count, "rows_with_problems": errors.rows}
    return Invalid(detail, errors=errors.first, extra=extra)


def read(text: str, err: Err, required: Sequence[str], known: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The data rows of a CSV file: (row number, {column: value stripped}). `required` columns must be
    in the header and no column outside `known` (listed in that order when one is unknown) may be:
    a misspelt header would otherwise be ignored silently. Each problem is said through `err` (by
    row, or "header"); a header with one gives no rows. Blank lines, as spreadsheets leave at the
    end, are skipped; a row with another number of values than the header is said and skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        err("header", unreadable(exc))
        return
    if header is None or not any(h.strip() for h in header):
        err("header", f"the file is empty; the first row must name the columns: {','.join(known)}")
        return
    if len(header) == 1 and (separator := next((c for c in (";", "\t") if c in header[0]), None)):
        # Excel in a locale whose decimal comma makes ';' the list separator, or a tab-separated export.
        shown = "';'" if separator == ";" else "tabs"
        err("header", f"the file uses {shown} between values: save it as CSV UTF-8 (comma delimited)")
        return
    columns = [h.strip().lower() for h in header]
    problems = False
    for name in required:
        if name not in columns:
            err("header", f"the column '{name}' is missing")
            problems = True
    for name in dict.fromkeys(columns):
        if name not in known:
            err("header", f"the column '{name or '(blank)'}' is unknown; the columns are {','.join(known)}")
            problems = True
        elif columns.count(name) > 1:
            err("header", f"the column '{name}' appears twice")
            problems = True
    if problems:
        return
    for number, record in records(reader, err):
        if not any(v.strip() for v in record):
            continue
        if len(record) != len(columns):
            err(f"row {number}", f"has {len(record)} values but the header names {len(columns)} columns")
            continue
        yield number, {name: value.strip() for name, value in zip(columns, record, strict=True)}


def records(reader: Iterator[list[str]], err: Err) -> Iterator[tuple[int, list[str]]]:
    """The data rows, numbered from 2. A row the csv module cannot read is reported and ends the file:
    a quotation mark left open makes the rest of the file one value, so nothing after it can be trusted."""
    number = 2
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            err(f"row {number}", unreadable(exc))
            return
        yield number, record
        number += 1


def unreadable(exc: csv.Error) -> str:
    return f"cannot be read ({exc}); is a quotation mark left open?"
