"""The hierarchy's request bodies and replies: region -> district -> circle -> station (DESIGN §3, §7).

Bodies check types only. Value rules (code format, coordinates in range, both names present, codes
unique, parents existing) live in rules.py and the routes, so that one reply lists every problem.
PATCH bodies use UNSET for "not sent", which lets a station's circle be cleared with an explicit null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.structs import Base, LocalText, Name

StationKind = Literal["police_station", "khidmat_markaz", "driving_centre", "other"]

# The format is checked by rules.check_code so it is reported with every other problem; this bound
# only stops absurd input before it reaches the rules.
CodeText = Annotated[str, Meta(max_length=200)]

# A region, district or circle may be named in English only (a plain string) or in both languages.
AnyName = Name | LocalText


class RegionIn(Base):
    code: CodeText
    name: AnyName


class RegionPatch(Base):
    code: CodeText | UnsetType = UNSET
    name: AnyName | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class DistrictIn(Base):
    code: CodeText
    name: AnyName
    region_id: UUID


class DistrictPatch(Base):
    code: CodeText | UnsetType = UNSET
    name: AnyName | UnsetType = UNSET
    region_id: UUID | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CircleIn(Base):
    code: CodeText
    name: AnyName
    district_id: UUID


class CirclePatch(Base):
    code: CodeText | UnsetType = UNSET
    name: AnyName | UnsetType = UNSET
    district_id: UUID | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class StationIn(Base):
    code: CodeText
    name: LocalText
    district_id: UUID
    lat: float
    lon: float
    circle_id: UUID | None = None
    sips: bool = True
    kind: StationKind = "police_station"
    active: bool = True


class StationPatch(Base):
    code: CodeText | UnsetType = UNSET
    name: LocalText | UnsetType = UNSET
    district_id: UUID | UnsetType = UNSET
    circle_id: UUID | None | UnsetType = UNSET
    lat: float | UnsetType = UNSET
    lon: float | UnsetType = UNSET
    sips: bool | UnsetType = UNSET
    kind: StationKind | UnsetType = UNSET
    active: bool | UnsetType = UNSET


# Replies. `name` is the English name as a plain string for regions, districts and circles (what a
# list or a breadcrumb shows), with `name_ur` beside it; a station's name is always bilingual.


class RegionOut(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: str
    name_ur: str
    active: bool


class DistrictOut(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: str
    name_ur: str
    region_id: UUID
    active: bool


class CircleOut(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: str
    name_ur: str
    district_id: UUID
    region_id: UUID
    active: bool


class StationName(msgspec.Struct, kw_only=True):
    en: str
    ur: str


class StationOut(msgspec.Struct, kw_only=True):
    id: UUID
    code: str
    name: StationName
    district_id: UUID
    circle_id: UUID | None
    region_id: UUID
    lat: float | None
    lon: float | None
    sips: bool
    kind: str
    active: bool
    change_seq: int
    updated_at: datetime


# The station import's replies. A real import answers with counts; a dry run names what would change.


class ImportCounts(msgspec.Struct, kw_only=True):
    created: int
    updated: int
    unchanged: int
    rows: int


class FieldChange(msgspec.Struct):
    # `from` is a Python keyword, hence the renamed attribute.
    before: object = msgspec.field(name="from")
    after: object = msgspec.field(name="to")


class StationChanges(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: str  # as stored: a file's `ps-7` updates the station `PS-7` and keeps that spelling
    changes: dict[str, FieldChange]
    code_in_file: str | None = None  # only when the file spells it otherwise


class NotInFile(msgspec.Struct, kw_only=True):
    """Active stations of the districts the file covers that it does not name. Information only: an
    import adds and updates, it never switches a station off."""

    count: int
    codes: list[str]  # the first NOT_IN_FILE_SHOWN, by code


class ImportPreview(msgspec.Struct, kw_only=True):
    dry_run: bool = True
    created: list[str]
    updated: list[StationChanges]
    unchanged: int
    rows: int
    not_in_file: NotInFile
