"""Scoring an inspection against its template (DESIGN §4) and checking its answers (DESIGN §7).

The server's score is authoritative and pwa/js/scoring.js shows the same score live on the phone;
tests/scoring_vectors.json holds both to the same results. To keep them equal to the last bit, both do
the same IEEE arithmetic in the same order: plain left-to-right loops (Python's sum() may compensate
rounding, JavaScript's addition never does), percent computed as (100 * Σ score·weight) / Σ weight.

Semantics decided here, beyond the letter of §4:
- Visibility chains: an item whose visible_if names a hidden item is hidden too, whatever answer the
  hidden item still holds from before it was hidden.
- A value that validate_answers would reject (a scale above its max, an unknown option) scores as if
  unanswered, so a half-typed answer in the PWA never throws or skews the live score.
- A critical item fails when it is visible and its score is exactly 0: yes_no "no", scale 0, a number
  out of range, a choice or multi_choice that earns nothing. Hidden, n.a. and unanswered never fail.
- A reviewer's override replaces the score of a visible scored item, answered or not (a reviewer may
  score an item the inspector marked n.a.), and counts for critical failure like any score.
  Overrides of hidden, unscored or unknown items are ignored.
- Grade bands are compared with a tolerance of 1e-9 so that a true 90 that floating point computes
  as 89.99999999999999 still earns the 90 band; 89.95 does not (it only displays as 90.0).
- An empty multi_choice list is an answer ("none of these"), scoring 0; blank text is no answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from server.errors import FieldError
from server.templates.models import (
    SCORED_TYPES,
    Definition,
    GradeBand,
    Item,
    ItemScore,
    Score,
    SectionScore,
    iter_items,
)
from server.templates.rules import value_problem

GRADE_TOLERANCE = 1e-9
FAIL = "fail"

Answers = Mapping[str, Any]


def _value(answer: Any) -> Any:
    # Answers arrive as dicts from JSON or jsonb, or as Structs from a typed decode; both are read alike.
    if answer is None:
        return None
    if isinstance(answer, Mapping):
        return answer.get("value")
    return getattr(answer, "value", None)


def _photos(answer: Any) -> Any:
    if answer is None:
        return []
    if isinstance(answer, Mapping):
        return answer.get("photos") or []
    return getattr(answer, "photos", None) or []


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _same(a: Any, b: Any) -> bool:
    # Python holds True == 1 and JavaScript does not; comparing like kinds only keeps the two scorers agreed.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def is_visible(item: Item, answers: Answers, visible: Mapping[str, bool] | None = None) -> bool:
    """Whether `item` is shown. `visible` holds the decisions for earlier items, to hide chains."""
    cond = item.visible_if
    if cond is None:
        return True
    if visible is not None and not visible.get(cond.item, False):
        return False
    value = _value(answers.get(cond.item))
    if value is None:
        return False
    wanted = [cond.equals] if cond.in_ is None else cond.in_
    # A multi_choice answer meets the condition when any option chosen is one of those named.
    given = value if isinstance(value, list) else [value]
    return any(_same(g, w) for g in given for w in wanted)


def visibility(defn: Definition, answers: Answers) -> dict[str, bool]:
    visible: dict[str, bool] = {}
    for _, _, _, item in iter_items(defn):
        visible[item.key] = is_visible(item, answers, visible)
    return visible


def is_scored(item: Item) -> bool:
    """Whether the item's type can earn a score at all (a number needs a range to be inside)."""
    if item.type == "number":
        return item.min is not None or item.max is not None
    return item.type in SCORED_TYPES


def item_score(item: Item, answer: Any) -> float | None:
    """The item's score in [0, 1], or None when it is left out of both numerator and denominator."""
    value = _value(answer)
    if value is None or not is_scored(item):
        return None
    kind = item.type
    if kind == "yes_no":
        return {"yes": 1.0, "no": 0.0}.get(value) if isinstance(value, str) else None
    if kind == "scale":
        top = item.max or 0
        if top >= 1 and _is_number(value) and float(value).is_integer() and 0 <= value <= top:
            return value / top
        return None
    if kind == "number":
        if not _is_number(value):
            return None
        inside = (item.min is None or value >= item.min) and (item.max is None or value <= item.max)
        return 1.0 if inside else 0.0
    options = item.options or []
    if kind == "choice":
        best = max((o.points for o in options), default=0.0)
        chosen = next((o for o in options if isinstance(value, str) and o.key == value), None)
        if chosen is None or best <= 0:
            return None
        return max(0.0, chosen.points / best)
    if kind == "multi_choice":
        if value_problem(item, value) is not None:
            return None
        total = 0.0
        earned = 0.0
        for option in options:
            if option.points > 0:
                total += option.points
            if option.key in value:
                earned += option.points
        if total <= 0:
            return None
        return min(1.0, max(0.0, earned / total))
    return None


def score(defn: Definition, answers: Answers | None, overrides: Mapping[str, float] | None = None) -> Score:
    """Score an inspection. `overrides` maps item keys to reviewer scores in [0, 1]."""
    answers = answers or {}
    overrides = overrides or {}
    visible: dict[str, bool] = {}
    items: dict[str, ItemScore] = {}
    sections: list[SectionScore] = []
    critical_failed = False
    overall = 0.0
    overall_weight = 0.0
    for section in defn.sections:
        earned = 0.0
        weight = 0.0
        for item in section.items:
            shown = visible[item.key] = is_visible(item, answers, visible)
            s: float | None = None
            if shown and is_scored(item):
                s = _override(item.key, overrides) if item.key in overrides else item_score(item, answers.get(item.key))
            if s is not None:
                earned += s * item.weight
                weight += item.weight
                critical_failed = critical_failed or (item.critical and s == 0)
            items[item.key] = ItemScore(score=s, max=item.weight if s is not None else 0.0)
        percent = _clamp(100 * earned / weight) if weight > 0 else None
        sections.append(SectionScore(key=section.key, percent=percent, score=earned, max=weight))
        if percent is not None:
            overall += percent * section.weight
            overall_weight += section.weight
    percent = _clamp(overall / overall_weight) if overall_weight > 0 else None
    grade = FAIL if critical_failed else grade_for(defn.grade_bands, percent)
    return Score(percent=percent, grade=grade, critical_failed=critical_failed, sections=sections, items=items)


def _override(key: str, overrides: Mapping[str, float]) -> float:
    value = overrides[key]
    if not _is_number(value) or not 0 <= value <= 1:
        raise ValueError(f"the override of {key!r} must be a number from 0 to 1, not {value!r}")
    return float(value)


def _clamp(percent: float) -> float:
    # Mathematically within [0, 100] already; this only absorbs a last-bit rounding excess.
    return min(100.0, max(0.0, percent))


def grade_for(bands: list[GradeBand], percent: float | None) -> str | None:
    if percent is None:
        return None
    best: GradeBand | None = None
    for band in bands:
        if percent + GRADE_TOLERANCE >= band.min and (best is None or band.min > best.min):
            best = band
    return best.grade if best else None


def display_percent(percent: float | None) -> str | None:
    """The percent as people read it: half-up to one decimal, so 89.95 shows as "90.0".

    Rounding starts from the shortest decimal that reads back as the same float (what repr and
    JavaScript's String print), not from its exact binary value, so 0.15 shows as 0.2 as a person expects.
    """
    if percent is None:
        return None
    return str(Decimal(repr(float(percent))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def validate_answers(defn: Definition, answers: Answers, *, submitting: bool) -> list[FieldError]:
    """Every problem with `answers` at once; `submitting` adds completeness (required, min_photos)."""
    errors: list[FieldError] = []
    by_key = {item.key: item for _, _, _, item in iter_items(defn)}
    for key, answer in answers.items():
        at = f"answers.{key}"
        item = by_key.get(key)
        if item is None:
            errors.append(FieldError(field=at, message="is not an item of this template"))
            continue
        if not isinstance(answer, Mapping) and not hasattr(answer, "value"):
            errors.append(FieldError(field=at, message="must be an object with value, note and photos"))
            continue
        value = _value(answer)
        if value is not None and (problem := value_problem(item, value)):
            errors.append(FieldError(field=f"{at}.value", message=problem))
        if not isinstance(_photos(answer), list):
            errors.append(FieldError(field=f"{at}.photos", message="must be a list of photo ids"))
    if not submitting:
        return errors

    visible = visibility(defn, answers)
    for key, item in by_key.items():
        if not visible[key]:
            continue
        answer = answers.get(key)
        value = _value(answer)
        photos = _photos(answer)
        count = len(photos) if isinstance(photos, list) else 0
        if item.type == "photo":
            answered = count > 0
        else:
            answered = value is not None and not (isinstance(value, str) and not value.strip())
        if item.required and not answered:
            field = "photos" if item.type == "photo" else "value"
            errors.append(FieldError(field=f"answers.{key}.{field}", message="is required"))
        # Evidence backs an answer: an unanswered optional item or an n.a. needs no photos.
        if answered and not (item.type == "yes_no" and value == "na") and count < item.min_photos:
            errors.append(
                FieldError(field=f"answers.{key}.photos", message=f"needs at least {item.min_photos} photo(s)")
            )
    return errors
