"""The template definition: the JSON an admin edits as a draft and a published version freezes (DESIGN §7).

These Structs check shape and types only. Everything that needs the whole template to judge (duplicate
keys, visible_if pointing backwards, weights, bilingual text present) is in rules.validate_definition,
which lists every problem at once so a template editor can show them all together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from server.structs import Base, Key, LocalText, Name

ItemType = Literal["yes_no", "scale", "choice", "multi_choice", "number", "text", "photo", "date"]

# The kinds of facility a template can be limited to; the same list as a station's `kind`.
StationKind = Literal["police_station", "khidmat_markaz", "driving_centre", "other"]

# A grade is printed in a table cell and a report badge, so it stays short ("A", "B+", "Good").
Grade = Annotated[str, Meta(min_length=1, max_length=20)]

# Types whose answers earn a score. text, photo and date are evidence only (DESIGN §4).
SCORED_TYPES = frozenset({"yes_no", "scale", "choice", "multi_choice", "number"})


class Option(Base):
    key: Key
    label: LocalText
    points: float


class VisibleIf(Base):
    item: Key
    # Exactly one of the two is given. A null `equals` means "not given": null is never an answer.
    equals: Any = None
    in_: list[Any] | None = msgspec.field(default=None, name="in")


class Item(Base):
    key: Key
    type: ItemType
    label: LocalText
    help: LocalText | None = None
    required: bool = False
    critical: bool = False
    weight: float = 1.0
    min_photos: int = 0
    # `max` is the top of a scale; `min`/`max` bound a number's acceptable range (either may be open).
    min: float | None = None
    max: float | None = None
    # What a number counts, in both languages ({en, ur}); a plain string (one language, as templates
    # before bilingual units had it) is still read.
    unit: LocalText | Name | None = None
    options: list[Option] | None = None
    visible_if: VisibleIf | None = None


class Section(Base):
    key: Key
    title: LocalText
    weight: float = 1.0
    items: list[Item] = msgspec.field(default_factory=list)


class GradeBand(Base):
    grade: Grade
    min: float


def _default_bands() -> list[GradeBand]:
    return [
        GradeBand(grade="A", min=90),
        GradeBand(grade="B", min=75),
        GradeBand(grade="C", min=60),
        GradeBand(grade="D", min=0),
    ]


class Definition(Base):
    title: LocalText
    grade_bands: list[GradeBand] = msgspec.field(default_factory=_default_bands)
    # None means the template applies to every kind of station.
    kinds: list[StationKind] | None = None
    sections: list[Section] = msgspec.field(default_factory=list)


# What scoring produces (DESIGN §4). These are replies, never request bodies, so they do not need Base.


class ItemScore(msgspec.Struct, kw_only=True):
    # None means the item is left out of the arithmetic; `max` is then 0, else the item's weight.
    score: float | None
    max: float


class SectionScore(msgspec.Struct, kw_only=True):
    key: str
    percent: float | None
    score: float
    max: float


class Score(msgspec.Struct, kw_only=True):
    percent: float | None
    grade: str | None
    critical_failed: bool
    sections: list[SectionScore]
    items: dict[str, ItemScore]


def decode_definition(data: bytes | str) -> Definition:
    return msgspec.json.decode(data, type=Definition)


def to_definition(obj: Any) -> Definition:
    """Convert an already-parsed JSON value (a dict from a jsonb column or a vector file)."""
    return msgspec.convert(obj, type=Definition)


def iter_items(defn: Definition) -> Iterator[tuple[int, int, Section, Item]]:
    """Yield (section index, item index, section, item) in the order an inspector meets them."""
    for s, section in enumerate(defn.sections):
        for i, item in enumerate(section.items):
            yield s, i, section, item
