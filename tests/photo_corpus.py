"""Hostile and odd photo uploads, generated at test time, each with the outcome the API owes.

Nothing here is a committed binary: every input is built from Pillow or from hand-written
bytes, so a reader can see exactly what is hostile about it. The pipeline tests run every case
whose `layer` is "pipeline"; API tests can send all of them, the 413 case included, through
`PUT /api/v1/photos/{id}` and expect the same outcomes.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from PIL import ExifTags, Image, ImageChops, ImageDraw
from PIL.TiffImagePlugin import IFDRational

# The route refuses bodies above its limit before reading them; this default only sizes the
# 413 case, and API tests with another limit should call `oversized_jpeg(limit)` themselves.
DEFAULT_BODY_LIMIT = 25 * 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    # "ok", or the HTTP status of the domain error: 413 TooLarge, 415 Unsupported, 422 Invalid.
    expect: str | int
    # For "ok": the original's size as a person sees it (after EXIF orientation), and its format.
    size: tuple[int, int] | None = None
    format: str | None = None
    # "pipeline" cases are judged by server.photos.pipeline.process; "http" ones only by the route.
    layer: str = "pipeline"


def make_phone_jpeg(
    width: int = 4000,
    height: int = 3000,
    exif_orientation: int | None = None,
    gps: tuple[float, float] | tuple[float, float, float] | None = None,
    taken_at: datetime | str | None = None,
    *,
    seed: int = 0,
    quality: int = 92,
) -> bytes:
    """A JPEG shaped like a phone camera's: a busy scene, sensor-like noise and EXIF.

    `width` x `height` are the stored pixels; with orientation 5-8 a viewer shows them turned,
    as a phone held upright does. `taken_at` that is timezone-aware is written with its
    OffsetTimeOriginal, a naive one without, and a string is written verbatim (for broken
    dates). The same arguments always give the same bytes; another `seed` another picture.
    """
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Muaina"
    exif[ExifTags.Base.Model] = "Test Phone"
    if exif_orientation is not None:
        exif[ExifTags.Base.Orientation] = exif_orientation
    if taken_at is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        if isinstance(taken_at, str):
            details[ExifTags.Base.DateTimeOriginal] = taken_at
        else:
            details[ExifTags.Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
            if taken_at.utcoffset() is not None:
                offset = taken_at.strftime("%z")
                details[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:5]}"
    if gps is not None:
        _write_gps(exif.get_ifd(ExifTags.IFD.GPSInfo), *gps)
    out = io.BytesIO()
    scene(width, height, seed).save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def scene(width: int, height: int, seed: int = 0) -> Image.Image:
    """A room-like RGB picture: wall and floor gradients, furniture-like shapes and noise."""
    rnd = random.Random(seed)
    wall, floor = _colour(rnd), _colour(rnd)
    horizon = int(height * rnd.uniform(0.45, 0.75))
    image = Image.new("RGB", (width, height), wall)
    shade = Image.linear_gradient("L").resize((width, height))
    image.paste(Image.new("RGB", (width, height), tuple(c // 2 for c in wall)), mask=shade)
    image.paste(Image.new("RGB", (width, height - horizon), floor), (0, horizon))
    draw = ImageDraw.Draw(image)
    for _ in range(rnd.randint(6, 12)):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        x1 = min(width, x0 + rnd.randint(width // 12, width // 3))
        y1 = min(height, y0 + rnd.randint(height // 10, height // 2))
        shape = rnd.choice((draw.rectangle, draw.ellipse))
        shape((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), fill=_colour(rnd), outline=_colour(rnd), width=4)
    for _ in range(rnd.randint(3, 8)):
        points = [(rnd.randrange(width), rnd.randrange(height)) for _ in range(2)]
        draw.line(points, fill=_colour(rnd), width=max(1, width // 400))
    return _add_noise(image, rnd)


def _colour(rnd: random.Random) -> tuple[int, int, int]:
    return rnd.randrange(30, 226), rnd.randrange(30, 226), rnd.randrange(30, 226)


def _add_noise(image: Image.Image, rnd: random.Random, amplitude: int = 24) -> Image.Image:
    # Sensor noise is what makes a phone JPEG weigh megabytes. A 521-pixel tile of seeded noise
    # repeated over the frame costs JPEG as much as fresh noise (it sees 8x8 blocks only) and
    # keeps the bytes reproducible; mirrored copies give each channel its own grain.
    side = 521
    tile = Image.frombytes("L", (side, side), rnd.randbytes(side * side)).point(lambda v: v * amplitude // 255)
    noise = Image.new("L", image.size)
    for y in range(0, image.height, side):
        for x in range(0, image.width, side):
            noise.paste(tile, (x, y))
    grain = Image.merge(
        "RGB",
        (noise, noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
    )
    return ImageChops.add(image, grain, offset=-(amplitude // 2))


def _write_gps(ifd: dict, lat: float, lon: float, alt: float | None = None) -> None:
    ifd[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
    ifd[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
    ifd[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
    ifd[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    if alt is not None:
        ifd[ExifTags.GPS.GPSAltitudeRef] = b"\x00" if alt >= 0 else b"\x01"
        ifd[ExifTags.GPS.GPSAltitude] = IFDRational(round(abs(alt) * 100), 100)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(round(seconds * 10000), 10000)


# Hand-made files ------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


@cache
def _small_jpeg(**params: object) -> bytes:
    return _encode(scene(640, 480, seed=7), "JPEG", quality=85, **params)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes, *extra: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + b"".join(extra)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    # A valid header (right CRC) claiming 10 gigapixels over a few hundred bytes of data: decoding
    # would need 30 GB before noticing that the rows run out.
    return _png(width, height, 8, 2, b"\x00" * 3 * 64)


def _png_rgb16() -> bytes:
    # Pillow cannot write 16-bit colour PNG, so the rows are written by hand: a red-to-blue
    # ramp in big-endian 16-bit samples, one filter byte per row.
    width, height = 96, 64
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += struct.pack(">HHH", x * 65535 // width, y * 65535 // height, 40000)
    return _png(width, height, 16, 2, bytes(rows))


def _png_ztxt_bomb() -> bytes:
    # 16 MB of text squeezed into a 16 KB zTXt chunk ahead of a small, honest image; Pillow
    # stops inflating text at 1 MB and refuses the file.
    text = b"Comment\x00\x00" + zlib.compress(b"\x00" * 16_000_000)
    rows = b"".join(b"\x00" + b"\x80" * 12 for _ in range(4))
    return _png(4, 4, 8, 2, rows, _png_chunk(b"zTXt", text))


def _png_gray16() -> bytes:
    image = Image.new("I;16", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), x * 1024)
    return _encode(image, "PNG")


def _png_palette_transparent() -> bytes:
    image = Image.new("P", (120, 80), 0)
    image.putpalette([0, 0, 0, 200, 30, 30, 30, 30, 200] + [0] * 759)
    ImageDraw.Draw(image).ellipse((20, 10, 100, 70), fill=1)
    ImageDraw.Draw(image).rectangle((50, 30, 70, 50), fill=2)
    return _encode(image, "PNG", transparency=0)


def _png_gray_alpha() -> bytes:
    image = Image.new("LA", (100, 60), (0, 0))
    ImageDraw.Draw(image).rectangle((20, 10, 80, 50), fill=(40, 255))
    return _encode(image, "PNG")


def _animated(fmt: str, size: tuple[int, int] = (160, 120)) -> bytes:
    # The first frame is red: a pipeline that takes any other frame shows green or blue.
    frames = [Image.new("RGB", size, colour) for colour in ((220, 20, 20), (20, 220, 20), (20, 20, 220))]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def _jpeg_with_sof(width: int, height: int) -> bytes:
    # A real small JPEG whose frame header is rewritten to claim another size.
    data = bytearray(_small_jpeg())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _webp_bomb() -> bytes:
    # An extended-format header (VP8X) announcing a 16384 x 16384 canvas around a tiny image:
    # libwebp would allocate that canvas while the file is merely being opened.
    image = _encode(Image.new("RGB", (8, 8), (1, 2, 3)), "WEBP", lossless=True)[12:]
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + image
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _jpeg_scan_bomb() -> bytes:
    # A progressive JPEG of a flat colour with its last scan repeated 200 times: a few bytes per
    # repetition, each one making the decoder walk every block of the image once more.
    data = _encode(Image.new("RGB", (2048, 1536), (120, 90, 60)), "JPEG", progressive=True)
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    return data[:-2] + last_scan * 200 + b"\xff\xd9"


def _jpeg_with_segment(segment: bytes) -> bytes:
    data = _small_jpeg()
    return data[:2] + segment + data[2:]


def _corrupt_exif() -> bytes:
    # A TIFF header whose first directory claims 65535 entries and then stops.
    body = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\xff\xff" + b"\x01\x12\x00\x03" * 4
    return _jpeg_with_segment(b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body)


def _zip_of(name: str, content: bytes) -> bytes:
    # A fixed member date: with the clock's, two builds of one case a second apart differed, and the
    # byte-identical download check compared the upload with a rebuilt copy.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def _random_bytes() -> bytes:
    return b"\x00" + random.Random(42).randbytes(255)


def oversized_jpeg(limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    # A genuine JPEG padded past the body limit, so only the size can be the reason to refuse it.
    data = _small_jpeg()
    return data + b"\x00" * (limit + 1 - len(data))


_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
  <script>fetch('/api/v1/me').then(r => r.text()).then(alert)</script>
  <rect width="100" height="100" fill="red"/>
</svg>
"""
_HTML = b"<!doctype html><html><body><img src=x onerror=alert(document.cookie)></body></html>"
_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF\n"
_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free" + b"\x00" * 64
_HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x00\x08meta" + b"\x00" * 64


CASES: tuple[Case, ...] = (
    # Not an image at all, or not one we accept: 415.
    Case("zero_bytes", lambda: b"", 415),
    Case("random_bytes", _random_bytes, 415),
    Case("html", lambda: _HTML, 415),
    Case("svg_with_script", lambda: _SVG, 415),
    Case("pdf", lambda: _PDF, 415),
    Case("zip_renamed_jpg", lambda: _zip_of("photo.jpg", _small_jpeg()), 415),
    Case("gif_animated", lambda: _animated("GIF"), 415),
    Case("bmp", lambda: _encode(scene(64, 48), "BMP"), 415),
    Case("tiff", lambda: _encode(scene(64, 48), "TIFF"), 415),
    Case("avif", lambda: _encode(scene(64, 48), "AVIF"), 415),
    Case("mp4_header", lambda: _MP4, 415),
    Case("heic_header", lambda: _HEIC, 415),
    # The right magic bytes over unusable data, or a decompression bomb: 422.
    Case("jpeg_truncated", lambda: _small_jpeg()[: len(_small_jpeg()) * 3 // 5], 422),
    Case("jpeg_soi_only", lambda: b"\xff\xd8\xff", 422),
    Case("png_magic_then_garbage", lambda: b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(200), 422),
    Case("webp_magic_then_garbage", lambda: b"RIFF\x00\x01\x00\x00WEBPVP8 " + random.Random(2).randbytes(200), 422),
    Case("png_bomb", png_bomb, 422),
    Case("jpeg_sof_claims_huge", lambda: _jpeg_with_sof(65000, 65000), 422),
    Case("webp_bomb", _webp_bomb, 422),
    Case("png_ztxt_bomb", _png_ztxt_bomb, 422),
    Case("jpeg_scan_bomb", _jpeg_scan_bomb, 422),
    # Odd but genuine photos: accepted, with the size a person would see.
    Case("jpeg_script_in_comment", lambda: _small_jpeg(comment=b"<script>alert(1)</script>"), "ok", (640, 480), "jpeg"),
    Case("jpeg_progressive", lambda: _small_jpeg(progressive=True), "ok", (640, 480), "jpeg"),
    Case("jpeg_cmyk", lambda: _encode(scene(300, 200).convert("CMYK"), "JPEG"), "ok", (300, 200), "jpeg"),
    Case("jpeg_grayscale", lambda: _encode(scene(300, 200).convert("L"), "JPEG"), "ok", (300, 200), "jpeg"),
    Case("png_16bit_gray", _png_gray16, "ok", (64, 48), "png"),
    Case("png_16bit_rgb", _png_rgb16, "ok", (96, 64), "png"),
    Case("png_palette_transparent", _png_palette_transparent, "ok", (120, 80), "png"),
    Case("png_gray_alpha", _png_gray_alpha, "ok", (100, 60), "png"),
    Case("png_animated", lambda: _animated("PNG"), "ok", (160, 120), "png"),
    Case("webp_animated", lambda: _animated("WEBP"), "ok", (160, 120), "webp"),
    Case(
        "webp_lossless_alpha",
        lambda: _encode(scene(200, 100).convert("RGBA"), "WEBP", lossless=True),
        "ok",
        (200, 100),
        "webp",
    ),
    Case("webp_lossy", lambda: _encode(scene(400, 300), "WEBP", quality=80), "ok", (400, 300), "webp"),
    Case("jpeg_orientation_3", lambda: make_phone_jpeg(640, 480, exif_orientation=3), "ok", (640, 480), "jpeg"),
    Case("jpeg_orientation_6", lambda: make_phone_jpeg(640, 480, exif_orientation=6), "ok", (480, 640), "jpeg"),
    Case("jpeg_orientation_8", lambda: make_phone_jpeg(640, 480, exif_orientation=8), "ok", (480, 640), "jpeg"),
    Case("jpeg_orientation_invalid", lambda: make_phone_jpeg(640, 480, exif_orientation=9), "ok", (640, 480), "jpeg"),
    Case("jpeg_gps", lambda: make_phone_jpeg(800, 600, gps=(31.5204, 74.3587, 217.0)), "ok", (800, 600), "jpeg"),
    Case("jpeg_1x1", lambda: _encode(Image.new("RGB", (1, 1), (9, 99, 199)), "JPEG"), "ok", (1, 1), "jpeg"),
    Case("png_1x1", lambda: _encode(Image.new("RGBA", (1, 1), (9, 99, 199, 0)), "PNG"), "ok", (1, 1), "png"),
    Case("jpeg_panorama", lambda: make_phone_jpeg(8000, 200), "ok", (8000, 200), "jpeg"),
    Case("jpeg_12mp_phone", make_phone_jpeg, "ok", (4000, 3000), "jpeg"),
    Case("jpeg_corrupt_exif", _corrupt_exif, "ok", (640, 480), "jpeg"),
    # A JPEG with a ZIP appended (a "GIFAR"). Accepted as the JPEG it starts with: browsers only
    # ever receive our re-encoded renditions, and the original is served as an attachment.
    Case(
        "jpeg_then_zip",
        lambda: _small_jpeg() + _zip_of("evil.class", b"\xca\xfe\xba\xbe" * 64),
        "ok",
        (640, 480),
        "jpeg",
    ),
    # Refused by the route before a byte is read; the pipeline never sees it.
    Case("oversized_body", oversized_jpeg, 413, layer="http"),
)


def cases(layer: str = "pipeline") -> list[Case]:
    return [case for case in CASES if case.layer == layer]
