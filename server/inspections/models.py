"""The inspection document a phone sends (DESIGN §7) and what the server answers.

The document carries only what the inspector decides. Everything the server decides (score, revision,
inspector, review status) is absent from `InspectionDoc`, and Base rejects unknown fields, so a client
cannot smuggle those in (mass assignment): `"score": ...` or `"inspector_id": ...` is a 422, and
`status` takes only "draft" or "submitted".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from server.structs import MAX_ITEMS, MAX_PHOTOS_PER_ITEM, Base

Status = Literal["draft", "submitted", "returned", "approved"]
# What an inspector may ask for; "returned" and "approved" are a reviewer's decisions.
WriteStatus = Literal["draft", "submitted"]

Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
# A phone reports its fix's accuracy in metres; anything beyond 100 km is not a fix.
Accuracy = Annotated[float, Meta(ge=0, le=100_000)]
# Times must carry their offset: a naive time from a phone in an unknown zone is not evidence.
Moment = Annotated[datetime, Meta(tz=True)]
Note = Annotated[str, Meta(max_length=4000)]
# Generous for evidence of one item, small enough that one answer cannot reference a whole album.
PhotoIds = Annotated[list[UUID], Meta(max_length=MAX_PHOTOS_PER_ITEM)]
ItemKey = Annotated[str, Meta(min_length=1, max_length=64)]


class Location(Base):
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy | None = None


class Answer(Base):
    # The value's type depends on the item (DESIGN §7), so it is checked against the pinned template
    # by scoring.validate_answers, which names the item in its error; here any JSON value decodes.
    value: Any = None
    note: Note | None = None
    photos: PhotoIds = []


class InspectionDoc(Base):
    station_id: UUID
    template_version_id: UUID
    # The revision this document was edited from: 0 for a new inspection. Revisions are PostgreSQL
    # integers and the write makes base + 1, so the top is one below integer's.
    base_revision: Annotated[int, Meta(ge=0, le=2**31 - 2)]
    status: WriteStatus
    started_at: Moment | None = None
    finished_at: Moment | None = None
    location: Location | None = None
    # Keys are checked against the pinned template by validate_answers (an unknown key is named there);
    # a pattern here would repeat that check, a regular expression per answer, on every replay too.
    answers: Annotated[dict[ItemKey, Answer], Meta(max_length=MAX_ITEMS)] = {}


# Replies -----------------------------------------------------------------------------------------


class SectionPercent(msgspec.Struct, kw_only=True):
    key: str
    percent: float | None


class ScoreSummary(msgspec.Struct, kw_only=True):
    percent: float | None
    grade: str | None
    critical_failed: bool
    sections: list[SectionPercent]


class Presence(msgspec.Struct, kw_only=True):
    """Was the inspector at the station? Distance from the inspection's GPS fix to the station."""

    distance_m: float | None
    # True when farther than the configured radius, or when the inspection has no location at all.
    far_from_station: bool
    location_missing: bool


class InspectionOut(msgspec.Struct, kw_only=True):
    id: UUID
    inspector_id: UUID
    station_id: UUID
    template_version_id: UUID
    revision: int
    status: Status
    started_at: datetime | None
    finished_at: datetime | None
    location: Location | None
    answers: dict[str, Answer]
    score: ScoreSummary | None
    # Photo ids the answers reference that the server has not stored yet: the inspection is
    # complete only when this is empty (DESIGN §9).
    missing_photos: list[UUID]
    presence: Presence
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    # The latest review, null before any: {id, decision, revision, new_revision, reviewer: {id,
    # display_name}, comment, item_comments, at, score_overridden, overrides}, shaped by the review
    # capability (review.queries.latest_review, the same as the sync bundle's `returned`). Carried by
    # GET /inspections/{id}, the 409's `server_copy` and the review 409's `inspection`. Always null in
    # the PUT's 200/201 reply: that acknowledges the device's document (replays are answered from its
    # bytes in one statement), and the phone has the review from the bundle. List rows carry none.
    review: dict[str, Any] | None = None
    # Whether the start and finish the phone told cannot both be right (its clock was wrong:
    # structs.phone_clock_off), for a reader not to take them as fact. Carried by GET /inspections/{id}
    # and the 409s' copies; null in the PUT's reply and the bundle (the phone knows its own clock).
    phone_clock_off: bool | None = None


class InspectionSummary(msgspec.Struct, kw_only=True):
    """A list row: no answers and no review (GET /inspections/{id} has both), enough to triage a queue."""

    id: UUID
    station_id: UUID
    station_code: str
    station_name: dict[str, str]
    inspector_id: UUID
    inspector_name: str
    template_version_id: UUID
    status: Status
    revision: int
    score_percent: float | None
    grade: str | None
    critical_failed: bool
    # A reviewer's override is in force: the score shown is the reviewer's.
    score_overridden: bool = False
    photos_expected: int
    photos_missing: int
    far_from_station: bool
    distance_m: float | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None


class InspectionPage(msgspec.Struct, kw_only=True):
    items: list[InspectionSummary]
    # Pass as `before` to get the next (older) page; null on the last page.
    next_before: str | None


class RevisionOut(msgspec.Struct, kw_only=True):
    revision: int
    status: Status
    actor_id: UUID | None
    actor: str | None
    at: datetime
    document: dict[str, Any] | None  # null when asked for without documents


class ConflictOut(msgspec.Struct, kw_only=True):
    """A body the server refused with 409, kept so that nothing a device sent is lost."""

    id: int
    reason: Literal["stale", "read_only"]
    base_revision: int
    server_revision: int
    actor_id: UUID | None
    actor: str | None
    at: datetime
    document: dict[str, Any] | None  # null when asked for without documents


class HistoryOut(msgspec.Struct, kw_only=True):
    revisions: list[RevisionOut]
    conflicts: list[ConflictOut]
