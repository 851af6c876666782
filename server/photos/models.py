"""What the photo API answers (DESIGN §7), and what the orphan sweeper reports.

Evidence is kept in two separate halves on purpose: `exif` is what the file itself claims (and
can be edited by anyone before upload), `device` is what the phone's app recorded when the shutter
fired. The top-level `taken_at` and `gps` pick one of them and say which in `*_source`, so a
reviewer never mistakes one kind of evidence for the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Source = Literal["exif", "device"]

# Where the phone got the picture: its camera, opened by the app during the visit, or its gallery
# (any picture already on the phone: an old one, a screenshot, one sent by someone else).
PhotoSource = Literal["camera", "gallery"]


class Point(msgspec.Struct, kw_only=True):
    lat: float
    lon: float


# RFC 3339 UTC when the camera recorded its zone offset, else the camera's wall clock without an
# offset ("2026-11-27T09:15:00"): a guessed zone would look more certain than it is.
CameraTime = Annotated[
    str | None,
    msgspec.Meta(
        description="RFC 3339 UTC when the source recorded a zone (the phone always does; a camera's EXIF "
        "only with OffsetTimeOriginal); otherwise the camera's wall-clock time without an offset, "
        "e.g. 2026-11-27T09:15:00, not moved into any zone."
    ),
]


class ExifEvidence(msgspec.Struct, kw_only=True):
    taken_at: CameraTime
    lat: float | None
    lon: float | None


class DeviceEvidence(msgspec.Struct, kw_only=True):
    taken_at: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None


class Evidence(msgspec.Struct, kw_only=True):
    exif: ExifEvidence
    device: DeviceEvidence
    # From the station to the chosen `gps`; null when either is unknown.
    distance_m: float | None


class Reuse(msgspec.Struct, kw_only=True):
    """Another inspection in which a near-identical picture appears."""

    photo_id: UUID
    inspection_id: UUID
    item_key: str
    station_id: UUID
    station_code: str
    station_name: str
    # Differing bits of the 64-bit perceptual hash; 0 with same_bytes false is a re-encoded copy.
    distance: int
    same_bytes: bool
    uploaded_at: datetime


class PhotoOut(msgspec.Struct, kw_only=True):
    id: UUID
    inspection_id: UUID
    item_key: str
    sha256: str
    format: str
    size_bytes: int
    width: int
    height: int
    taken_at: CameraTime
    taken_at_source: Source | None
    gps: Point | None
    gps_source: Source | None
    # Only inspections the caller may read are listed; the others are counted, so an inspector
    # learns that the picture was seen elsewhere without learning where outside their scope.
    reused_in: list[Reuse]
    reused_out_of_scope: int
    evidence: Evidence
    # Null when the phone did not say: photos stored before phones sent it, and older app versions.
    source: Annotated[
        PhotoSource | None,
        msgspec.Meta(
            description="Where the phone got the picture: 'camera' (taken in the app) or 'gallery' (picked "
            "from the phone's pictures or files, so of unknown age and place); null when the phone did not say."
        ),
    ]
    created_at: datetime


class SweepReport(msgspec.Struct, kw_only=True):
    checked: int = 0
    # Deleted, or in a dry run the number that would have been deleted.
    deleted: int = 0
    # Referenced by a photo, still inside the grace period, not a key this server makes, awaited by an
    # inspection, or an unclaimed original.
    kept: int = 0
    # Of those kept: originals of photo ids that no photo row holds and no inspection names (sweeper.py).
    unclaimed: int = 0
    # Temporary files of writes a crash interrupted (the directory store's), removed or would be.
    partial: int = 0
    # Resumable uploads begun UPLOAD_MAX_DAYS ago or more (sweeper.py), removed or would be.
    stale_uploads: int = 0
    dry_run: bool = False
