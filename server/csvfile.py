"""What the CSV imports (stations: server/org, users: server/auth) share: reading the file as Excel
saves it, and its rows numbered as a spreadsheet shows them (the header is row 1)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator

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


def records(reader: Iterator[list[str]], err: Callable[[str, str], None]) -> Iterator[tuple[int, list[str]]]:
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
