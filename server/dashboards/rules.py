"""Pure calendar and ranking rules of the dashboards: periods, trends and ranks. No I/O."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

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


def with_trend(rows: Sequence[Any], period: str,
               shown_from: date) -> Iterator[tuple[Any, str, float | None, float | None]]:
    """Each row from `shown_from` on, with its period's label, the previous period's average and the
    change since: (row, label, previous_avg_percent, change). Rows are read, never copied, because a
    station-level chart can have thousands of them.

    The caller fetches one period more than it shows, so the first period shown has a trend too.
    """
    by_key = {(r["group_id"], r["period_start"]): r["avg_percent"] for r in rows}
    before: dict[date, date] = {}
    labels: dict[date, str] = {}
    for r in rows:
        start = r["period_start"]
        if start < shown_from:
            continue
        if start not in before:
            before[start] = add_periods(start, period, -1)
            labels[start] = label(start, period)
        previous = by_key.get((r["group_id"], before[start]))
        now = r["avg_percent"]
        yield r, labels[start], previous, (now - previous if previous is not None and now is not None else None)


def ranked(rows: Sequence[Any]) -> list[tuple[int, Any]]:
    """Competition ranking by average percent, best first ("1, 2, 2, 4"); unscored groups are not ranked."""
    scored = sorted((r for r in rows if r["avg_percent"] is not None),
                    key=lambda r: (-r["avg_percent"], r["group_name"], str(r["group_id"])))
    out: list[tuple[int, Any]] = []
    for position, r in enumerate(scored, start=1):
        rank = out[-1][0] if out and out[-1][1]["avg_percent"] == r["avg_percent"] else position
        out.append((rank, r))
    return out
