"""Pure rules: when a recurring inspection falls due next, and whether an assignment may be made.

Due dates are month-end safe. A schedule remembers the day of the month it started on (its anchor):
started on 31 January, monthly, it falls due on 28 (or 29) February, 31 March, 30 April, and so on,
never drifting to the 28th for good.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from typing import Any

from server.errors import FieldError
from server.templates.rules import unusable_at

MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6}

# The due dates a plan may name. A year outside these is a slip of the keyboard (2205 for 2025) that
# would leave a visit never overdue, and a schedule near the calendar's end (9999) cannot move on:
# the next date does not exist, and the submission that completes the visit would fail with it.
EARLIEST_DUE = date(2000, 1, 1)
LATEST_DUE = date(2100, 12, 31)


def due_date_problems(field: str, day: date) -> list[FieldError]:
    if EARLIEST_DUE <= day <= LATEST_DUE:
        return []
    return [FieldError(field=field, message=f"must be between {EARLIEST_DUE} and {LATEST_DUE}")]


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` moved by whole months, on `anchor_day` (default: day's own) or the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    wanted = anchor_day or day.day
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def next_due(previous: date, frequency: str, *, anchor_day: int | None = None, after: date | None = None) -> date:
    """The due date one period after `previous`.

    `after` (normally today) skips periods that are already over: an inspection due on 31 January that
    is done on 5 April is next due on 30 April, not on a 28 February that can only ever be overdue.
    """
    step = MONTHS[frequency]
    due = add_months(previous, step, anchor_day)
    while after is not None and due <= after:
        due = add_months(due, step, anchor_day)
    return due


def held_back_problems(held_back: str | None) -> list[FieldError]:
    """Why an open visit held back (assignments.queries.HELD_BACK) cannot be rescheduled or reassigned,
    in the words assignment_problems uses for the same fields."""
    if held_back == "station_inactive":
        return [FieldError(field="station_id", message="the station is deactivated")]
    if held_back == "template_archived":
        return [FieldError(field="template_id", message="the template is archived")]
    if held_back == "template_other_kind":
        return [FieldError(field="template_id", message="the template's newest version is for other kinds of station")]
    return []


def assignment_problems(
    facts: Mapping[str, Any], *, check: frozenset[str] = frozenset({"station_id", "inspector_id", "template_id"})
) -> list[FieldError]:
    """Why this station, inspector and template cannot be put together, one error per field.

    `facts` comes from assignments.queries.assignment_facts; `check` limits the fields judged (a
    reassignment judges only the new inspector).
    """
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        if field in check:
            errors.append(FieldError(field=field, message=message))

    station_ok = bool(facts["station_found"])
    if not station_ok:
        err("station_id", "no station with this id is in your area")
    elif not facts["station_active"]:
        err("station_id", "the station is deactivated")
    if not facts["inspector_found"]:
        err("inspector_id", "no user has this id")
    elif not facts["inspector_visible"]:
        # Someone who works only outside the caller's area: the same answer as for no one, so a
        # reviewer learns nothing of who exists elsewhere, with what role or in what state.
        err("inspector_id", "no user has this id")
    elif facts["inspector_role"] != "inspector":
        err("inspector_id", "this user is not an inspector")
    elif not facts["inspector_active"]:
        err("inspector_id", "this inspector's account is deactivated")
    elif station_ok and not facts["inspector_covers"]:
        err("inspector_id", "the station is outside this inspector's districts and regions")
    if not facts["template_found"]:
        err("template_id", "no template has this id")
    elif facts["template_version"] is None and not facts["template_archived"]:
        err("template_id", "the template has no published version yet")
    elif problem := unusable_at(
        facts["template_archived"], facts["template_kinds"] if station_ok else None, facts["station_kind"]
    ):
        err("template_id", problem)
    return errors
