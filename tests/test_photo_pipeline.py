"""The photo pipeline against its hostile-file corpus, EXIF evidence, orientation and perceptual hash."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import multiprocessing
import pickle
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageOps

from server.errors import DomainError, FieldError, Invalid, TooLarge, Unsupported
from server.photos.pipeline import REUSE_MAX_DISTANCE, Gps, Processed, hamming, phash, process, sniff
from tests.photo_corpus import CASES, Case, cases, make_phone_jpeg

ROOT = Path(__file__).resolve().parents[1]
ERRORS = {413: TooLarge, 415: Unsupported, 422: Invalid}
LAHORE = timezone(timedelta(hours=5))
WHITE = (255, 255, 255)


def build(name: str) -> bytes:
    return next(case for case in CASES if case.name == name).build()


def segments(jpeg: bytes) -> list[int]:
    """The marker of every segment before the first scan."""
    found, i = [], 2
    while jpeg[i] == 0xFF:
        marker = jpeg[i + 1]
        found.append(marker)
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(jpeg[i + 2 : i + 4])
    return found


def decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg), formats=["JPEG"])
    image.load()
    return image


def assert_bare_jpeg(jpeg: bytes, size: tuple[int, int]) -> None:
    image = decoded(jpeg)
    assert image.size == size
    assert image.mode in ("RGB", "L")
    # Nothing but the JFIF header, tables and frame: no EXIF/XMP (APP1), no ICC (APP2), no
    # vendor segments (APP3-APP15) and no comment.
    markers = segments(jpeg)
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]
    assert b"Exif" not in jpeg and b"<script" not in jpeg
    assert not image.getexif() and "icc_profile" not in image.info and "comment" not in image.info


def expected_fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_every_corpus_file_is_processed_or_refused_with_its_exact_error(case: Case) -> None:
    data = case.build()
    if case.expect != "ok":
        with pytest.raises(DomainError) as refused:
            process(data)
        assert type(refused.value) is ERRORS[case.expect]
        assert refused.value.status == case.expect
        if case.expect == 422:
            assert [error.field for error in refused.value.errors] == ["body"]
        return
    result = process(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.format, (result.width, result.height)) == (case.format, case.size)
    assert result.display_size == expected_fit(case.size, 1600)
    assert result.thumb_size == expected_fit(result.display_size, 320)
    assert_bare_jpeg(result.display, result.display_size)
    assert_bare_jpeg(result.thumb, result.thumb_size)
    assert -(2**63) <= result.phash < 2**63
    assert pickle.loads(pickle.dumps(result)) == result


def test_the_corpus_covers_every_outcome_with_at_least_25_inputs() -> None:
    assert len(CASES) >= 25
    assert {case.expect for case in CASES} == {"ok", 413, 415, 422}
    assert all(case.size for case in CASES if case.expect == "ok")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic", None),
        (b"\x00\x00\x00\x20ftypavif", None),
        (b"GIF89a", None),
        (b"BM\x00\x00", None),
        (b"II*\x00", None),
        (b"%PDF-1.7", None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_sniff_names_only_the_three_accepted_formats(data: bytes, name: str | None) -> None:
    assert sniff(data) == name


def test_a_script_comment_never_reaches_a_rendition() -> None:
    data = next(case for case in CASES if case.name == "jpeg_script_in_comment").build()
    assert b"<script>" in data
    result = process(data)
    assert b"<script" not in result.display and b"<script" not in result.thumb


def test_renditions_of_a_gps_tagged_photo_carry_no_exif_at_all() -> None:
    data = make_phone_jpeg(800, 600, gps=(31.5204, 74.3587, 217.0), taken_at=datetime(2026, 11, 27, 9, 15))
    assert b"Exif" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    result = process(data)
    for rendition in (result.display, result.thumb):
        assert b"Exif" not in rendition
        assert not decoded(rendition).getexif().get_ifd(ExifTags.IFD.GPSInfo)


@pytest.mark.parametrize(
    ("taken_at", "expected"),
    [
        (datetime(2026, 11, 27, 9, 15, 30, tzinfo=LAHORE), "2026-11-27T04:15:30Z"),
        (datetime(2026, 1, 1, 2, 0, tzinfo=LAHORE), "2025-12-31T21:00:00Z"),
        (datetime(2026, 11, 27, 9, 15, tzinfo=timezone(-timedelta(hours=3, minutes=30))), "2026-11-27T12:45:00Z"),
        (datetime(2026, 11, 27, 9, 15, 30), "2026-11-27T09:15:30"),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_capture_time_is_utc_when_the_offset_is_known_and_naive_local_otherwise(
    taken_at: datetime | str | None, expected: str | None
) -> None:
    assert process(make_phone_jpeg(320, 240, taken_at=taken_at)).exif_taken_at == expected


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ((31.5204, 74.3587, 217.0), Gps(lat=31.5204, lon=74.3587, alt=217.0)),
        ((31.5204, 74.3587), Gps(lat=31.5204, lon=74.3587, alt=None)),
        ((-22.9068, -43.1729, -12.5), Gps(lat=-22.9068, lon=-43.1729, alt=-12.5)),
        ((0.0, 0.0), None),
        (None, None),
    ],
)
def test_gps_becomes_signed_decimal_degrees(gps: tuple | None, expected: Gps | None) -> None:
    found = process(make_phone_jpeg(320, 240, gps=gps)).exif_gps
    if expected is None:
        assert found is None
        return
    assert found.lat == pytest.approx(expected.lat, abs=1e-6)
    assert found.lon == pytest.approx(expected.lon, abs=1e-6)
    assert found.alt == expected.alt


def test_a_coordinate_without_its_hemisphere_is_dropped_not_guessed() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 31.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (74.0, 21.0, 0.0)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(out, "JPEG", exif=exif)
    assert process(out.getvalue()).exif_gps is None


def quadrants(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (230, 30, 30))
    image.paste((30, 200, 30), (width // 2, 0, width, height // 2))
    image.paste((30, 30, 230), (0, height // 2, width // 2, height))
    image.paste((240, 240, 40), (width // 2, height // 2, width, height))
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_as_pillow_exif_transpose_does(orientation: int) -> None:
    # Pillow's own exif_transpose on the full image is the oracle; ours orients the reduced one.
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    quadrants(3200, 2000).save(out, "JPEG", quality=90, exif=exif)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(out.getvalue())))
    result = process(out.getvalue())
    assert (result.width, result.height) == expected.size
    shown = decoded(result.display).resize(expected.size)
    for fx, fy in itertools.product((0.25, 0.75), repeat=2):
        point = (int(expected.width * fx), int(expected.height * fy))
        assert all(abs(a - b) < 24 for a, b in zip(shown.getpixel(point), expected.getpixel(point), strict=True))


def centre(jpeg: bytes) -> tuple[int, ...]:
    image = decoded(jpeg).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def near(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 16) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.mark.parametrize("name", ["png_palette_transparent", "png_gray_alpha", "webp_lossless_alpha"])
def test_transparent_corners_are_laid_over_white(name: str) -> None:
    data = build(name)
    if name == "webp_lossless_alpha":
        # The scene itself is opaque; punch a transparent hole to look at.
        image = Image.open(io.BytesIO(data)).convert("RGBA")
        image.paste((0, 0, 0, 0), (0, 0, 20, 20))
        out = io.BytesIO()
        image.save(out, "WEBP", lossless=True)
        data = out.getvalue()
    display = decoded(process(data).display).convert("RGB")
    assert near(display.getpixel((2, 2)), WHITE)


def test_a_fully_transparent_single_pixel_becomes_white() -> None:
    assert near(centre(process(build("png_1x1")).display), WHITE)


@pytest.mark.parametrize("name", ["webp_animated", "png_animated"])
def test_an_animation_is_represented_by_its_first_frame(name: str) -> None:
    assert near(centre(process(build(name)).display), (220, 20, 20), tolerance=24)


def test_sixteen_bit_grey_is_scaled_to_eight_bits_not_clipped() -> None:
    # The ramp is x * 1024 in 16 bits, so x * 4 in 8 bits: at x = 32 that is mid-grey, not white.
    display = decoded(process(build("png_16bit_gray")).display).convert("L")
    assert abs(display.getpixel((32, 24)) - 128) <= 6


def test_sixteen_bit_colour_keeps_its_colours() -> None:
    display = decoded(process(build("png_16bit_rgb")).display).convert("RGB")
    assert near(display.getpixel((48, 32)), (128, 128, 156), tolerance=10)


def test_cmyk_is_converted_to_the_rgb_pillow_itself_would_show() -> None:
    data = build("jpeg_cmyk")
    expected = Image.open(io.BytesIO(data)).convert("RGB")
    shown = decoded(process(data).display).convert("RGB")
    assert expected.size == shown.size
    for point in [(30, 30), (150, 100), (270, 170)]:
        assert near(shown.getpixel(point), expected.getpixel(point), tolerance=24)


def test_a_panorama_keeps_its_aspect_down_to_the_thumbnail() -> None:
    result = process(build("jpeg_panorama"))
    assert (result.display_size, result.thumb_size) == ((1600, 40), (320, 8))


def test_the_pixel_limit_is_inclusive_and_parameterised() -> None:
    out = io.BytesIO()
    Image.new("RGB", (100, 100), (1, 2, 3)).save(out, "JPEG")
    assert process(out.getvalue(), max_pixels=10_000).width == 100
    with pytest.raises(Invalid):
        process(out.getvalue(), max_pixels=9_999)


def encoded(fmt: str, size: tuple[int, int], **params: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 60, 60)).save(out, fmt, **params)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encoded("JPEG", (300, 200)), id="jpeg"),
        pytest.param(encoded("PNG", (300, 200)), id="png"),
        pytest.param(encoded("WEBP", (300, 200), quality=80), id="webp_lossy_vp8"),
        pytest.param(encoded("WEBP", (300, 200), lossless=True), id="webp_lossless_vp8l"),
        pytest.param(build("webp_animated"), id="webp_extended_vp8x"),
    ],
)
def test_every_header_is_measured_before_pillow_opens_the_file(data: bytes) -> None:
    # One pixel over the limit is refused by our own header reading (its message names the
    # claimed size); exactly at the limit the photo goes through.
    size = Image.open(io.BytesIO(data)).size
    with pytest.raises(Invalid, match=f"claims {size[0]}x{size[1]} pixels"):
        process(data, max_pixels=size[0] * size[1] - 1)
    assert process(data, max_pixels=size[0] * size[1]).width == size[0]


def test_pillows_own_pixel_limit_is_left_as_it_was_found() -> None:
    before = Image.MAX_IMAGE_PIXELS
    process(build("jpeg_1x1"), max_pixels=1_000)
    with pytest.raises(Invalid):
        process(build("png_bomb"), max_pixels=1_000)
    assert Image.MAX_IMAGE_PIXELS == before


def test_rendition_sizes_follow_the_requested_bounds() -> None:
    result = process(make_phone_jpeg(1200, 900), display_px=800, thumb_px=100)
    assert (result.display_size, result.thumb_size) == ((800, 600), (100, 75))


def test_the_same_picture_re_encoded_or_resized_stays_within_the_reuse_distance() -> None:
    original = make_phone_jpeg(seed=11)
    reference = process(original).phash
    image = Image.open(io.BytesIO(original))
    for size, fmt, quality in [((2048, 1536), "JPEG", 70), ((800, 600), "JPEG", 40), ((1000, 750), "WEBP", 60)]:
        out = io.BytesIO()
        image.resize(size).save(out, fmt, quality=quality)
        assert hamming(reference, process(out.getvalue()).phash) <= REUSE_MAX_DISTANCE, (size, fmt, quality)


def test_different_pictures_are_far_apart() -> None:
    hashes = [process(make_phone_jpeg(800, 600, seed=seed)).phash for seed in range(8)]
    distances = [hamming(a, b) for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) > 2 * REUSE_MAX_DISTANCE


def test_phash_is_a_signed_64_bit_value_and_hamming_counts_differing_bits() -> None:
    value = phash(Image.open(io.BytesIO(make_phone_jpeg(640, 480, seed=4))))
    assert -(2**63) <= value < 2**63
    assert hamming(value, value) == 0
    assert hamming(0, -1) == 64
    assert hamming(-(2**63), 2**63 - 1) == 64
    assert hamming(0b1011, 0b0001) == hamming(0b0001, 0b1011) == 2


def test_processing_works_in_a_spawned_process_pool_and_errors_keep_their_fields() -> None:
    # The API runs the pipeline in a process pool: the function, its result and its errors
    # must all cross a process boundary intact.
    data = make_phone_jpeg(640, 480, gps=(31.5, 74.3))
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(process, data).result()
        with pytest.raises(Invalid) as refused:
            pool.submit(process, build("jpeg_truncated")).result()
    assert isinstance(result, Processed) and result == process(data)
    assert refused.value.errors == [FieldError("body", refused.value.detail)]


MEASURE = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {root!r})
    from tests.photo_corpus import CASES, make_phone_jpeg
    from server.errors import Invalid
    from server.photos.pipeline import process

    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    name = sys.argv[1]
    data = make_phone_jpeg() if name == "phone" else next(c for c in CASES if c.name == name).build()
    process(make_phone_jpeg(64, 48))
    before, started = peak_kib(), time.monotonic()
    try:
        process(data)
        outcome = "ok"
    except Invalid:
        outcome = "invalid"
    print(json.dumps({{"outcome": outcome, "grew_mb": (peak_kib() - before) / 1024,
                       "seconds": time.monotonic() - started}}))
    """
)


def measured(name: str) -> dict:
    script = MEASURE.format(root=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script, name], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize("name", ["png_bomb", "jpeg_sof_claims_huge", "webp_bomb", "jpeg_scan_bomb", "png_ztxt_bomb"])
def test_a_bomb_is_refused_quickly_without_ever_being_decoded(name: str) -> None:
    # A safety property, not a benchmark: decoding any of these would take gigabytes or
    # minutes, so generous bounds still tell refusal from decoding.
    found = measured(name)
    assert found["outcome"] == "invalid"
    assert found["grew_mb"] < 200
    assert found["seconds"] < 5


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_12_megapixel_photo_is_processed_in_bounded_memory() -> None:
    # About 30 MB is expected (DESIGN section 10 budgets 40); decoding at full size without
    # draft mode needs over 120, which this bound catches.
    found = measured("phone")
    assert found["outcome"] == "ok"
    assert found["grew_mb"] < 80
