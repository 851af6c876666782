"""Pure rules of the exports: filter bounds, cell values, spreadsheet-safe text, file names. No I/O."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import msgspec

from server.errors import FieldError, Invalid

# Pakistan keeps UTC+5 all year (no daylight saving since 2009). A fixed offset needs no tz database,
# so a bare machine renders the same dates; the dashboards' Asia/Karachi months agree with it.
PKT = timezone(timedelta(hours=5), "PKT")

STATUSES = ("draft", "submitted", "returned", "approved")

# Excel's sheet holds 1,048,576 rows; one is the header.
XLSX_MAX_ROWS = 1_048_575

# A cell whose text starts with one of these is run as a formula by Excel, LibreOffice and Google
# Sheets when a CSV is opened (CSV injection). Prefixing an apostrophe makes it plain text.
_FORMULA_START = frozenset("=+-@\t\r")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_bound(raw: str | None, field: str, *, upper: bool) -> datetime | None:
    """A `from` / `to` query value: an RFC 3339 time with offset, or a date meaning that day in Pakistan.

    A date as `to` includes the whole day (the bound becomes the next midnight, exclusive), which is
    what someone picking "1 to 31 March" in a form means.
    """
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    try:
        if _DATE.match(raw):
            day = date.fromisoformat(raw) + timedelta(days=1 if upper else 0)
            moment = datetime(day.year, day.month, day.day, tzinfo=PKT)
        else:
            moment = msgspec.convert(raw, datetime)
        if moment.tzinfo is not None:
            # Bounds are compared in UTC: the time must still be a date once moved there (not year 0 or 10000).
            moment.astimezone(UTC)
    except (ValueError, OverflowError, msgspec.ValidationError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid(
            f"{field} must be a date (YYYY-MM-DD) or an RFC 3339 time with its offset",
            errors=[FieldError(field=field, message="must be YYYY-MM-DD or a time with offset")],
        )
    return moment


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise Invalid(
            "unknown status", errors=[FieldError(field="status", message=f"must be one of {', '.join(STATUSES)}")]
        )
    return status


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def neutralise(text: str) -> str:
    """Text that a spreadsheet shows as text: an apostrophe before anything that would start a formula."""
    return "'" + text if text[:1] in _FORMULA_START else text


def number(value: float | int) -> int | float:
    """Whole numbers as integers (7, not 7.0); everything else at full precision."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def answer_cell(item_type: str, value: Any, photo_count: int) -> str | int | float | None:
    """One item's answer as a table cell: the stored value, in the shape an analyst can count with.

    Choices stay option keys (stable across languages and template versions); a multi_choice is its
    keys joined by ";" (keys never contain it); a photo item, which has no value, counts its photos.
    """
    if item_type == "photo":
        return photo_count
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return number(value)
    if kind is list:
        return ";".join(str(v) for v in value)
    return msgspec.json.encode(value).decode()


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9_-]+")


def report_filename(station_code: str, when: datetime) -> str:
    code = _UNSAFE_FILENAME.sub("_", station_code).strip("_") or "station"
    return f"inspection-{code}-{when.astimezone(PKT).date().isoformat()}.pdf"
