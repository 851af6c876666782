"""The photo reuse check against a phone gallery's one-tap edits, and the queue's "reused" flag against the
answers that name the photos (server/photos/pipeline.reuse_hashes, queries.find_near_duplicates and
recount_reused, schema 0021).

A mirror image moves every pixel, so the whole picture's hash of the copy lands far from its source's:
each edit is uploaded after its source and before it, and must be found both ways; different pictures
of the same kind of scene (register pages, lock-ups, notice boards) must stay apart. Crops are not found
yet (see pipeline.CENTRE_MARGIN for why).
"""

from __future__ import annotations

import io
import random
import uuid

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from server.photos import queries, rules
from server.photos.pipeline import REUSE_MAX_DISTANCE, hamming, process
from tests.photo_corpus import make_phone_jpeg
from tests.review_fixtures import answers, make_ctx
from tests.test_photos_api import Env, make_env, make_inspection, rows, upload

W, H = 1200, 900


def _jpeg(img: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _mirror(data: bytes) -> bytes:
    return _jpeg(_open(data).transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def _reencode(data: bytes) -> bytes:
    return _jpeg(_open(data), quality=60)


def _half(data: bytes) -> bytes:
    img = _open(data)
    return _jpeg(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS))


def _brighter(data: bytes) -> bytes:
    return _jpeg(_open(data).point(lambda v: min(255, v + 25)))


# What the audit found missed (the mirror image) and what was already caught.
EDITS = {
    "mirror": _mirror,
    "jpeg_quality_60": _reencode,
    "resized_to_half": _half,
    "brightness_plus_25": _brighter,
}


# Pictures of the same kind of scene, each seed another one ------------------------------------------


def register_page(seed: int) -> bytes:
    """A ruled register lying on a table, each seed another page written by hand, placed a little
    differently."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H), (70, 50, 35))
    draw = ImageDraw.Draw(img)
    x0, y0 = 60 + rnd.randint(-25, 25), 40 + rnd.randint(-20, 20)
    x1, y1 = W - 60 + rnd.randint(-25, 25), H - 40 + rnd.randint(-20, 20)
    draw.rectangle((x0, y0, x1, y1), fill=(238, 232, 212))
    for y in range(y0 + 60, y1, 36):
        draw.line((x0, y, x1, y), fill=(150, 170, 200), width=2)
    for x in (x0 + 90, x0 + 420, x0 + 800):
        draw.line((x, y0, x, y1), fill=(200, 90, 90), width=2)
    for y in range(y0 + 66, y1 - 30, 36):
        x = x0 + 100
        while x < x1 - 60 and rnd.random() < 0.93:
            n = rnd.randint(3, 9)
            draw.line([(x + 7 * i, y + rnd.randint(4, 26)) for i in range(n)], fill=(30, 40, 120), width=3)
            x += 7 * n + rnd.randint(10, 40)
    return _jpeg(img.filter(ImageFilter.GaussianBlur(1)))


def lockup(seed: int) -> bytes:
    """A barred lock-up seen from the corridor, someone on a bench inside: each seed another lock-up, or
    the same one from elsewhere in another light."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H), (150, 148, 140))
    draw = ImageDraw.Draw(img)
    left, right, top = 150 + rnd.randint(-120, 120), 1050 + rnd.randint(-120, 120), 80 + rnd.randint(-60, 120)
    draw.rectangle((left, top, right, H), fill=(45, 42, 40))
    bench = rnd.randint(500, 720)
    draw.rectangle((left + rnd.randint(20, 300), bench, left + rnd.randint(400, 700), bench + 40), fill=(90, 70, 50))
    figure = rnd.randint(left + 50, right - 150)
    draw.ellipse((figure, bench - 260, figure + 80, bench - 180), fill=(120, 90, 70))
    draw.rectangle((figure - 10, bench - 180, figure + 90, bench + 60), fill=(60, 70, 90))
    spacing = rnd.randint(55, 80)
    for x in range(left, right, spacing):
        draw.rectangle((x, top, x + 12, H), fill=(25, 25, 28))
    for y in (top + rnd.randint(100, 200), top + rnd.randint(400, 520)):
        draw.rectangle((left, y, right, y + 14), fill=(25, 25, 28))
    # The light falls from one side or the other.
    shade = Image.linear_gradient("L").rotate(rnd.choice((90, -90, 0, 180))).resize((W, H))
    img = Image.composite(img, ImageEnhance.Brightness(img).enhance(rnd.uniform(0.45, 0.7)), shade)
    return _jpeg(img)


def notice_board(seed: int) -> bytes:
    """A cork notice board with its notices pinned up: each seed another board, or another week's."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (W, H), (225, 225, 215))
    draw = ImageDraw.Draw(img)
    draw.rectangle((80, 60, W - 80, H - 60), fill=(160, 110, 65), outline=(90, 60, 30), width=18)
    for _ in range(rnd.randint(6, 9)):
        w, h = rnd.randint(150, 260), rnd.randint(200, 320)
        x, y = rnd.randint(110, W - 110 - w), rnd.randint(90, H - 90 - h)
        draw.rectangle((x, y, x + w, y + h), fill=rnd.choice(((245, 245, 240), (250, 240, 150), (240, 240, 250))))
        for line in range(y + 25, y + h - 15, 18):
            draw.line((x + 15, line, x + w - rnd.randint(15, 80), line), fill=(40, 40, 40), width=3)
        draw.ellipse((x + w // 2 - 7, y + 3, x + w // 2 + 7, y + 17), fill=(200, 30, 30))
    return _jpeg(img)


SCENES = {"register_page": register_page, "lockup": lockup, "notice_board": notice_board}


def reuse_distance(first: bytes, second: bytes) -> int:
    """The distance find_near_duplicates gives `second` uploaded after `first`, computed in Python."""
    stored, new = process(first), process(second)
    return min(hamming(h, stored.phash) for h in (new.phash, new.phash_mirrored))


# Through the API ----------------------------------------------------------------------------------


@pytest.fixture
async def env(client) -> Env:
    return await make_env(client)


async def _reused_in(env: Env, data: bytes, inspection_id: uuid.UUID) -> tuple[str, list[str]]:
    sent = await upload(env, data, inspection_id=inspection_id)
    assert sent.status_code == 201, sent.text
    return sent.json()["id"], [r["photo_id"] for r in sent.json()["reused_in"]]


@pytest.mark.parametrize("edit", list(EDITS))
async def test_a_gallery_edit_is_found_whether_it_comes_after_its_source_or_before(env: Env, edit: str):
    source = make_phone_jpeg(1200, 900, seed=list(EDITS).index(edit) + 40)
    edited = EDITS[edit](source)
    first, second, third, fourth = [
        await make_inspection(env.api, env.world, env.version_id, station=s) for s in ("A", "A2", "A", "A2")
    ]
    original_id, found = await _reused_in(env, source, first)
    assert found == []
    copy_id, found = await _reused_in(env, edited, second)
    assert found == [original_id], edit
    # The other way round: the edited copy was stored first, its source comes later.
    later_copy, _ = await _reused_in(env, edited, third)
    _, found = await _reused_in(env, source, fourth)
    assert set(found) >= {later_copy}, edit
    [pair] = await rows(
        env,
        "SELECT distance FROM photo_reuse WHERE photo_id = $1 AND other_id = $2",
        *map(uuid.UUID, (copy_id, original_id)),
    )
    assert pair["distance"] <= REUSE_MAX_DISTANCE


@pytest.mark.parametrize("scene", list(SCENES))
async def test_different_pictures_of_the_same_kind_of_scene_are_not_taken_for_reuse(env: Env, scene: str):
    make = SCENES[scene]
    pictures = [make(seed) for seed in range(6)]
    # Each picture is its own inspection's, so every later upload is checked against every earlier one.
    for n, data in enumerate(pictures):
        inspection_id = await make_inspection(env.api, env.world, env.version_id, station="A" if n % 2 else "A2")
        _, found = await _reused_in(env, data, inspection_id)
        assert found == [], (scene, n)
    assert await rows(env, "SELECT 1 FROM photo_reuse") == []
    # Near, yet apart: the closest pair is within twice the distance of the whole-picture hash, and
    # no comparison the check makes brings any pair within the distance.
    closest = min(reuse_distance(a, b) for i, a in enumerate(pictures) for b in pictures[i + 1 :])
    assert REUSE_MAX_DISTANCE < closest, scene


async def test_the_reuse_query_reads_the_band_indexes_on_a_large_table(conn):
    """On 100,000 photos the search for a picture and its mirror image stays index probes, never a scan
    of the table."""
    from tests.factories import make_version, make_world
    from tests.test_photos_api import DEFINITION

    world = await make_world(conn)
    version = await make_version(conn, DEFINITION)
    inspections = [uuid.uuid4(), uuid.uuid4()]
    for inspection_id in inspections:
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document) VALUES ($1, $2, $3, $4, 'draft', 1, '\\x00', '{}')""",
            inspection_id,
            world.stations["A"],
            version,
            world.users["inspector_a"],
        )
    await conn.execute(
        """INSERT INTO photos (id, inspection_id, item_key, uploaded_by, sha256, phash, phash_centre, size_bytes,
                               format, width, height, original_key, display_key, thumb_key)
           SELECT gen_random_uuid(), $1, 'lockup', $2, sha256(n::text::bytea),
                  ('x' || substr(md5(n::text), 1, 16))::bit(64)::bigint,
                  CASE WHEN n % 4 > 0 THEN ('x' || substr(md5(n::text), 17, 16))::bit(64)::bigint END,
                  1, 'jpeg', 1, 1, 'k/' || n, 'd/' || n, 't/' || n
             FROM generate_series(1, 100000) AS n""",
        inspections[0],
        world.users["inspector_a"],
    )
    await conn.execute("ANALYZE photos")
    hashes = process(make_phone_jpeg(640, 480, seed=60))
    probes = [
        sorted(set().union(*bands))
        for bands in zip(*(rules.band_probes(h) for h in (hashes.phash, hashes.phash_mirrored)), strict=True)
    ]

    class Explaining:
        """Runs the query's own text under EXPLAIN."""

        def __init__(self) -> None:
            self.plan = ""

        async def fetch(self, sql: str, *args):
            self.plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *args))
            return await conn.fetch(sql, *args)

    explaining = Explaining()
    await queries.find_near_duplicates(
        explaining,  # type: ignore[arg-type]
        phash=hashes.phash,
        mirrored=hashes.phash_mirrored,
        sha256=bytes.fromhex(hashes.sha256),
        inspection_id=inspections[1],
        probes=probes,
        max_distance=REUSE_MAX_DISTANCE,
    )
    plan = explaining.plan
    assert "Seq Scan on photos" not in plan, plan
    for index in [f"photos_phash_band{i}_idx" for i in range(4)]:
        assert index in plan, (index, plan)


# The flag follows the answers ---------------------------------------------------------------------


async def _queue_flag(ctx, inspection_id: uuid.UUID) -> bool:
    rows_ = (await ctx.get("/api/v1/review/queue")).json()["rows"]
    return next(r for r in rows_ if r["id"] == str(inspection_id))["flags"]["reused_photos"]


async def _put_photo(ctx, inspection_id: uuid.UUID, photo_id: uuid.UUID, data: bytes) -> dict:
    response = await ctx.client.put(
        f"/api/v1/photos/{photo_id}",
        await ctx.token("inspector_a"),
        content=data,
        params={"inspection_id": str(inspection_id), "item_key": "f_staffed"},
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _naming(*photo_ids: uuid.UUID) -> dict:
    values = answers()
    values["f_staffed"]["photos"] = [str(p) for p in photo_ids]
    return values


async def _revision(ctx, inspection_id: uuid.UUID) -> int:
    conn = await ctx.client.db()
    try:
        return await conn.fetchval("SELECT revision FROM inspections WHERE id = $1", inspection_id)
    finally:
        await conn.close()


async def test_the_reused_flag_follows_the_photos_the_answers_name(client):
    ctx = await make_ctx(client)
    data = make_phone_jpeg(800, 600, seed=70)
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    elsewhere, _ = await ctx.submit(station="A2", values=_naming(theirs))
    inspection_a, revision = await ctx.submit(station="A", values=_naming(mine))
    await _put_photo(ctx, elsewhere, theirs, data)
    assert (await _put_photo(ctx, inspection_a, mine, data))["reused_in"] != []
    assert await _queue_flag(ctx, inspection_a) and await _queue_flag(ctx, elsewhere)

    # Returned, and sent again without the photo: no answer names it, the reviewer could not find it.
    assert (await ctx.review(inspection_a, "return", revision, comment="Retake")).status_code == 200
    await ctx.put(inspection_a, base=await _revision(ctx, inspection_a), values=answers())
    assert await _queue_flag(ctx, inspection_a) is False
    # The other inspection's answers still name its copy.
    assert await _queue_flag(ctx, elsewhere) is True

    # Named again (another return, another resend), it flags the inspection again.
    assert (await ctx.review(inspection_a, "return", await _revision(ctx, inspection_a))).status_code == 200
    await ctx.put(inspection_a, base=await _revision(ctx, inspection_a), values=_naming(mine))
    assert await _queue_flag(ctx, inspection_a) is True


async def test_a_reused_photo_no_answer_names_does_not_flag_its_inspection(client):
    ctx = await make_ctx(client)
    data = make_phone_jpeg(800, 600, seed=71)
    named, loose = uuid.uuid4(), uuid.uuid4()
    elsewhere, _ = await ctx.submit(station="A2", values=_naming(named))
    inspection_id, _ = await ctx.submit(station="A", values=answers())
    await _put_photo(ctx, elsewhere, named, data)
    # Uploaded to an inspection whose answers do not name it: the pair is still recorded for the
    # photo's own page, but the queue has nothing to show the reviewer.
    reply = await _put_photo(ctx, inspection_id, loose, data)
    assert [r["photo_id"] for r in reply["reused_in"]] == [str(named)]
    assert await _queue_flag(ctx, inspection_id) is False
    assert await _queue_flag(ctx, elsewhere) is True
