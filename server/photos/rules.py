"""Pure rules of the photo API: storage keys, reuse probes, device evidence and the reply.

No I/O here, so every rule is testable on its own and the orchestration in service.py stays a
readable sequence of steps.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from itertools import combinations
from typing import Any, get_args
from uuid import UUID

import msgspec

from server.errors import FieldError, Invalid
from server.inspections.rules import distance_m
from server.photos.models import DeviceEvidence, Evidence, ExifEvidence, PhotoOut, PhotoSource, Point, Reuse, Source
from server.photos.pipeline import REUSE_MAX_DISTANCE
from server.structs import IMPLAUSIBLE_MOMENT, plausible_moment

# DESIGN §6: display at most 1600 px, thumb at most 320 px, more than ~50 megapixels is a bomb.
DISPLAY_PX = 1600
THUMB_PX = 320
MAX_PIXELS = 50_000_000

EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}

# Object keys -------------------------------------------------------------------------------------
#
# Every upload attempt writes its three objects under keys of its own:
#     originals/<sha256[:2]>/<photo id>.<UTC stamp>.<nonce>
#     display/<id[:2]>/<photo id>.<UTC stamp>.<nonce>.jpg
#     thumb/<id[:2]>/<photo id>.<UTC stamp>.<nonce>.jpg
# The two-character folder keeps any one directory of the directory store small. The nonce means
# two simultaneous first uploads of one photo never share an object, so the one that loses the
# INSERT race can delete its own objects without touching the winner's. The stamp is when the
# attempt began: the orphan sweeper deletes an unreferenced object only once that is older than
# its grace period, which needs no clock from the store and no extra table written per upload.

_STAMP = "%Y%m%dT%H%M%SZ"
_KEY = re.compile(
    r"(?P<kind>originals|display|thumb)/[0-9a-f]{2}/"
    r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\.(?P<stamp>\d{8}T\d{6}Z)\.[0-9a-f]{8,32}(?P<ext>\.jpg)?"
)
PREFIXES = ("originals/", "display/", "thumb/")


class Keys(msgspec.Struct, frozen=True, kw_only=True):
    original: str
    display: str
    thumb: str

    def all(self) -> tuple[str, str, str]:
        return self.original, self.display, self.thumb


def object_keys(photo_id: UUID, sha256: str, now: datetime, nonce: str | None = None) -> Keys:
    tag = f"{photo_id}.{now.astimezone(UTC).strftime(_STAMP)}.{nonce or secrets.token_hex(4)}"
    shard = str(photo_id)[:2]
    return Keys(
        original=f"originals/{sha256[:2]}/{tag}", display=f"display/{shard}/{tag}.jpg", thumb=f"thumb/{shard}/{tag}.jpg"
    )


def parse_key(key: str) -> tuple[UUID, datetime] | None:
    """The photo id and attempt time of a key this server made; None for anything else."""
    match = _KEY.fullmatch(key)
    if match is None or (match["kind"] == "originals") == (match["ext"] is not None):
        return None
    return UUID(match["id"]), datetime.strptime(match["stamp"], _STAMP).replace(tzinfo=UTC)


# Validators of the read routes ---------------------------------------------------------------------
#
# Each upload attempt writes its objects under keys of its own (see above), nothing ever writes to
# a key twice, and a row's keys never change once it is inserted: the key a row names identifies the
# exact bytes served for it, so a strong ETag comes from the row alone, without reading the object.
# The key is a better base than the original's SHA-256 plus the rendition's name: renditions made
# again (another encoder, another size) would be new objects under new keys, a new tag, while the
# original's hash would stay the same and keep serving 304 for the old bytes.


def etag(kind: str, key: str) -> str:
    return '"' + hashlib.sha256(f"photo|{kind}|{key}".encode()).hexdigest()[:32] + '"'


# Reuse probes ------------------------------------------------------------------------------------

BANDS = 4
BAND_BITS = 64 // BANDS
_MASK64 = (1 << 64) - 1


def band_values(phash: int) -> list[int]:
    """The four 16-bit bands, high to low, as the generated columns phash_band0..3 hold them."""
    unsigned = phash & _MASK64
    return [(unsigned >> (BAND_BITS * (BANDS - 1 - i))) & ((1 << BAND_BITS) - 1) for i in range(BANDS)]


def band_probes(phash: int, max_distance: int = REUSE_MAX_DISTANCE) -> list[list[int]]:
    """Per band, every value within `radius` bits of this hash's band.

    Pigeonhole: if two hashes are at most `max_distance` apart, at least one of the four bands
    differs in at most floor(max_distance / 4) bits, because four bands each differing in more
    would add up to more than max_distance. Probing that radius in every band therefore finds
    every true match; the exact distance is checked afterwards in SQL.
    """
    radius = max_distance // BANDS
    flips = [0]
    for r in range(1, radius + 1):
        flips.extend(sum(1 << b for b in bits) for bits in combinations(range(BAND_BITS), r))
    return [[value ^ flip for flip in flips] for value in band_values(phash)]


# Device evidence ---------------------------------------------------------------------------------


class Device(msgspec.Struct, frozen=True, kw_only=True):
    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    source: PhotoSource | None = None


SOURCES: tuple[PhotoSource, ...] = get_args(PhotoSource)


def device_evidence(
    taken_at: str | None,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    source: str | None = None,
) -> Device:
    """Check what the phone reported at capture; every problem is listed, by query parameter."""
    errors: list[FieldError] = []
    if source is not None and source not in SOURCES:
        errors.append(FieldError("source", "must be camera or gallery"))
    moment = None
    if taken_at is not None:
        try:
            moment = datetime.fromisoformat(taken_at)
        except ValueError:
            errors.append(FieldError("taken_at", "must be an RFC 3339 date-time, e.g. 2026-11-27T09:15:00Z"))
        else:
            if moment.tzinfo is None:
                errors.append(FieldError("taken_at", "must carry a time zone (Z or an offset)"))
            elif not plausible_moment(moment):
                errors.append(FieldError("taken_at", IMPLAUSIBLE_MOMENT))
            else:
                moment = moment.astimezone(UTC)
    if (lat is None) != (lon is None):
        errors.append(FieldError("lon" if lon is None else "lat", "lat and lon must be sent together"))
    for name, value, low, high in (
        ("lat", lat, -90, 90),
        ("lon", lon, -180, 180),
        ("accuracy_m", accuracy_m, 0, 100_000),
    ):
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            errors.append(FieldError(name, f"must be between {low} and {high}"))
    if errors:
        raise Invalid("the capture evidence sent with the photo is not valid", errors=errors)
    return Device(taken_at=moment, lat=lat, lon=lon, accuracy_m=accuracy_m, source=source)  # type: ignore[arg-type]


def _rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def chosen_taken_at(exif: str | None, device: datetime | None) -> tuple[str | None, Source | None]:
    # EXIF wins when it is an instant ("...Z"). A camera wall clock without its zone is kept as
    # evidence, but the phone's own instant is preferred as the headline time when it exists,
    # because the API's times are RFC 3339 UTC and a zone-less clock cannot be converted.
    if exif is not None and exif.endswith("Z"):
        return exif, "exif"
    if device is not None:
        return _rfc3339(device), "device"
    if exif is not None:
        return exif, "exif"
    return None, None


def chosen_gps(
    exif_lat: float | None, exif_lon: float | None, device_lat: float | None, device_lon: float | None
) -> tuple[Point | None, Source | None]:
    if exif_lat is not None and exif_lon is not None:
        return Point(lat=exif_lat, lon=exif_lon), "exif"
    if device_lat is not None and device_lon is not None:
        return Point(lat=device_lat, lon=device_lon), "device"
    return None, None


def distance_from_station(gps: Point | None, station_lat: float | None, station_lon: float | None) -> float | None:
    if gps is None or station_lat is None or station_lon is None:
        return None
    return distance_m(station_lat, station_lon, gps.lat, gps.lon)


# The reply ---------------------------------------------------------------------------------------


def photo_out(row: Mapping[str, Any], reuse: Iterable[Mapping[str, Any]], out_of_scope: int) -> PhotoOut:
    """The one reply shape, built from a photos row, so 201, 200 replays and GET always agree."""
    taken_at, taken_source = chosen_taken_at(row["exif_taken_at"], row["device_taken_at"])
    gps, gps_source = chosen_gps(row["exif_lat"], row["exif_lon"], row["device_lat"], row["device_lon"])
    return PhotoOut(
        id=row["id"],
        inspection_id=row["inspection_id"],
        item_key=row["item_key"],
        sha256=bytes(row["sha256"]).hex(),
        format=row["format"],
        size_bytes=row["size_bytes"],
        width=row["width"],
        height=row["height"],
        taken_at=taken_at,
        taken_at_source=taken_source,
        gps=gps,
        gps_source=gps_source,
        reused_in=[Reuse(**dict(r)) for r in reuse],
        reused_out_of_scope=out_of_scope,
        evidence=Evidence(
            exif=ExifEvidence(taken_at=row["exif_taken_at"], lat=row["exif_lat"], lon=row["exif_lon"]),
            device=DeviceEvidence(
                taken_at=_rfc3339(row["device_taken_at"]),
                lat=row["device_lat"],
                lon=row["device_lon"],
                accuracy_m=row["device_accuracy_m"],
            ),
            distance_m=None if row["distance_m"] is None else round(row["distance_m"], 1),
        ),
        source=row.get("source"),
        created_at=row["created_at"],
    )
