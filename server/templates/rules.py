"""Whole-template checks that the Structs cannot express, and the check of one answer value.

validate_definition never stops at the first problem: an admin fixing a template in the editor should
see every mistake in one round trip, each pinned to a JSON-path-like field such as
`sections[1].items[3].options`.

Decisions other code relies on:
- Section and item weights must be finite and greater than zero. A zero weight would leave an item in
  the form but out of the arithmetic, which nobody reading the template would guess; an item that
  should not count belongs in a text, photo or date item instead.
- choice and multi_choice need an option worth more than zero points, because their score divides by
  the best (or the positive total) points.
- A number item with neither `min` nor `max` is information only (a count of detainees, say): it has
  no acceptable range to be inside, so scoring leaves it out like text.
- `critical` is refused where an item can never fail: text, photo, date, unbounded number items, and a
  choice whose every option earns points.
- The grade "fail" is reserved for a critical failure, so no band may be called that.
- A template asks no more of an inspection than an inspection document can carry: at most MAX_ITEMS
  items, none needing more than MAX_PHOTOS_PER_ITEM photos. Otherwise it would publish and no
  inspection of it could ever be submitted.
- A text is blank when it holds nothing a reader sees: besides spaces, characters that take no space
  (zero-width spaces and joiners, direction marks, the byte-order mark) do not make a label.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import msgspec

from server.errors import FieldError
from server.structs import MAX_ITEMS, MAX_PHOTOS_PER_ITEM
from server.templates.models import Definition, Item, LocalText

# Each check reports through this, so that it can go on and find the next problem.
Report = Callable[[str, str], None]

MAX_TEXT = 5000
YES_NO = ("yes", "no", "na")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def unusable_at(archived: bool, kinds: list[str] | None, station_kind: str | None) -> str | None:
    """Why a template cannot be used at a station of `station_kind` (an assignment's template, a
    corrective action's checklist), or None: archived, or its newest version is for other kinds
    (`kinds` None: every kind, or the station is not known)."""
    if archived:
        return "the template is archived"
    if kinds is not None and station_kind is not None and station_kind not in kinds:
        return f"the template is for {', '.join(kinds)}, and this station is a {station_kind}"
    return None


def validate_definition(defn: Definition) -> list[FieldError]:
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    _check_text(defn.title, "title", err)
    _check_bands(defn, err)
    if defn.kinds is not None:
        if not defn.kinds:
            err("kinds", "must name at least one kind of station, or be left out to mean every kind")
        for k, kind in enumerate(defn.kinds):
            if kind in defn.kinds[:k]:
                err(f"kinds[{k}]", f"'{kind}' is listed twice")
    if not defn.sections:
        err("sections", "a template needs at least one section")
    elif sum(len(section.items) for section in defn.sections) > MAX_ITEMS:
        err("sections", f"a template may have at most {MAX_ITEMS} items")

    section_keys: set[str] = set()
    earlier: dict[str, Item] = {}  # items already met, in the order the inspector meets them
    seen_items: set[str] = set()
    for s, section in enumerate(defn.sections):
        at = f"sections[{s}]"
        if section.key in section_keys:
            err(f"{at}.key", f"the section key '{section.key}' is used twice")
        section_keys.add(section.key)
        _check_text(section.title, f"{at}.title", err)
        _check_weight(section.weight, f"{at}.weight", err)
        if not section.items:
            err(f"{at}.items", "a section needs at least one item")
        for i, item in enumerate(section.items):
            item_at = f"{at}.items[{i}]"
            if item.key in seen_items:
                err(f"{item_at}.key", f"the item key '{item.key}' is used twice in this template")
            seen_items.add(item.key)
            _check_item(item, item_at, err)
            _check_visible_if(item, item_at, earlier, err)
            earlier.setdefault(item.key, item)
    return errors


def _check_text(text: LocalText, at: str, err: Report) -> None:
    for lang in ("en", "ur"):
        if is_blank(getattr(text, lang)):
            err(f"{at}.{lang}", "must not be blank")


def visible(text: str) -> str:
    """`text` as a reader sees it: without format characters (see is_blank), trimmed."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only white space and format characters (Unicode category Cf, which
    holds U+200B to U+200F, U+202A to U+202E, U+2060, U+FEFF and the Arabic letter mark). str.strip()
    keeps the latter, and a label of them alone looks empty on every screen."""
    return not visible(text)


def _check_weight(weight: float, at: str, err: Report) -> None:
    if not math.isfinite(weight) or weight <= 0:
        err(at, "must be greater than 0")


def _check_bands(defn: Definition, err: Report) -> None:
    bands = defn.grade_bands
    if not bands:
        err("grade_bands", "a template needs at least one grade band")
        return
    names: set[str] = set()
    for b, band in enumerate(bands):
        at = f"grade_bands[{b}]"
        name = band.grade.strip()
        if is_blank(name):
            err(f"{at}.grade", "must not be blank")
        elif visible(name).casefold() == "fail":
            err(f"{at}.grade", "'fail' is reserved for a critical failure")
        elif name.casefold() in names:
            err(f"{at}.grade", f"the grade '{name}' is used twice")
        names.add(name.casefold())
        if not math.isfinite(band.min) or not 0 <= band.min <= 100:
            err(f"{at}.min", "must be between 0 and 100")
        elif b and band.min >= bands[b - 1].min:
            err(f"{at}.min", "bands must be listed from the highest minimum down, each lower than the one before")
    if not any(band.min == 0 for band in bands):
        err("grade_bands", "one band must start at 0 so that every percent has a grade")


def _check_item(item: Item, at: str, err: Report) -> None:
    _check_text(item.label, f"{at}.label", err)
    if item.help is not None:
        _check_text(item.help, f"{at}.help", err)
    _check_weight(item.weight, f"{at}.weight", err)
    if item.min_photos < 0:
        err(f"{at}.min_photos", "must not be negative")
    elif item.min_photos > MAX_PHOTOS_PER_ITEM:
        err(f"{at}.min_photos", f"must be at most {MAX_PHOTOS_PER_ITEM}")

    kind = item.type
    choice = kind in ("choice", "multi_choice")
    if item.min is not None and kind != "number":
        err(f"{at}.min", "only number items have a minimum")
    if item.max is not None and kind not in ("number", "scale"):
        err(f"{at}.max", "only number and scale items have a maximum")
    if item.unit is not None and kind != "number":
        err(f"{at}.unit", "only number items have a unit")
    if isinstance(item.unit, LocalText):
        _check_text(item.unit, f"{at}.unit", err)
    elif item.unit is not None and item.unit.strip() == "[object Object]":
        # What an admin page loaded before units were bilingual writes for an {en, ur} unit: refused
        # rather than stored as the word a phone would show.
        err(f"{at}.unit", "is not a unit this page can write; reload the page and give it in English and Urdu")
    if item.options is not None and not choice:
        err(f"{at}.options", "only choice and multi_choice items have options")

    if kind == "scale" and (item.max is None or not is_whole(item.max) or item.max < 1):
        err(f"{at}.max", "a scale needs a whole-number maximum of at least 1")
    if kind == "number":
        for bound in ("min", "max"):
            value = getattr(item, bound)
            if value is not None and not math.isfinite(value):
                err(f"{at}.{bound}", "must be a finite number")
        if item.min is not None and item.max is not None and item.min > item.max:
            err(f"{at}.min", "must not be greater than max")
    if choice:
        _check_options(item, at, err)

    cannot_fail = (
        kind in ("text", "photo", "date")
        or (kind == "number" and item.min is None and item.max is None)
        or (kind == "choice" and bool(item.options) and all(o.points > 0 for o in item.options))
    )
    if item.critical and cannot_fail:
        err(f"{at}.critical", "this item can never fail, so it cannot be critical")


def _check_options(item: Item, at: str, err: Report) -> None:
    options = item.options or []
    if not options:
        err(f"{at}.options", f"a {item.type} item needs at least one option")
        return
    keys: set[str] = set()
    for o, option in enumerate(options):
        if option.key in keys:
            err(f"{at}.options[{o}].key", f"the option key '{option.key}' is used twice")
        keys.add(option.key)
        _check_text(option.label, f"{at}.options[{o}].label", err)
        if not math.isfinite(option.points):
            err(f"{at}.options[{o}].points", "must be a finite number")
    if not any(math.isfinite(o.points) and o.points > 0 for o in options):
        err(f"{at}.options", "at least one option must be worth more than 0 points")


def _check_visible_if(item: Item, at: str, earlier: dict[str, Item], err: Report) -> None:
    cond = item.visible_if
    if cond is None:
        return
    at = f"{at}.visible_if"
    if cond.item == item.key:
        err(f"{at}.item", "an item cannot depend on its own answer")
        return
    parent = earlier.get(cond.item)
    if parent is None:
        err(f"{at}.item", f"'{cond.item}' must be an item that comes earlier in the template")
        return
    if parent.type == "photo":
        err(f"{at}.item", "a photo item has no answer to depend on")
        return
    if (cond.equals is None) == (cond.in_ is None):
        err(at, "give exactly one of 'equals' or 'in'")
        return
    if cond.in_ is not None and not cond.in_:
        err(f"{at}.in", "must list at least one answer")
    checks = [("equals", cond.equals)] if cond.in_ is None else [(f"in[{k}]", v) for k, v in enumerate(cond.in_)]
    # A multi_choice answer is a list, but the condition names one option that must be among those chosen.
    as_parent = parent if parent.type != "multi_choice" else _as_choice(parent)
    for where, value in checks:
        problem = value_problem(as_parent, value)
        if problem:
            err(f"{at}.{where}", f"is not a possible answer of '{parent.key}': {problem}")


def _as_choice(item: Item) -> Item:
    return msgspec.structs.replace(item, type="choice")


def is_whole(x: Any) -> bool:
    return is_number(x) and float(x).is_integer()


def is_number(x: Any) -> bool:
    """A finite number, as the phone's JavaScript reads it too. JSON decodes integers of any length,
    and one too long for a double is Infinity there, so it is no number here either (math.isfinite
    would raise on it)."""
    if x.__class__ is float:
        return math.isfinite(x)
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def value_problem(item: Item, value: Any) -> str | None:
    """Say what is wrong with `value` as an answer to `item`, or None when it is a valid answer.

    A value outside a number item's acceptable range is valid: it is an answer that scores 0.
    """
    kind = item.type
    if kind == "yes_no":
        return None if value in YES_NO and isinstance(value, str) else "must be 'yes', 'no' or 'na'"
    if kind == "scale":
        top = item.max if item.max is not None else 0
        # A whole float such as 3.0 is accepted because JavaScript cannot tell it from 3.
        if is_whole(value) and 0 <= value <= top:
            return None
        return f"must be a whole number from 0 to {top:g}"
    if kind == "number":
        return None if is_number(value) else "must be a number"
    if kind == "choice":
        keys = [o.key for o in item.options or []]
        return None if isinstance(value, str) and value in keys else f"must be one of: {', '.join(keys)}"
    if kind == "multi_choice":
        keys = [o.key for o in item.options or []]
        if not isinstance(value, list) or not all(isinstance(v, str) and v in keys for v in value):
            return f"must be a list of options from: {', '.join(keys)}"
        return None if len(set(value)) == len(value) else "must not choose an option twice"
    if kind == "text":
        if not isinstance(value, str):
            return "must be text"
        return None if len(value) <= MAX_TEXT else f"must be at most {MAX_TEXT} characters"
    if kind == "date":
        return None if _is_date(value) else "must be a date written YYYY-MM-DD"
    if kind == "photo":
        return None if value is None else "a photo item takes photos, not a value"
    return f"unknown item type '{kind}'"


def _is_date(value: Any) -> bool:
    # The regular expression comes first because fromisoformat also accepts forms such as 20261127.
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
