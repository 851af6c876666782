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

Speed: a sync scores and checks every answer of a 300-item inspection on each write, so the per-item
work avoids abstract-base-class checks (an isinstance against Mapping costs as much as the scoring
itself) and what depends only on the template (items by key, a choice's score per option) is worked
out once per Definition object and kept (_plan). Definitions are treated as immutable values: a
published version never changes, and nothing edits a decoded Definition in place.
"""

from __future__ import annotations

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
    Section,
    SectionScore,
)
from server.templates.rules import MAX_TEXT, YES_NO, is_number, is_whole, value_problem

GRADE_TOLERANCE = 1e-9
FAIL = "fail"

Answers = Mapping[str, Any]


# Whether a class is a Mapping, answered once per class: the abstract-class check is the slow part.
_MAPPING_CLASSES: dict[type, bool] = {dict: True}


def _is_mapping_class(cls: type) -> bool:
    known = _MAPPING_CLASSES.get(cls)
    if known is None:
        known = _MAPPING_CLASSES[cls] = issubclass(cls, Mapping)
    return known


def _value(answer: Any) -> Any:
    # Answers arrive as dicts from JSON or jsonb, or as Structs from a typed decode; both are read alike.
    if answer is None:
        return None
    mapping = _MAPPING_CLASSES.get(answer.__class__)
    if mapping is None:
        mapping = _is_mapping_class(answer.__class__)
    return answer.get("value") if mapping else getattr(answer, "value", None)


def _photos(answer: Any) -> Any:
    if answer is None:
        return []
    mapping = _MAPPING_CLASSES.get(answer.__class__)
    if mapping is None:
        mapping = _is_mapping_class(answer.__class__)
    return (answer.get("photos") if mapping else getattr(answer, "photos", None)) or []


_NOT_AN_ANSWER = "must be an object with value, note and photos"
# The problems a phone can meet at submit; the PWA says them again in the person's language
# (pwa/js/views/inspector/common.js, problemText), so it knows these words.
NOT_AN_ITEM = "is not an item of this template"
REQUIRED = "is required"
MIN_PHOTOS = "needs at least {count} photo(s)"


def _answer_parts(answer: Any) -> tuple[Any, Any] | None:
    """An answer's (value, photos), read once, whether it came as a dict or a Struct; None when it is
    neither (validation reports it)."""
    cls = answer.__class__
    if _is_mapping_class(cls):
        return answer.get("value"), answer.get("photos") or []
    if hasattr(answer, "value"):
        if cls not in _PLAIN_ANSWER_CLASSES and _has_fields(cls, "value", "photos"):
            _PLAIN_ANSWER_CLASSES.add(cls)
        return answer.value, getattr(answer, "photos", None) or []
    return None


# Classes whose every instance has `value` and `photos` (msgspec Structs declaring both fields), found
# by _answer_parts; check_and_score reads their two attributes without a call per answer.
_PLAIN_ANSWER_CLASSES: set[type] = set()


def _has_fields(cls: type, *names: str) -> bool:
    fields = getattr(cls, "__struct_fields__", ())
    return all(name in fields for name in names)


def _same(a: Any, b: Any) -> bool:
    # Python holds True == 1 and JavaScript does not; comparing like kinds only keeps the two scorers agreed.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a) and is_number(b):
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
    for key, item, _, conditional, _ in _plan(defn).entries:
        visible[key] = is_visible(item, answers, visible) if conditional else True
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
    return _value_score(item, value)


_YES_NO_SCORE = {"yes": 1.0, "no": 0.0}


def _value_score(item: Item, value: Any) -> float | None:
    """item_score for a scored item and a value that is not None."""
    kind = item.type
    if kind == "yes_no":
        return _YES_NO_SCORE.get(value) if isinstance(value, str) else None
    if kind == "scale":
        top = item.max or 0
        if top >= 1 and is_whole(value) and 0 <= value <= top:
            return value / top
        return None
    if kind == "number":
        if not is_number(value):
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


class _Plan:
    """What scoring and checking need from a definition, worked out once per Definition object.

    `entries` holds, per item in the order an inspector meets them, (key, item, scored, conditional,
    choice): `choice` maps each option key of a choice item to its score, max(0, points / best), the
    very division item_score makes (an empty table when no option earns points); for a yes/no item it
    is the yes/no table, which _value_score reads the same way; None otherwise.
    """

    __slots__ = ("by_key", "choice_keys", "definition", "entries", "sections")

    def __init__(self, defn: Definition) -> None:
        self.definition = defn
        self.sections: list[tuple[Section, list[_Entry]]] = []
        self.entries: list[_Entry] = []
        self.by_key: dict[str, Item] = {}
        self.choice_keys: dict[str, frozenset[str]] = {}
        for section in defn.sections:
            entries = []
            for item in section.items:
                choice: dict[str, float] | None = None
                if item.type == "choice":
                    options = item.options or []
                    best = max((o.points for o in options), default=0.0)
                    choice = {}
                    if best > 0:
                        for o in options:
                            choice.setdefault(o.key, max(0.0, o.points / best))
                    self.choice_keys[item.key] = frozenset(o.key for o in options)
                elif item.type == "yes_no":
                    choice = _YES_NO_SCORE
                entries.append((item.key, item, is_scored(item), item.visible_if is not None, choice))
                self.by_key[item.key] = item
            self.sections.append((section, entries))
            self.entries.extend(entries)


_Entry = tuple[str, Item, bool, bool, "dict[str, float] | None"]
_PLANS: dict[int, _Plan] = {}
_PLANS_MAX = 32


def _plan(defn: Definition) -> _Plan:
    # Keyed by identity; the plan holds its definition, so an id is never reused while cached.
    plan = _PLANS.get(id(defn))
    if plan is None or plan.definition is not defn:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[id(defn)] = _Plan(defn)
    return plan


def _entry_score(item: Item, choice: Mapping[str, float] | None, value: Any) -> float | None:
    """item_score of a shown, scored item whose value is not None; `choice` is its option table, if any."""
    if choice is None:
        return _value_score(item, value)
    return choice.get(value) if isinstance(value, str) else None


def _close_section(section: Section, earned: float, weight: float, sections: list[SectionScore]) -> float | None:
    """Append the section's score; returns its percent (None when nothing in it was scored)."""
    percent = _clamp(100 * earned / weight) if weight > 0 else None
    sections.append(SectionScore(key=section.key, percent=percent, score=earned, max=weight))
    return percent


def _total(
    defn: Definition,
    overall: float,
    overall_weight: float,
    critical_failed: bool,
    sections: list[SectionScore],
    items: dict[str, ItemScore],
) -> Score:
    percent = _clamp(overall / overall_weight) if overall_weight > 0 else None
    grade = FAIL if critical_failed else grade_for(defn.grade_bands, percent)
    return Score(percent=percent, grade=grade, critical_failed=critical_failed, sections=sections, items=items)


def score(defn: Definition, answers: Answers | None, overrides: Mapping[str, float] | None = None) -> Score:
    """Score an inspection. `overrides` maps item keys to reviewer scores in [0, 1]."""
    answers = answers or {}
    overrides = overrides or {}
    get = answers.get
    visible: dict[str, bool] = {}
    items: dict[str, ItemScore] = {}
    sections: list[SectionScore] = []
    critical_failed = False
    overall = 0.0
    overall_weight = 0.0
    for section, entries in _plan(defn).sections:
        earned = 0.0
        weight = 0.0
        for key, item, scored, conditional, choice in entries:
            shown = visible[key] = is_visible(item, answers, visible) if conditional else True
            s: float | None = None
            if shown and scored:
                if key in overrides:
                    s = _override(key, overrides)
                else:
                    # item_score, with the value read once and a choice looked up in its table.
                    value = _value(get(key))
                    if value is not None:
                        s = _entry_score(item, choice, value)
            if s is not None:
                earned += s * item.weight
                weight += item.weight
                critical_failed = critical_failed or (item.critical and s == 0)
            items[key] = ItemScore(score=s, max=item.weight if s is not None else 0.0)
        percent = _close_section(section, earned, weight, sections)
        if percent is not None:
            overall += percent * section.weight
            overall_weight += section.weight
    return _total(defn, overall, overall_weight, critical_failed, sections, items)


def _override(key: str, overrides: Mapping[str, float]) -> float:
    value = overrides[key]
    if not is_number(value) or not 0 <= value <= 1:
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

    A float carries the error of the sums that made it: 63.75 % (3 of 4 at weight 1 and 3 of 5 at
    weight 3) comes out as 63.74999999999999, and 0.15 is stored a hair below 0.15. The value is
    first rounded to nine decimals (the tolerance grade bands allow, far finer than any score a
    checklist can give), which takes that error away, and then half-up to one: 63.8, 0.2, as a person
    working it out by hand gets. JavaScript's displayPercent rounds the same two steps (toFixed(9)).
    """
    if percent is None:
        return None
    nine = Decimal(float(percent)).quantize(_NINE_DECIMALS, rounding=ROUND_HALF_UP)
    return str(nine.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


_NINE_DECIMALS = Decimal("1e-9")


def validate_answers(defn: Definition, answers: Answers, *, submitting: bool) -> list[FieldError]:
    """Every problem with `answers` at once; `submitting` adds completeness (required, min_photos)."""
    errors: list[FieldError] = []
    plan = _plan(defn)
    by_key = plan.by_key
    plain = _PLAIN_ANSWER_CLASSES
    for key, answer in answers.items():
        item = by_key.get(key)
        if item is None:
            errors.append(FieldError(field=f"answers.{key}", message=NOT_AN_ITEM))
            continue
        # A typed decode gives Structs with both attributes: read them directly, as _answer_parts would.
        parts = (answer.value, answer.photos or []) if answer.__class__ in plain else _answer_parts(answer)
        if parts is None:
            errors.append(FieldError(field=f"answers.{key}", message=_NOT_AN_ANSWER))
            continue
        value, photos = parts
        if value is not None and not _plainly_valid(plan, item, value) and (problem := value_problem(item, value)):
            errors.append(FieldError(field=f"answers.{key}.value", message=problem))
        if photos.__class__ is not list and not isinstance(photos, list):
            errors.append(FieldError(field=f"answers.{key}.photos", message="must be a list of photo ids"))
    if not submitting:
        return errors

    visible = visibility(defn, answers)
    get = answers.get
    for key, item in by_key.items():
        if not visible[key]:
            continue
        answer = get(key)
        value = _value(answer)
        photos = _photos(answer)
        _completeness(key, item, value, len(photos) if isinstance(photos, list) else 0, errors)
    return errors


def _completeness(key: str, item: Item, value: Any, count: int, errors: list[FieldError]) -> None:
    """A shown item's completeness at submit: answered if required, and its minimum of photos."""
    if item.type == "photo":
        answered = count > 0
    else:
        answered = value is not None and not (isinstance(value, str) and not value.strip())
    if item.required and not answered:
        field = "photos" if item.type == "photo" else "value"
        errors.append(FieldError(field=f"answers.{key}.{field}", message=REQUIRED))
    # Evidence backs an answer: an unanswered optional item or an n.a. needs no photos.
    if answered and not (item.type == "yes_no" and value == "na") and count < item.min_photos:
        errors.append(FieldError(field=f"answers.{key}.photos", message=MIN_PHOTOS.format(count=item.min_photos)))


def check_and_score(defn: Definition, answers: Answers, *, submitting: bool) -> tuple[list[FieldError], Score | None]:
    """validate_answers and, when it finds nothing wrong, score: ([], the score) or (the problems, None).

    The same results as calling the two in turn (tests/test_scoring.py holds them equal), with each
    answer read once and one walk over the items for visibility, completeness and the score: this is
    what a sync runs on every write.
    """
    plan = _plan(defn)
    if len(plan.by_key) != len(plan.entries):  # a key used twice: only the two plain walks say what they say
        problems = validate_answers(defn, answers, submitting=submitting)
        return problems, None if problems else score(defn, answers)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    counts: dict[str, int] = {}
    by_key = plan.by_key
    plain = _PLAIN_ANSWER_CLASSES
    for key, answer in answers.items():
        item = by_key.get(key)
        if item is None:
            errors.append(FieldError(field=f"answers.{key}", message=NOT_AN_ITEM))
            continue
        # A typed decode gives Structs with both attributes: read them directly, as _answer_parts would.
        parts = (answer.value, answer.photos or []) if answer.__class__ in plain else _answer_parts(answer)
        if parts is None:
            errors.append(FieldError(field=f"answers.{key}", message=_NOT_AN_ANSWER))
            values[key] = _value(answer)
            photos = _photos(answer)
            counts[key] = len(photos) if isinstance(photos, list) else 0
            continue
        value, photos = parts
        values[key] = value
        if value is not None and not _plainly_valid(plan, item, value) and (problem := value_problem(item, value)):
            errors.append(FieldError(field=f"answers.{key}.value", message=problem))
        if photos.__class__ is list or isinstance(photos, list):
            if submitting:
                counts[key] = len(photos)
        else:
            errors.append(FieldError(field=f"answers.{key}.photos", message="must be a list of photo ids"))

    value_of = values.get
    count_of = counts.get
    visible: dict[str, bool] = {}
    items: dict[str, ItemScore] = {}
    sections: list[SectionScore] = []
    critical_failed = False
    overall = 0.0
    overall_weight = 0.0
    for section, entries in plan.sections:
        earned = 0.0
        weight = 0.0
        for key, item, scored, conditional, choice in entries:
            shown = visible[key] = is_visible(item, answers, visible) if conditional else True
            value = value_of(key)
            if submitting and shown:
                _completeness(key, item, value, count_of(key, 0), errors)
            # score's arithmetic, unchanged.
            s: float | None = None
            if shown and scored and value is not None:
                # _entry_score, inlined: this loop runs once per answer of every sync.
                if choice is None:
                    s = _value_score(item, value)
                elif isinstance(value, str):
                    s = choice.get(value)
            if s is not None:
                earned += s * item.weight
                weight += item.weight
                critical_failed = critical_failed or (item.critical and s == 0)
            items[key] = ItemScore(score=s, max=item.weight if s is not None else 0.0)
        percent = _close_section(section, earned, weight, sections)
        if percent is not None:
            overall += percent * section.weight
            overall_weight += section.weight
    if errors:
        return errors, None
    return [], _total(defn, overall, overall_weight, critical_failed, sections, items)


def _plainly_valid(plan: _Plan, item: Item, value: Any) -> bool:
    """True only when value_problem would find nothing: the common answers, checked without building
    a message. Anything else goes to value_problem, which has the last word."""
    kind = item.type
    cls = value.__class__
    if kind == "yes_no":
        return cls is str and value in YES_NO
    if kind == "choice":
        return cls is str and value in plan.choice_keys[item.key]
    if kind == "number":
        return (cls is int or cls is float) and is_number(value)
    if kind == "scale":
        # value_problem accepts a whole number from 0 to the top (or to 0 when the scale has none).
        return cls is int and 0 <= value <= (item.max if item.max is not None else 0)
    if kind == "text":
        return cls is str and len(value) <= MAX_TEXT
    return False
