"""Corrective action bodies and replies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.actions.rules import CancelReason, Status
from server.review.models import DistrictRef, LocalName, Person, StationRef
from server.structs import Base, Key

Description = Annotated[str, Meta(min_length=1, max_length=2000)]
OwnerName = Annotated[str, Meta(max_length=200)]
NoteText = Annotated[str, Meta(min_length=1, max_length=4000)]
# Evidence of the fix: a handful of pictures, not an album.
EvidenceIds = Annotated[list[UUID], Meta(max_length=20)]


class ActionIn(Base):
    station_id: UUID
    description: Description
    due_date: date
    owner_name: OwnerName = ""
    owner_user_id: UUID | None = None
    inspection_id: UUID | None = None
    item_key: Key | None = None
    # The checklist the item is in (keys repeat across checklists). Taken from the inspection when one is
    # named; without one it may be left out when only one published checklist has the key.
    template_id: UUID | None = None


class ActionPatch(Base):
    """Only what is sent changes. A note is appended, never edited."""

    status: Status | UnsetType = UNSET
    note: NoteText | UnsetType = UNSET
    # Sent by a phone that queued the note offline: the same note sent twice is stored once.
    note_id: UUID | UnsetType = UNSET
    # Several notes at once (the form the brief named); each is appended in order.
    notes: Annotated[list[NoteText], Meta(max_length=20)] | UnsetType = UNSET
    evidence_photo_ids: EvidenceIds | UnsetType = UNSET
    due_date: date | UnsetType = UNSET
    owner_name: OwnerName | UnsetType = UNSET
    owner_user_id: UUID | None | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    # The action's change_seq as the client last read it (ActionOut.change_seq). When the action has
    # changed since (a colleague reopened it, say), the request is refused with 409 and the action as it
    # stands, so a screen drawn before the change cannot undo it unseen. Left out, the request applies to
    # the action as it is now: a phone's queued check, which the replay and closed rules govern.
    base_change_seq: Annotated[int, Meta(ge=1)] | UnsetType = UNSET


class NoteOut(msgspec.Struct, kw_only=True):
    id: UUID
    at: datetime
    author: Person | None
    body: str
    # A status change is recorded as a note (with or without text), so the notes are the history.
    status_from: str | None
    status_to: str | None


# The kinds of text the server writes itself when a submission opens an action (see ActionOut).
DescriptionKind = Literal["critical_item_failed"]
OwnerKind = Literal["station_sho"]


class ActionOut(msgspec.Struct, kw_only=True):
    id: UUID
    station: StationRef
    district: DistrictRef
    inspection_id: UUID | None
    # The checklist of the item (item keys repeat across checklists); null for an action on no item.
    template_id: UUID | None
    item_key: str | None
    source: str
    description: str
    owner_name: str
    owner_user_id: UUID | None
    due_date: date
    status: Status
    overdue: bool
    evidence_photo_ids: list[UUID]
    created_by: UUID | None
    verified_by: UUID | None
    verified_at: datetime | None
    change_seq: int
    created_at: datetime
    updated_at: datetime
    notes: list[NoteOut] | None = None
    # The item's label in both languages, as the template version of the action's inspection has it;
    # null when the action names no item or no inspection.
    item_label: LocalName | None = None
    # `description` and `owner_name` are stored in English, as the server wrote them when a submission
    # opened the action ("Critical item failed: <label>", "SHO, <station>"), for exports and older
    # clients. While they are still those words these kinds say so, and a reader composes them in
    # its own language: the item's label from `item_label` (or `item_key`), the station's name from
    # `station`. Null for text a person typed or changed, which is shown as it is.
    description_kind: DescriptionKind | None = None
    owner_kind: OwnerKind | None = None
    # Why the server cancelled the action itself, when nobody had worked on it yet: "override_passed"
    # when a reviewer's override passed the failed item that opened it, "answer_corrected" when the
    # inspection that opened it, resubmitted after a return, no longer fails the item. Null otherwise (a
    # person who cancels says why in a note).
    cancel_reason: CancelReason | None = None
    # Whether a reviewer's override, in the approved inspection this action names, has since passed its
    # item: the failure that opened it is no longer in the record. An action someone already worked on
    # is left open for a person to close; this tells the reviewer it may no longer be needed.
    item_passed_by_override: bool = False
    # Whether the inspection that opened this automatic action, resubmitted after a return, no longer
    # fails its item (its inspector corrected the answer), with no reviewer's override on it: as above,
    # an action someone worked on is left open, and this says it may no longer be needed.
    item_corrected: bool = False


class ActionPage(msgspec.Struct, kw_only=True):
    rows: list[ActionOut]
    # Pass as `after` for the next page; null on the last one.
    next: str | None
    # On the first page (no `after`): how many actions the filters match in all. Null on later pages.
    total: int | None = None
