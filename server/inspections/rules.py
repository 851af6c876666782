"""Pure rules of an inspection: who may move it where, presence evidence, the body hash, answer rows.

No I/O here; routes and the sync service call these, and tests/test_inspections_rules.py checks them alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.errors import Conflict, FieldError
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
from server.structs import IMPLAUSIBLE_MOMENT, PHONE_CLOCK_AHEAD_MINUTES, PHONE_CLOCK_DAYS, plausible_moment
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

# A fix closer than this to the station's recorded position is that position itself, not a reading: a
# phone's GPS jitters by metres and practically never lands within a centimetre of a surveyed point, but
# a fake-GPS app set to the coordinates the phone's bundle carries does. A sign for the reviewer, not
# proof of presence (the queue's `location_exact`; the flagged list's SQL is built from it).
EXACT_STATION_FIX_M = 0.01


def exact_station_fix(distance: float | None) -> bool:
    return distance is not None and distance < EXACT_STATION_FIX_M


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine), accurate enough to tell 'in the station' from 'not'."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def presence(
    location: Location | None, station_lat: float | None, station_lon: float | None, radius_m: float
) -> Presence:
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


# A phone's clock may step back while an inspection is made: a network time correction moves it by
# seconds, rarely by more than a minute. A finish up to this long before the start is such a step
# (phone_clock_off still tells the reviewer); a finish further back is refused as impossible.
CLOCK_STEP_BACK = timedelta(minutes=5)
FINISH_BEFORE_START = "must not be before started_at: an inspection cannot finish before it started"
_HELD = timedelta(days=PHONE_CLOCK_DAYS)
_AHEAD = timedelta(minutes=PHONE_CLOCK_AHEAD_MINUTES)


def time_problems(doc: InspectionDoc, received: datetime) -> list[FieldError]:
    """started_at and finished_at outside what the app stores (server.structs.plausible_moment), or a
    finish before the start (beyond CLOCK_STEP_BACK) of a document the server receives at `received`.

    Refused only when both are times a phone's clock could rightly tell (server.structs.phone_time:
    from PHONE_CLOCK_DAYS before `received` to PHONE_CLOCK_AHEAD_MINUTES after). One outside says the clock
    was wrong at that moment (set ahead, or reset to 1970) and right at the other: the finish before
    the start is that clock set right, or reset, meanwhile. Refused, such an inspection could not be
    sent until the wrong time had passed; it is kept, and every reader is told that its phone's clock
    was wrong (structs.phone_clock_off), as for any time the server cannot believe.
    """
    problems = [
        FieldError(field=name, message=IMPLAUSIBLE_MOMENT)
        for name, moment in (("started_at", doc.started_at), ("finished_at", doc.finished_at))
        if moment is not None and not plausible_moment(moment)
    ]
    started, finished = doc.started_at, doc.finished_at
    if (
        not problems
        and started is not None
        and finished is not None
        and finished < started - CLOCK_STEP_BACK
        and received - _HELD <= finished
        and started <= received + _AHEAD
    ):
        problems.append(FieldError(field="finished_at", message=FINISH_BEFORE_START))
    return problems


PLACE_FIXED = (
    "cannot change once the inspection has been submitted: it is where the inspection was made; "
    "start a new inspection for a new visit"
)


def place_problems(sent: Location | None, stored: Location | None, submitted_once: bool) -> list[FieldError]:
    """A location other than the stored one, once the inspection has been submitted (it may be returned or
    a draft again now). Its presence evidence was judged on that place: recomputed from a corrected
    copy's, a "far from station" flag would go without a trace outside the revisions. A draft never
    submitted may still get or change its fix; the same place sent again is no change."""
    if submitted_once and sent != stored:
        return [FieldError(field="location", message=PLACE_FIXED)]
    return []


# Idempotency ---------------------------------------------------------------------------------------

_ENCODER = msgspec.json.Encoder(order="sorted")


def canonical(doc: InspectionDoc | dict) -> bytes:
    """The document as sorted, normalised JSON: equal documents give equal bytes however they were sent.

    A stored document (its canonical text, decoded as plain JSON) gives back the bytes it was stored
    as: the audit's record check (server/audit/records.py) hashes revisions so, whatever shape the
    document has today.

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
    given = list(answers.values())
    places = [info.items[k] for k in keys]
    scored = result.items
    scores = [scored.get(k, _NO_SCORE) for k in keys]
    photos: list[str] = []
    photo_ids: dict[str, None] = {}
    for a in given:
        # Most answers carry no photo: one literal for them, no list built per answer.
        if a.photos:
            ids = [str(p) for p in a.photos]
            photos.append("{" + ",".join(ids) + "}")
            photo_ids.update(dict.fromkeys(ids))
        else:
            photos.append("{}")
    return AnswerColumns(
        keys=keys,
        sections=[section for section, _ in places],
        values=_ENCODER.encode([a.value for a in given]).decode(),
        notes=[a.note for a in given],
        scores=[s.score for s in scores],
        maxes=[s.max for s in scores],
        critical=[item.critical for _, item in places],
        photos=photos,
        photo_ids=list(photo_ids),
    )


def score_summary(result: Score) -> ScoreSummary:
    return ScoreSummary(
        percent=result.percent,
        grade=result.grade,
        critical_failed=result.critical_failed,
        sections=[SectionPercent(key=s.key, percent=s.percent) for s in result.sections],
    )


# A reply in three encoded parts ----------------------------------------------------------------------
#
# InspectionOut lists the fields the document decides (started_at .. answers) between the stored row's
# fields, so a reply is the row's head, the document's part and the row's tail, encoded apart and joined.
# The joined bytes are exactly msgspec's encoding of the whole InspectionOut (tests/test_sync_hot_path.py
# holds the two equal): the document's part, most of the bytes, can then be kept encoded and reused.


class _ReplyHead(msgspec.Struct):
    id: UUID
    inspector_id: UUID
    station_id: UUID
    template_version_id: UUID
    revision: int
    status: Status


class _DocumentPart(msgspec.Struct):
    started_at: datetime | None
    finished_at: datetime | None
    location: Location | None
    answers: dict[str, Answer]


class _ReplyTail(msgspec.Struct):
    score: ScoreSummary | None
    missing_photos: list[UUID]
    presence: Presence
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    review: dict[str, Any] | None = None
    phone_clock_off: bool | None = None


_REPLY_ENCODER = msgspec.json.Encoder()


def document_part(doc: InspectionDoc) -> bytes:
    """The document's fields of the reply, encoded, without the enclosing braces."""
    return _REPLY_ENCODER.encode(_DocumentPart(doc.started_at, doc.finished_at, doc.location, doc.answers))[1:-1]


def spliced_reply(row: Mapping[str, Any], part: bytes) -> bytes:
    """The encoded reply for a stored inspection (a row with the reply columns) and its document part."""
    head = _ReplyHead(
        row["id"], row["inspector_id"], row["station_id"], row["template_version_id"], row["revision"], row["status"]
    )
    tail = _ReplyTail(
        msgspec.convert(row["score"], ScoreSummary) if row["score"] is not None else None,
        list(row["missing_photos"]),
        Presence(
            distance_m=row["distance_m"],
            far_from_station=row["far_from_station"],
            location_missing=row["location_missing"],
        ),
        row["created_at"],
        row["updated_at"],
        row["submitted_at"],
    )
    return _REPLY_ENCODER.encode(head)[:-1] + b"," + part + b"," + _REPLY_ENCODER.encode(tail)[1:]
