"""The photo pipeline: sniff the real format, refuse bombs, read evidence, re-encode renditions.

Everything here is pure (bytes in, a Struct out, no storage, no database) so that the API can
run `process` in a process pool and the tests can feed it hostile files directly. The original
bytes are never altered: only the re-encoded renditions, stripped of every piece of metadata,
are ever shown to a browser.
"""

from __future__ import annotations

import hashlib
import io
import math
import operator
import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

import msgspec
from PIL import ExifTags, Image

from server.errors import DomainError, FieldError, Invalid, Unsupported

# Two perceptual hashes this close (out of 64 bits) are taken to be the same picture, re-encoded
# or resized; different pictures land around 32 bits apart.
REUSE_MAX_DISTANCE = 6

# A mirror image, which a phone's gallery makes in one tap, moves every pixel and so the whole picture's
# hash; its own hash comes from the same DCT (pipeline.reuse_hashes) and is compared too. Crops (5% off
# every side, 10% off one side) are not found: comparing the few hashes that would find them cost the
# search about a hundred times its time at two million photos, under the lock every upload takes
# (measured: 0.47 s against 4.5 ms). The hash of the picture's centre, without CENTRE_MARGIN on every
# side, is stored for a crop check that can be made cheap (photos.phash_centre, schema 0021).
CENTRE_MARGIN = 0.10

# A progressive JPEG is decoded scan by scan, and each scan walks the whole image again; a few
# kilobytes of crafted scans can cost minutes of CPU. Encoders write about ten; a hundred is
# generous. (Counting the marker bytes is exact: entropy-coded data never contains FF DA.)
MAX_JPEG_SCANS = 100

DISPLAY_QUALITY = 82
THUMB_QUALITY = 80
# Resampling is the costliest step after decoding. For a phone JPEG the decoder's DCT scaling
# has already done the heavy reduction (to between 1x and 2x the display size), and for that
# gentle last step Hamming (a short windowed sinc, sharper than bilinear) measured about 2.0x
# the baseline CPU against 2.25x for bicubic in the same run, which left too little margin
# under the 2.5x budget. Against a full-resolution Lanczos reference it scores 37 dB PSNR to
# bicubic's 40.5, and small text stays equally legible. A large PNG or WebP is first shrunk
# by an integer box reduction down to twice the display size. The thumbnail comes from the
# display (1600 -> 320 is exactly 5), so a box reduction all the way is an area average:
# right for 320 px and ten times cheaper than Lanczos.
RESAMPLE = Image.Resampling.HAMMING
DISPLAY_REDUCING_GAP = 2.0
THUMB_REDUCING_GAP = 1.0

# HEIC/HEIF is deliberately absent. Decoding it needs pillow-heif (libheif), which is not
# installed, and libheif parses a large container format with a history of memory-safety bugs.
# The PWA re-encodes every photo to JPEG on the phone, so only direct uploads would send HEIC,
# and they get a 415 that says what to send instead.
_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}

_ORIENTATION = ExifTags.Base.Orientation
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


class Gps(msgspec.Struct, frozen=True, kw_only=True):
    lat: float
    lon: float
    alt: float | None = None


class Processed(msgspec.Struct, frozen=True, kw_only=True):
    sha256: str
    format: str
    # The size of the original as a person sees it, that is after EXIF orientation.
    width: int
    height: int
    # RFC 3339 UTC ("...Z") when the camera recorded its offset; otherwise the camera's wall
    # clock without any offset ("2026-11-27T09:15:00"), because guessing a zone would make a
    # phone set to the wrong zone look authoritative. Consumers tell the two apart by the "Z".
    exif_taken_at: str | None
    exif_gps: Gps | None
    # A 64-bit perceptual hash stored as a signed int64 so it fits a PostgreSQL bigint.
    phash: int
    # The hash of the picture without CENTRE_MARGIN on every side, stored beside phash.
    phash_centre: int
    # The hash of this picture's mirror image, compared with the stored phash of other photos too.
    phash_mirrored: int
    display: bytes
    thumb: bytes
    display_size: tuple[int, int]
    thumb_size: tuple[int, int]


def sniff(data: bytes) -> str | None:
    """Name the format by its magic bytes, never by a client's file name or Content-Type."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def process(data: bytes, *, max_pixels: int = 50_000_000, display_px: int = 1600, thumb_px: int = 320) -> Processed:
    fmt = sniff(data)
    if fmt is None:
        raise Unsupported(_refusal(data))
    # Our own reading of the header comes before any decoder sees the bytes. Pillow's check
    # runs at the end of Image.open, and between its limit and twice that a WebP has by then
    # been handed to libwebp, which allocates the whole canvas on creation.
    _refuse_bomb(_header_size(data, fmt), max_pixels)
    if fmt == "jpeg" and data.count(b"\xff\xda") > MAX_JPEG_SCANS:
        raise _invalid(f"The JPEG has more than {MAX_JPEG_SCANS} scans.")
    # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises only above; with the
    # warning made an error (in _decode) its limit is ours. The setting is process-wide, which
    # is one more reason this function belongs in a process pool; it is put back afterwards so
    # other Pillow users in the same worker keep their own limit.
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        (width, height), taken_at, gps, display, thumb = _decode(data, fmt, max_pixels, display_px, thumb_px)
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    hashes = reuse_hashes(thumb)
    return Processed(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        exif_taken_at=taken_at,
        exif_gps=gps,
        phash=hashes.phash,
        phash_centre=hashes.phash_centre,
        phash_mirrored=hashes.phash_mirrored,
        display=_jpeg(display, DISPLAY_QUALITY),
        thumb=_jpeg(thumb, THUMB_QUALITY),
        display_size=display.size,
        thumb_size=thumb.size,
    )


def _decode(
    data: bytes, fmt: str, max_pixels: int, display_px: int, thumb_px: int
) -> tuple[tuple[int, int], str | None, Gps | None, Image.Image, Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow warns about each malformed EXIF tag it skips; hostile uploads would fill
            # the logs, and the outcome (no evidence from that tag) is already in the result.
            warnings.simplefilter("ignore", UserWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[fmt]]) as img:
                _refuse_bomb(img.size, max_pixels)
                orientation, taken_at, gps = _evidence(img)
                width, height = img.size
                display, thumb = _renditions(img, fmt, orientation, display_px, thumb_px)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _invalid("The image has too many pixels to be processed safely.") from exc
    except Exception as exc:
        # Pillow's decoders answer hostile bytes with many exception types (OSError,
        # SyntaxError, ValueError, struct.error, EOFError, ...); every one of them means the
        # upload is unusable, and none of them may take the worker down.
        raise _invalid("The image is truncated or corrupt and cannot be decoded.") from exc
    oriented = (height, width) if orientation >= 5 else (width, height)
    return oriented, taken_at, gps, display, thumb


def capture_evidence(data: bytes) -> tuple[str | None, str | None, Gps | None]:
    """What an original says of itself without being decoded: its format, and the capture time and
    position its EXIF holds. Only the header is read (Pillow opens lazily); anything that is not an
    image of ours gives no format, a header Pillow cannot read gives no evidence."""
    fmt = sniff(data)
    if fmt is None:
        return None, None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[fmt]]) as img:
                _, taken_at, gps = _evidence(img)
    except Exception:
        return fmt, None, None
    return fmt, taken_at, gps


def _invalid(message: str) -> Invalid:
    return Invalid(message, errors=[FieldError("body", message)])


def _refusal(data: bytes) -> str:
    if data[4:8] == b"ftyp":
        return "HEIC, AVIF and video files are not accepted; send the photo as JPEG, PNG or WebP."
    return "Only JPEG, PNG and WebP photos are accepted."


def _refuse_bomb(size: tuple[int, int] | None, max_pixels: int) -> None:
    if size is not None and size[0] * size[1] > max_pixels:
        raise _invalid(f"The image claims {size[0]}x{size[1]} pixels; at most {max_pixels} pixels are accepted.")


def _header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """Read the pixel dimensions a header claims, or None when it cannot say (Pillow decides)."""
    if fmt == "png":
        return (int.from_bytes(data[16:20]), int.from_bytes(data[20:24])) if data[12:16] == b"IHDR" else None
    if fmt == "webp":
        return _webp_size(data)
    return _jpeg_size(data)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the marker segments up to the first scan and keep the largest frame header: Pillow
    # and libjpeg do not agree on which of several SOF segments wins, so the worst one counts.
    largest = None
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
        elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
        elif marker in (0xD9, 0xDA):
            break
        else:
            length = int.from_bytes(data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and i + 9 <= len(data):
                size = (int.from_bytes(data[i + 7 : i + 9]), int.from_bytes(data[i + 5 : i + 7]))
                if largest is None or size[0] * size[1] > largest[0] * largest[1]:
                    largest = size
            if length < 2:
                break
            i += 2 + length
    return largest


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _evidence(img: Image.Image) -> tuple[int, str | None, Gps | None]:
    """Read orientation, capture time and position, each on its own so one bad tag spoils nothing else."""
    try:
        exif = img.getexif()
    except Exception:
        # A corrupt EXIF block costs the evidence, not the photo.
        return 1, None, None
    orientation = exif.get(_ORIENTATION, 1)
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = 1
    try:
        taken_at = _taken_at(exif.get_ifd(ExifTags.IFD.Exif))
    except Exception:
        taken_at = None
    try:
        gps = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        gps = None
    return orientation, taken_at, gps


def _taken_at(ifd: dict) -> str | None:
    # DateTimeOriginal is when the shutter fired; DateTimeDigitized is the same on a phone and
    # survives some editors that drop the former. DateTime (IFD0) is the last edit, not evidence.
    for moment_tag, offset_tag in ((0x9003, 0x9011), (0x9004, 0x9012)):
        raw = ifd.get(moment_tag)
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        if not isinstance(raw, str):
            continue
        try:
            moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        offset = _offset(ifd.get(offset_tag))
        if offset is None:
            return moment.isoformat()
        return moment.replace(tzinfo=timezone(offset)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _offset(raw: object) -> timedelta | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    match = _OFFSET.fullmatch(raw.strip("\x00 ")) if isinstance(raw, str) else None
    if match is None:
        return None
    sign = -1 if match[1] == "-" else 1
    offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return sign * offset if offset <= timedelta(hours=14) else None


def _gps(ifd: dict) -> Gps | None:
    lat = _degrees(ifd.get(2), ifd.get(1), "N", "S")
    lon = _degrees(ifd.get(4), ifd.get(3), "E", "W")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    # Phones without a fix sometimes write 0/0; "null island" is not a police station.
    if lat == 0 and lon == 0:
        return None
    alt = _number(ifd.get(6))
    if alt is not None and ifd.get(5) in (1, b"\x01"):
        alt = -alt
    return Gps(lat=round(lat, 7), lon=round(lon, 7), alt=None if alt is None else round(alt, 2))


def _degrees(value: object, ref: object, positive: str, negative: str) -> float | None:
    # Without its hemisphere a coordinate is ambiguous, so it is dropped rather than guessed.
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = ref.strip("\x00 ").upper() if isinstance(ref, str) else ""
    if ref not in (positive, negative) or not isinstance(value, tuple) or len(value) != 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None or part < 0 for part in parts):
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    return -degrees if ref == negative else degrees


def _number(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _renditions(
    img: Image.Image, fmt: str, orientation: int, display_px: int, thumb_px: int
) -> tuple[Image.Image, Image.Image]:
    # The target is computed on the stored (unrotated) pixels: the longest side is the same
    # either way, and orienting the small result is far cheaper than orienting the original.
    target = _fit(img.size, display_px)
    if fmt == "jpeg":
        # An aspect-correct box lets libjpeg scale by 1/2, 1/4 or 1/8 while decoding; a square
        # (display_px, display_px) box would defeat it for every landscape photo.
        img.draft("RGB", target)
    img.load()
    frame = img if img.mode in ("L", "RGB", "CMYK") else _flatten(img)
    if frame.size != target:
        frame = frame.resize(target, RESAMPLE, reducing_gap=DISPLAY_REDUCING_GAP)
    if frame.mode == "CMYK":
        frame = frame.convert("RGB")
    if orientation in _TRANSPOSE:
        frame = frame.transpose(_TRANSPOSE[orientation])
    thumb_size = _fit(frame.size, thumb_px)
    thumb = frame
    if thumb_size != frame.size:
        thumb = frame.resize(thumb_size, RESAMPLE, reducing_gap=THUMB_REDUCING_GAP)
    return frame, thumb


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _flatten(img: Image.Image) -> Image.Image:
    """Bring any other mode to 8-bit L or RGB, laying transparency over white."""
    if img.mode.startswith("I") or img.mode == "F":
        # 16-bit grayscale is scaled to 8 bits; a plain convert("L") would clip it to white.
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode == "1":
        return img.convert("L")
    if "A" in img.getbands():
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img if img.mode in ("L", "RGB") else img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    # Derived images inherit the source's info, and Pillow's JPEG writer copies a "comment"
    # from it; emptying it keeps comments, EXIF, XMP and ICC out of every rendition. The ICC
    # profile is dropped rather than applied: renditions are treated as sRGB.
    img.info = {}
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, progressive=True)
    return out.getvalue()


# The DCT basis for a 32-sample signal, first 8 frequencies only: the hash needs no more.
_COSINES = tuple(tuple(math.cos((2 * x + 1) * u * math.pi / 64) for x in range(32)) for u in range(8))
_MASK64 = (1 << 64) - 1
# A mirror image (x -> 31 - x) multiplies each coefficient by (-1) ** u, u its horizontal frequency.
_MIRRORED = tuple(-1.0 if u % 2 else 1.0 for _ in range(8) for u in range(8))


class ReuseHashes(msgspec.Struct, frozen=True, kw_only=True):
    phash: int
    phash_centre: int
    phash_mirrored: int


def phash(img: Image.Image) -> int:
    """A DCT perceptual hash: 32x32 luma, its 8x8 lowest frequencies, each bit above their median."""
    return _bits(_dct(img.convert("L")))


def reuse_hashes(img: Image.Image) -> ReuseHashes:
    """The hashes the reuse check stores or compares for this picture (see CENTRE_MARGIN): its own, its
    centre's and its mirror image's, from three DCTs of the 320 px thumbnail's luma (the mirror's from
    the first: a mirror image multiplies each coefficient by (-1) ** u, u its horizontal frequency)."""
    luma = img.convert("L")
    whole = _dct(luma)
    return ReuseHashes(
        phash=_bits(whole),
        phash_centre=_bits(_dct(_centre(luma))),
        phash_mirrored=_bits(list(map(float.__mul__, whole, _MIRRORED))),
    )


def _centre(img: Image.Image) -> Image.Image:
    """The picture without CENTRE_MARGIN of its width and height on every side (at least one pixel)."""
    width, height = img.size
    left, top = round(CENTRE_MARGIN * width), round(CENTRE_MARGIN * height)
    right, bottom = round((1 - CENTRE_MARGIN) * width), round((1 - CENTRE_MARGIN) * height)
    return img.crop((left, top, max(right, left + 1), max(bottom, top + 1)))


def _dct(luma: Image.Image) -> list[float]:
    """The 8x8 lowest DCT coefficients of the 32x32 reduction, vertical frequency first."""
    pixels = luma.resize((32, 32), Image.Resampling.LANCZOS).tobytes()
    # The 2-D DCT is separable: transform every row, then the columns of the result.
    by_row = [[sum(map(operator.mul, basis, pixels[y * 32 : y * 32 + 32])) for basis in _COSINES] for y in range(32)]
    columns = list(zip(*by_row, strict=True))
    return [sum(map(operator.mul, basis, columns[u])) for basis in _COSINES for u in range(8)]


def _bits(coefficients: list[float]) -> int:
    ordered = sorted(coefficients)
    median = (ordered[31] + ordered[32]) / 2
    value = 0
    for coefficient in coefficients:
        value = (value << 1) | (coefficient > median)
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK64).bit_count()
