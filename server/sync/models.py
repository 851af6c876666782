"""The offline bundle's shape (DESIGN §5, §7): GET /api/v1/sync/bundle?since=CURSOR."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from server.inspections.models import InspectionOut


class StationName(msgspec.Struct, kw_only=True):
    en: str
    ur: str


class BundleStation(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: StationName
    district_id: UUID
    circle_id: UUID | None
    lat: float | None
    lon: float | None
    kind: str
    sips: bool
    # There only for work already on the phone's user (a returned inspection at a station out of their
    # scope now, or deactivated): named and corrected there, never offered for a new inspection.
    retired: bool = False


class BundleTemplate(msgspec.Struct, kw_only=True):
    id: UUID  # the published version's id: what an inspection pins as template_version_id
    template_id: UUID
    key: str
    version: int
    # The stored definition is passed through as the JSON it already is, never decoded and re-encoded.
    definition: msgspec.Raw
    # True: this version is here only for work already on it (a draft or returned inspection) and must
    # never start a new inspection: its template is archived, or a newer version replaced it. A delta
    # resends the version when this changes.
    retired: bool = False


class BundleAssignment(msgspec.Struct, kw_only=True):
    id: UUID
    station_id: UUID
    template_id: UUID
    due_date: date
    status: str
    inspection_id: UUID | None


class Removed(msgspec.Struct, kw_only=True):
    """What the phone should drop: deactivated stations, archived templates (template ids, every version),
    and assignments no longer open for this user (done, cancelled or given to someone else)."""

    stations: list[UUID] = []
    templates: list[UUID] = []
    assignments: list[UUID] = []


class Bundle(msgspec.Struct, kw_only=True):
    # Send back as `since` next time. Opaque: it encodes the change counter and the caller's scope.
    cursor: str
    # True when this is everything (no usable `since`, or the user's scope changed): the phone replaces
    # what it holds. False: a delta to merge, with `removed` listing what to drop.
    full: bool
    templates: list[BundleTemplate]
    stations: list[BundleStation]
    assignments: list[BundleAssignment]
    # Open corrective actions of these stations; filled by the actions capability (server/sync/parts.py).
    actions: list[Any]
    # The caller's inspections a reviewer returned for correction, as GET /inspections/{id} answers them.
    # Always the complete list, in deltas too: it is short, and a phone must never miss one.
    returned: list[InspectionOut]
    removed: Removed
