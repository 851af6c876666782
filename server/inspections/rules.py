"""Pure rules of an inspection: who may move it where, presence evidence, the body hash, answer rows.

No I/O here; routes and the sync service call these, and tests/test_inspections_rules.py checks them alone.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Literal

import msgspec

from server.errors import Conflict
from server.inspections.models import (
    Answer,
    InspectionDoc,
    Location,
    Presence,
    ScoreSummary,
    SectionPercent,
    Status,
    WriteStatus,
)
from server.templates.models import Definition, Item, ItemScore, Score

# The state machine ---------------------------------------------------------------------------------
#
#   (new) ──▶ draft ──▶ submitted ──reviewer──▶ approved (final)
#               ▲  │        │
#               └──┘        └──reviewer──▶ returned ──inspector──▶ draft | submitted
#
# An inspector edits while the inspection is theirs to edit (draft, returned); once submitted it is
# read-only to them until a reviewer returns it, and an approved inspection never changes again.

INSPECTOR_EDITABLE: frozenset[str] = frozenset({"draft", "returned"})
Decision = Literal["approve", "return"]


def inspector_transition(current: Status | None, requested: WriteStatus) -> WriteStatus:
    """The status after an inspector's write, or Conflict when the inspection is not theirs to edit."""
    if current is None or current in INSPECTOR_EDITABLE:
        return requested
    if current == "submitted":
        raise Conflict("this inspection has been submitted and is read-only until a reviewer returns it")
    raise Conflict("this inspection has been approved; an approved inspection cannot be changed")


def reviewer_transition(current: Status, decision: Decision) -> Status:
    """The status after a reviewer's decision; only a submitted inspection can be reviewed."""
    if current != "submitted":
        raise Conflict(f"only a submitted inspection can be reviewed; this one is {current}")
    return "approved" if decision == "approve" else "returned"


# Presence evidence ---------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG); the haversine error is well under 0.5 %


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine), accurate enough to tell 'in the station' from 'not'."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def presence(location: Location | None, station_lat: float | None, station_lon: float | None,
             radius_m: float) -> Presence:
    """Flag an inspection made without a GPS fix or farther than `radius_m` from its station.

    A station without coordinates cannot be compared with: the distance is unknown and the inspection
    is not flagged for it (the missing station coordinates are an admin's to fix, not the inspector's).
    The fix's reported accuracy is kept as evidence but not subtracted: a reviewer judges it.
    """
    if location is None:
        return Presence(distance_m=None, far_from_station=True, location_missing=True)
    if station_lat is None or station_lon is None:
        return Presence(distance_m=None, far_from_station=False, location_missing=False)
    d = distance_m(location.lat, location.lon, station_lat, station_lon)
    return Presence(distance_m=d, far_from_station=d > radius_m, location_missing=False)


# Idempotency ---------------------------------------------------------------------------------------

_ENCODER = msgspec.json.Encoder(order="sorted")


def canonical(doc: InspectionDoc) -> bytes:
    """The document as sorted, normalised JSON: equal documents give equal bytes however they were sent.

    The whole body is hashed, base_revision included: a replay carries the base of the original, so it
    matches the revision that body produced, while the same answers edited from another base do not.
    """
    return _ENCODER.encode(doc)


def body_hash(canonical_bytes: bytes) -> bytes:
    return hashlib.sha256(canonical_bytes).digest()


# Template lookup and answer rows -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """A published version's definition and, per item key, its section and item (versions never change)."""

    definition: Definition
    items: dict[str, tuple[str, Item]]


def template_info(definition: Definition) -> TemplateInfo:
    items = {item.key: (section.key, item) for section in definition.sections for item in section.items}
    return TemplateInfo(definition=definition, items=items)


@dataclass(frozen=True, slots=True)
class AnswerColumns:
    """The answers as column arrays, for one INSERT … SELECT FROM ROWS FROM (unnest(…), …) of every row.

    `values` is one JSON array (element i is answer i's value, null when unanswered): one encode here
    and one parse in PostgreSQL instead of one of each per answer. Photo lists travel as uuid[]
    literals because PostgreSQL arrays of arrays must be rectangular.
    """

    keys: list[str]
    sections: list[str]
    values: str
    notes: list[str | None]
    scores: list[float | None]
    maxes: list[float]
    critical: list[bool]
    photos: list[str]
    photo_ids: list[str]


_NO_SCORE = ItemScore(score=None, max=0.0)


def answer_columns(info: TemplateInfo, answers: dict[str, Answer], result: Score) -> AnswerColumns:
    """One row per answered item; call after validate_answers so every key is an item of the template."""
    keys = list(answers)
    places = [info.items[k] for k in keys]
    scored = [result.items.get(k, _NO_SCORE) for k in keys]
    given = answers.values()
    photos = [[str(p) for p in a.photos] for a in given]
    return AnswerColumns(
        keys=keys,
        sections=[section for section, _ in places],
        values=_ENCODER.encode([a.value for a in given]).decode(),
        notes=[a.note for a in given],
        scores=[s.score for s in scored],
        maxes=[s.max for s in scored],
        critical=[item.critical for _, item in places],
        photos=["{" + ",".join(ids) + "}" if ids else "{}" for ids in photos],
        photo_ids=list(dict.fromkeys(p for ids in photos for p in ids)),
    )


def score_summary(result: Score) -> ScoreSummary:
    return ScoreSummary(percent=result.percent, grade=result.grade, critical_failed=result.critical_failed,
                        sections=[SectionPercent(key=s.key, percent=s.percent) for s in result.sections])
