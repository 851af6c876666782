"""The review body (DESIGN §7), the review history, and the reviewers' queue rows.

An override's `score` is an item score in [0, 1], the unit the scoring engine gives every item type
(yes = 1, no = 0, a scale's value / max, a choice's points / best points ...). One unit for every
type keeps an override meaningful whatever the item is, and it is exactly what scoring.score takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from server.structs import MAX_ITEMS, Base, Key

Decision = Literal["approve", "return"]
Comment = Annotated[str, Meta(max_length=4000)]
# A reason is what an auditor reads later; blank ones are refused in rules.check_review as well,
# since a string of spaces passes a length check.
Reason = Annotated[str, Meta(min_length=1, max_length=2000)]
ItemScoreValue = Annotated[float, Meta(ge=0, le=1)]
Flag = Literal[
    "far",
    "reused",
    "critical",
    "missing",
    "photos_far",
    "photos_off_time",
    "photos_unproven",
    "imprecise",
    "too_fast",
    "overlaps",
    "exact",
    "repeated",
]


class Override(Base):
    score: ItemScoreValue
    reason: Reason


class ReviewIn(Base):
    decision: Decision
    # The revision the reviewer read; anything else means the inspection changed meanwhile (409).
    revision: Annotated[int, Meta(ge=1)]
    comment: Comment = ""
    item_comments: Annotated[dict[Key, Comment], Meta(max_length=MAX_ITEMS)] = {}
    score_overrides: Annotated[dict[Key, Override], Meta(max_length=MAX_ITEMS)] = {}


class Person(msgspec.Struct, kw_only=True):
    id: UUID
    display_name: str


class OverrideOut(msgspec.Struct, kw_only=True):
    item_key: str
    # The inspector's own item score, kept; null when the inspector's answer was not scored (n.a.).
    original_score: float | None
    score: float
    reason: str
    # Set when the inspector resubmitted after this review: new answers are judged afresh.
    superseded_at: datetime | None = None


class ReviewOut(msgspec.Struct, kw_only=True):
    id: UUID
    inspection_id: UUID
    decision: Decision
    revision: int
    new_revision: int
    reviewer: Person
    comment: str
    item_comments: dict[str, str]
    overrides: list[OverrideOut]
    percent_before: float | None
    percent_after: float | None
    created_at: datetime


class PhotoJudgementOut(msgspec.Struct, kw_only=True):
    photo_id: UUID
    # Any of "far", "off_time", "unproven"; empty when the photo agrees with the visit.
    problems: list[str]
    distance_m: float | None
    # Seconds from the visit to the capture time: negative before it began, positive after it ended
    # (or after now); null when inside or unknown.
    off_by_s: float | None


class PhotoEvidence(msgspec.Struct, kw_only=True):
    """Whether the photos the answers name back the visit, judged now (server/review/evidence.py)."""

    radius_m: float
    photos: int
    photos_far: int
    photos_off_time: int
    photos_unproven: int
    location_imprecise: bool
    per_photo: list[PhotoJudgementOut]
    # The visit's own fix is exactly the station's recorded position (Flags.location_exact).
    location_exact: bool = False
    # Its fix is exactly another visit's (Flags.location_repeated), and those visits, the first twenty.
    location_repeated: bool = False
    repeated_with: list[RepeatedFix] = []


class RepeatedFix(msgspec.Struct, kw_only=True):
    """Another inspection whose GPS fix is exactly this one's (schema 0026, repeated_fix_partners)."""

    # Both null when that inspection is outside the reader's scope: neither it nor its station is named.
    inspection_id: UUID | None
    station: StationRef | None
    submitted_at: datetime | None


class OtherVisit(msgspec.Struct, kw_only=True):
    """Another inspection of the same inspector that this visit cannot have shared the day with."""

    # Both null when that inspection is outside the reader's scope: neither it nor its station is named.
    inspection_id: UUID | None
    station: StationRef | None
    started_at: datetime
    finished_at: datetime
    # The straight line between the two stations; null out of scope or without station coordinates.
    distance_km: float | None
    # The two overlap in time (else the gap between them is too short for the distance at 120 km/h).
    overlapping: bool


class VisitTiming(msgspec.Struct, kw_only=True):
    """What the inspection's own times say about the visit (server/review/timing.py, schema 0022)."""

    answered: int
    # finished_at - started_at; null when either is missing.
    seconds: float | None
    # The phone's clock was off: the times are not facts, and neither flag is raised on them.
    phone_clock_off: bool
    too_fast: bool
    # The pace under which an inspection is too fast, and the fewest answers it is judged on.
    min_seconds_per_answer: float
    min_answers: int
    overlaps: list[OtherVisit]


class ReviewList(msgspec.Struct, kw_only=True):
    rows: list[ReviewOut]
    # The photo evidence of the inspection, for the reviewer's presence card.
    evidence: PhotoEvidence | None = None
    # What its times say: too fast, or overlapping another visit of the same inspector.
    timing: VisitTiming | None = None


class ReviewResult(msgspec.Struct, kw_only=True):
    """The reply to a review: the decision recorded and the inspection's new state."""

    review: ReviewOut
    inspection_id: UUID
    status: str
    revision: int
    score_percent: float | None
    grade: str | None
    critical_failed: bool


# Queue and flagged lists ---------------------------------------------------------------------------


class LocalName(msgspec.Struct, kw_only=True):
    en: str
    ur: str


class StationRef(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: LocalName


def seen_station(row: Mapping[str, Any]) -> StationRef | None:
    """Another visit's station as a reviewer's page names it: only when its district is in the reader's
    scope (the row's `in_scope`, with its `station_id`, `code`, `name_en` and `name_ur`), else nothing."""
    if not row["in_scope"]:
        return None
    return StationRef(id=row["station_id"], code=row["code"], name=LocalName(en=row["name_en"], ur=row["name_ur"]))


class DistrictRef(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    name_ur: str


class Flags(msgspec.Struct, kw_only=True):
    far_from_station: bool
    reused_photos: bool
    critical_failed: bool
    missing_photos: bool
    # The photo evidence (server/review/evidence.py; false while an inspection is not yet judged): some
    # photos its answers name were taken farther from the station than the presence radius, outside the
    # visit's times (or in the future), or with neither a position nor a time; its own GPS fix is less
    # precise than the radius, so it does not show presence.
    photos_far: bool = False
    photos_off_time: bool = False
    photos_unproven: bool = False
    location_imprecise: bool = False
    # The visit's times (server/review/timing.py; false while not judged, or when the phone's clock
    # was off): answered faster than anyone can check the items, or overlapping another inspection of the
    # same inspector elsewhere (or too far away to travel between in the time).
    too_fast: bool = False
    overlaps_other: bool = False
    # The visit's GPS fix is the station's recorded position to the centimetre (inspections.rules
    # EXACT_STATION_FIX_M): a phone's fix never lands there by itself, so it was likely set by hand or
    # by an app. Not proof of presence.
    location_exact: bool = False
    # The visit's GPS fix, claiming to be precise, is exactly another visit's to the last digit (schema
    # 0026; false while not judged): real fixes jitter by metres, so it was likely set by hand or
    # replayed. Not proof either.
    location_repeated: bool = False


class QueueRow(msgspec.Struct, kw_only=True):
    id: UUID
    status: str
    revision: int
    station: StationRef
    district: DistrictRef
    inspector: Person
    submitted_at: datetime | None
    score_percent: float | None
    grade: str | None
    critical_failed: bool
    distance_m: float | None
    reused_photo_count: int
    photos_missing: int
    flags: Flags
    # The counts behind the photo flags, null while the inspection is not yet judged (schema 0020).
    photos_far_count: int | None = None
    photos_off_time_count: int | None = None
    photos_unproven_count: int | None = None
    accuracy_m: float | None = None
    # A reviewer's override is in force: the score shown is the reviewer's.
    score_overridden: bool = False
    # When it was made (schema 0016): the finish its phone gave, when that clock could be right, else its
    # first receipt; kept through returns. `submitted_at` is its latest arrival, days later for a phone
    # that was offline. Null only for an inspection never submitted.
    made_at: datetime | None = None


class QueuePage(msgspec.Struct, kw_only=True):
    rows: list[QueueRow]
    # Pass as `after` for the next page; null on the last one.
    next: str | None
