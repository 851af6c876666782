"""What the exports read and hand on: the filters of a table export and the plain data of one report.

A report is rendered in the process pool, so everything the renderer needs travels in `ReportData`:
plain values and bytes, picklable, with no connection, store or settings behind them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.templates.models import Definition

Lang = Literal["en", "ur"]


class ExportFilters(msgspec.Struct, frozen=True, kw_only=True):
    """The filters of GET /exports/inspections.{csv,xlsx}; None means "not filtered on"."""

    station_id: UUID | None = None
    district_id: UUID | None = None
    region_id: UUID | None = None
    status: str | None = None
    template_id: UUID | None = None
    # Bounds on the inspection's date (made_at as the dashboards count it, else created_at): `since`
    # inclusive, `until` exclusive.
    since: datetime | None = None
    until: datetime | None = None

    def for_audit(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else str(v))
            for k, v in msgspec.structs.asdict(self).items()
            if v is not None
        }


class ItemColumn(msgspec.Struct, frozen=True, kw_only=True):
    """One answer column of a wide export: an item of the template, in any of its versions."""

    key: str
    type: str
    section: str
    label_en: str
    label_ur: str


# The report --------------------------------------------------------------------------------------


class ReportAnswer(msgspec.Struct, kw_only=True):
    value: Any = None
    note: str | None = None
    # The inspector's own item score in [0, 1]; an override in force is in ReportData.overrides.
    score: float | None = None
    photo_ids: list[str] = []


class ReportReview(msgspec.Struct, kw_only=True):
    decision: str
    reviewer: str
    at: datetime
    revision: int
    comment: str
    item_comments: dict[str, str]


class ReportOverride(msgspec.Struct, kw_only=True):
    item_key: str
    original_score: float | None
    score: float
    reason: str
    reviewer: str
    at: datetime


class ReportPhoto(msgspec.Struct, kw_only=True):
    id: str
    item_key: str
    # The stored `thumb` rendition (JPEG, at most 320 px), embedded as it is.
    jpeg: bytes


class ReportData(msgspec.Struct, kw_only=True):
    lang: Lang
    inspection_id: str
    status: str
    revision: int
    station_code: str
    station_name_en: str
    station_name_ur: str
    station_lat: float | None
    station_lon: float | None
    district_en: str
    district_ur: str
    region_en: str
    region_ur: str
    inspector_name: str
    inspector_username: str
    template_key: str
    template_version: int
    definition: Definition
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    submitted_at: datetime | None
    # The phone's clock was wrong: its start and finish are not facts (structs.phone_clock_off).
    phone_clock_off: bool
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None
    far_from_station: bool
    # What the fix gives away, told to reviewers and admins only (report.gather; false for the visit's
    # own inspector): exactly the station's recorded position (rules.exact_station_fix), or exactly
    # another visit's (schema 0026), so set by hand or replayed, not read.
    location_exact: bool = False
    location_repeated: bool = False
    presence_radius_m: float
    score_percent: float | None
    grade: str | None
    critical_failed: bool
    section_percents: dict[str, float | None]
    answers: dict[str, ReportAnswer]
    reviews: list[ReportReview]
    overrides: list[ReportOverride]
    photos: list[ReportPhoto]
    photos_missing: int
    generated_at: datetime
