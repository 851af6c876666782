"""Pure calendar rules of the dashboards: periods, their labels and the ranges asked for. No I/O.

Trends and ranks are computed by the database with the reply's JSON (queries.scores_json and
queries.rankings_json); label() here and queries._label() there must write a period the same way."""

from __future__ import annotations

from datetime import date, timedelta

MAX_YEARS = 10
ONE_DAY = timedelta(days=1)
MONTHS = {"month": 1, "quarter": 3}


def period_start(day: date, period: str) -> date:
    month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def add_periods(start: date, period: str, n: int) -> date:
    """The first day of the period `n` periods after the one starting at `start` (n may be negative)."""
    index = start.year * 12 + (start.month - 1) + n * MONTHS[period]
    return date(index // 12, index % 12 + 1, 1)


def label(start: date, period: str) -> str:
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"


def window(first: date, last: date, period: str) -> tuple[date, date]:
    """The whole periods covering [first, last], as [start, end): a date picks its whole period."""
    return period_start(first, period), add_periods(period_start(last, period), period, 1)


def default_range(today: date, period: str) -> tuple[date, date]:
    """The last twelve months, or the last four quarters, up to today."""
    start = add_periods(period_start(today, period), period, -(12 // MONTHS[period]) + 1)
    return start, today


def calendar_problem(day: date, period: str) -> str | None:
    """Whether the periods around `day` (the one before it, the one after it) still fit the calendar
    Python and PostgreSQL share, the years 1 to 9999: a day at its very edge cannot be charted."""
    try:
        start = period_start(day, period)
        add_periods(start, period, -1)
        add_periods(start, period, 2)
    except ValueError:
        return "must be a date between the years 1 and 9999, a period away from either end"
    return None


def range_problem(first: date, last: date) -> str | None:
    if first > last:
        return "`from` must not be after `to`"
    if (last.year - first.year) > MAX_YEARS:
        return f"ask for at most {MAX_YEARS} years at a time"
    return None
