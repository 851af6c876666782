"""Pure rules of a review: who may review, which inspections, what an override may touch, the new score.

Nothing here does I/O; routes and queries feed it rows and act on what it decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from server.errors import FieldError
from server.review.models import Decision, ReviewIn
from server.templates.models import Definition, Score, iter_items
from server.templates.scoring import is_scored, score, visibility

REVIEWABLE = "submitted"
NEXT_STATUS: dict[Decision, str] = {"approve": "approved", "return": "returned"}


def conflict_reason(status: str, revision: int, wanted_revision: int) -> str | None:
    """Why this review cannot be applied to the inspection as it is now, or None if it can.

    A stale revision is reported first: the reviewer read something that has changed, and whatever
    the status is now, they must look again before deciding.
    """
    if revision != wanted_revision:
        return (
            f"the inspection changed since you opened it (you reviewed revision {wanted_revision}, "
            f"it is now at revision {revision}); reload it and review again"
        )
    if status != REVIEWABLE:
        return f"only a submitted inspection can be reviewed; this one is {status}"
    return None


def check_review(defn: Definition, answers: Mapping[str, Any], body: ReviewIn) -> list[FieldError]:
    """Every problem with the item comments and overrides, checked against the pinned template.

    An override must name a visible, scored item: the engine ignores any other, and an override that
    silently changes nothing would mislead whoever reads the audit trail.
    """
    errors: list[FieldError] = []
    items = {item.key: item for _, _, _, item in iter_items(defn)}
    for key in body.item_comments:
        if key not in items:
            errors.append(FieldError(field=f"item_comments.{key}", message="is not an item of this template"))
    visible = visibility(defn, answers)
    for key, override in body.score_overrides.items():
        at = f"score_overrides.{key}"
        item = items.get(key)
        if item is None:
            errors.append(FieldError(field=at, message="is not an item of this template"))
        elif not is_scored(item):
            errors.append(FieldError(field=at, message=f"a {item.type} item earns no score to override"))
        elif not visible.get(key, False):
            errors.append(FieldError(field=at, message="is hidden by the inspector's answers, so it is not scored"))
        if not override.reason.strip():
            errors.append(FieldError(field=f"{at}.reason", message="give the reason for the override"))
    return errors


def overridden_score(
    defn: Definition, answers: Mapping[str, Any], overrides: Mapping[str, float]
) -> tuple[Score, Score]:
    """(the inspector's own score, the score with the reviewer's overrides)."""
    return score(defn, answers), score(defn, answers, overrides)


def stored_score(new: Score, previous: Mapping[str, Any] | None, overrides: Mapping[str, dict[str, Any]]) -> dict:
    """The score document kept on the inspection: the recomputed summary, marked as overridden.

    Keys the inspections capability stored beside the summary are kept. Each overridden item shows
    both figures, so nobody mistakes the reviewer's score for the inspector's.
    """
    doc: dict[str, Any] = dict(previous or {})
    doc.update(msgspec.to_builtins(new))
    if overrides:
        doc["overridden"] = True
        doc["overrides"] = dict(overrides)
        items = doc.get("items") or {}
        for key, info in overrides.items():
            if key in items:
                items[key] = {**items[key], "original": info["original"], "overridden": True}
    return doc


def may_review(role: str, user_id: UUID, inspector_id: UUID) -> str | None:
    """Why this user may not review this inspection, or None. Scope is checked in SQL beforehand."""
    if role not in ("reviewer", "admin"):
        return "only reviewers and administrators review inspections"
    if user_id == inspector_id:
        return "you inspected this station yourself; another reviewer must review it"
    return None
