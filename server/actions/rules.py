"""The corrective action state machine, and who may drive it. Pure: no I/O.

    open ──▶ in_progress ──▶ done ──▶ verified (final)
      │           │           │
      └───────────┴───────────┴──▶ verified     (seen fixed during an inspection, or by a reviewer)
    done / in_progress ──▶ open                  (reopened by a reviewer: not good enough)
    open / in_progress / done ──▶ cancelled      (final: its cause is gone, e.g. an override passed the item)

Skipping `in_progress` is allowed (most fixes are done in a day), and so is verifying straight away:
the station's officers do not use the app, so the first time the app hears of a fix is often an
inspector standing in front of it during the next inspection. An inspector who verifies must leave a
note saying what they saw; a reviewer or admin may verify from the office. Setting the status an
action already has changes nothing and is not an error, so a phone's queued request sent twice is
harmless. `verified` is final: a failure found again later opens a new action.

`cancelled` is final too, and says nothing was fixed because nothing needed fixing: the server cancels
an untouched automatic action when a reviewer's override passes the item that opened it, and a reviewer
or an administrator may cancel one, saying why in a note. Nothing is added to a final action, notes
included: its history is closed.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple

Status = Literal["open", "in_progress", "done", "verified", "cancelled"]
STATUSES: tuple[Status, ...] = ("open", "in_progress", "done", "verified", "cancelled")
FINAL = frozenset({"verified", "cancelled"})
# Why the server cancelled an action itself (ActionOut.cancel_reason); null when a person cancelled it.
# override_passed: a reviewer's override passed the item; answer_corrected: the inspection, resubmitted
# after a return, no longer fails it.
CancelReason = Literal["override_passed", "answer_corrected"]
STAFF = frozenset({"reviewer", "admin"})
EVERYONE = frozenset({"reviewer", "admin", "inspector"})

# (from, to) -> the roles that may make that move.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("open", "in_progress"): EVERYONE,
    ("open", "done"): EVERYONE,
    ("in_progress", "done"): EVERYONE,
    ("open", "verified"): EVERYONE,
    ("in_progress", "verified"): EVERYONE,
    ("done", "verified"): EVERYONE,
    ("in_progress", "open"): STAFF,
    ("done", "open"): STAFF,
    ("open", "cancelled"): STAFF,
    ("in_progress", "cancelled"): STAFF,
    ("done", "cancelled"): STAFF,
}

# The fields only reviewers and admins may change: who must act, and by when.
STAFF_FIELDS = frozenset({"due_date", "owner_name", "owner_user_id", "description"})

AUTO_DUE_DAYS = 14  # an action opened by a critical failure is due two weeks after the day it is opened


class Refusal(NamedTuple):
    """Why a move is refused. `kind` picks the answer: a role that may not (forbidden), a move the
    machine does not have (conflict with the action's state), or a missing note (invalid input)."""

    kind: Literal["forbidden", "conflict", "needs_note"]
    message: str


def transition_problem(current: str, target: str, role: str, has_note: bool) -> Refusal | None:
    """Why `role` may not move an action from `current` to `target`, or None when it may."""
    if target == current:
        return None
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        if current in FINAL:
            return Refusal("conflict", closed_message(current))
        return Refusal("conflict", f"an action cannot go from {current} to {target}")
    if role not in allowed and target == "cancelled":
        return Refusal("forbidden", "only a reviewer or an administrator can cancel an action")
    if role not in allowed:
        return Refusal(
            "forbidden", f"only a reviewer or an administrator can move an action from {current} back to {target}"
        )
    if target == "verified" and role == "inspector" and not has_note:
        return Refusal("needs_note", "say what you saw: an inspector verifying a fix must add a note")
    if target == "cancelled" and not has_note:
        return Refusal("needs_note", "say why: cancelling an action needs a note")
    return None


def closed_message(status: str) -> str:
    """Why nothing can be added to an action in a final status."""
    return f"a {status} action is closed and read-only; open a new action if the problem is back"


def is_overdue(status: str, due: date, today: date) -> bool:
    """Overdue means work not finished by its due date; `done` waits on verification, not on the station."""
    return status in ("open", "in_progress") and due < today
