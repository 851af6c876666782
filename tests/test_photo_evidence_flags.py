"""The photo evidence of a visit: photos taken far from the station, outside the visit's times or with no
evidence at all, and an inspection fix too imprecise to show presence, flag the inspection in the queue,
the flagged list and the reviewer's evidence (server/review/evidence.py, schema 0020)."""

from __future__ import annotations

import io
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from tests.review_fixtures import answers, make_ctx

# Station A is at 31.5, 74.35 (tests.factories.make_world); 0.45 degrees of latitude is about 50 km.
AT_STATION = {"lat": "31.5001", "lon": "74.35"}
FIFTY_KM = {"lat": "31.95", "lon": "74.35"}
STARTED = "2026-11-27T09:00:00Z"
DURING = "2026-11-27T09:20:00Z"
THREE_WEEKS_BEFORE = "2026-11-06T09:00:00Z"

NO_PHOTO_FLAGS = {"photos_far": False, "photos_off_time": False, "photos_unproven": False, "location_imprecise": False}


async def put_photo(ctx, inspection_id: uuid.UUID, photo_id: uuid.UUID, **params: str) -> None:
    # Noise, so no two photos are near-identical and none raises the reuse flag.
    out = io.BytesIO()
    Image.frombytes("RGB", (96, 64), os.urandom(96 * 64 * 3)).save(out, "JPEG", quality=85)
    response = await ctx.client.put(
        f"/api/v1/photos/{photo_id}",
        await ctx.token("inspector_a"),
        content=out.getvalue(),
        params={"inspection_id": str(inspection_id), "item_key": "f_staffed", **params},
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 201, response.text


def with_photos(photo_ids: list[uuid.UUID]) -> dict[str, Any]:
    values = answers()
    values["f_staffed"]["photos"] = [str(p) for p in photo_ids]
    return values


async def submitted_with(ctx, photos: list[dict[str, str]], **kw: Any) -> uuid.UUID:
    """An inspection submitted naming len(photos) photos, then each uploaded with its capture evidence
    (the order a phone sends them in)."""
    ids = [uuid.uuid4() for _ in photos]
    inspection_id, _ = await ctx.submit(values=with_photos(ids), finished_at="2026-11-27T10:00:00Z", **kw)
    for photo_id, params in zip(ids, photos, strict=True):
        await put_photo(ctx, inspection_id, photo_id, **params)
    return inspection_id


async def queue_row(ctx, inspection_id: uuid.UUID, **params: Any) -> dict[str, Any] | None:
    rows = (await ctx.get("/api/v1/review/queue", **params)).json()["rows"]
    return next((r for r in rows if r["id"] == str(inspection_id)), None)


async def flagged_ids(ctx, **params: Any) -> list[str]:
    return [r["id"] for r in (await ctx.get("/api/v1/dashboard/flagged", **params)).json()["rows"]]


async def test_photos_taken_fifty_km_away_three_weeks_earlier_flag_an_inspection_whose_fix_is_at_the_station(client):
    ctx = await make_ctx(client)
    good = {**AT_STATION, "taken_at": DURING}
    bad = {**FIFTY_KM, "taken_at": THREE_WEEKS_BEFORE}
    inspection_id = await submitted_with(ctx, [bad, bad, bad, good])

    row = await queue_row(ctx, inspection_id)
    assert row is not None and row["flags"]["far_from_station"] is False
    assert {k: row["flags"][k] for k in NO_PHOTO_FLAGS} == {
        **NO_PHOTO_FLAGS,
        "photos_far": True,
        "photos_off_time": True,
    }
    assert (row["photos_far_count"], row["photos_off_time_count"], row["photos_unproven_count"]) == (3, 3, 0)
    assert await queue_row(ctx, inspection_id, flag="photos_far") is not None
    assert await queue_row(ctx, inspection_id, flag="photos_off_time") is not None
    assert await queue_row(ctx, inspection_id, flag="photos_unproven") is None
    assert str(inspection_id) in await flagged_ids(ctx)
    assert str(inspection_id) in await flagged_ids(ctx, flag="photos_far")

    # The reviewer's evidence names each photo's problems, how far and how early.
    judged = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews")).json()["evidence"]
    assert (judged["photos"], judged["photos_far"], judged["photos_off_time"], judged["radius_m"]) == (4, 3, 3, 300)
    problems = [p["problems"] for p in judged["per_photo"]]
    assert sorted(problems) == [[], ["far", "off_time"], ["far", "off_time"], ["far", "off_time"]]
    far = next(p for p in judged["per_photo"] if p["problems"])
    assert 49_000 < far["distance_m"] < 51_000
    assert far["off_by_s"] == -21 * 86400
    # An inspector reads their reviews without the judgement.
    own = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews", "inspector_a")).json()
    assert own["evidence"] is None


async def test_photos_without_any_evidence_and_photos_after_the_visit_or_in_the_future_are_flagged(client):
    ctx = await make_ctx(client)
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nothing = await submitted_with(ctx, [{}])
    after = await submitted_with(ctx, [{**AT_STATION, "taken_at": "2026-11-27T13:00:00Z"}])
    ahead = await submitted_with(ctx, [{**AT_STATION, "taken_at": future}])
    # Within an hour either side of the visit is the visit.
    inside = await submitted_with(
        ctx, [{**AT_STATION, "taken_at": "2026-11-27T08:10:00Z"}, {**AT_STATION, "taken_at": "2026-11-27T10:50:00Z"}]
    )

    row = await queue_row(ctx, nothing)
    assert row["flags"]["photos_unproven"] is True and row["photos_unproven_count"] == 1
    for late in (after, ahead):
        row = await queue_row(ctx, late)
        assert row["flags"]["photos_off_time"] is True, late
    row = await queue_row(ctx, inside)
    assert {k: row["flags"][k] for k in NO_PHOTO_FLAGS} == NO_PHOTO_FLAGS
    assert (row["photos_far_count"], row["photos_off_time_count"], row["photos_unproven_count"]) == (0, 0, 0)
    assert row["flags"]["reused_photos"] is False
    listed = await flagged_ids(ctx)
    assert {str(nothing), str(after), str(ahead)} <= set(listed) and str(inside) not in listed


async def test_a_fix_less_precise_than_the_radius_is_flagged_as_imprecise_not_at_the_station(client):
    ctx = await make_ctx(client)
    vague, _ = await ctx.submit(location={"lat": 31.5018, "lon": 74.35, "accuracy_m": 5000})
    sharp, _ = await ctx.submit(location={"lat": 31.5018, "lon": 74.35, "accuracy_m": 20})

    row = await queue_row(ctx, vague)
    assert row["flags"]["far_from_station"] is False and row["flags"]["location_imprecise"] is True
    assert row["accuracy_m"] == 5000
    assert (await queue_row(ctx, sharp))["flags"]["location_imprecise"] is False
    assert [r["id"] for r in (await ctx.get("/api/v1/review/queue", flag="imprecise")).json()["rows"]] == [str(vague)]
    listed = await flagged_ids(ctx)
    assert str(vague) in listed and str(sharp) not in listed
    judged = (await ctx.get(f"/api/v1/inspections/{vague}/reviews")).json()["evidence"]
    assert judged["location_imprecise"] is True


async def test_only_the_photos_the_current_answers_name_count_and_a_resubmission_judges_again(client):
    ctx = await make_ctx(client)
    bad = {**FIFTY_KM, "taken_at": DURING}
    inspection_id = await submitted_with(ctx, [bad])
    assert (await queue_row(ctx, inspection_id))["photos_far_count"] == 1

    returned = await ctx.review(inspection_id, "return", 1, comment="retake the photo at the station")
    assert returned.status_code == 200, returned.text
    retaken = uuid.uuid4()
    await put_photo(ctx, inspection_id, retaken, **AT_STATION, taken_at=DURING)
    # The far photo is no longer named: the resubmission is judged on the retaken one alone.
    await ctx.put(
        inspection_id,
        base=returned.json()["revision"],
        values=with_photos([retaken]),
        finished_at="2026-11-27T10:00:00Z",
    )
    row = await queue_row(ctx, inspection_id)
    assert row["flags"]["photos_far"] is False and row["photos_far_count"] == 0
    assert str(inspection_id) not in await flagged_ids(ctx)


def test_a_zone_less_camera_clock_is_off_time_only_when_it_is_outside_the_visit_in_every_zone():
    from server.review import evidence

    started = datetime(2026, 11, 27, 9, tzinfo=UTC)
    finished = started + timedelta(hours=1)
    now = started + timedelta(days=1)
    base = {"id": uuid.uuid4(), "exif_lat": None, "exif_lon": None, "device_lat": None, "device_lon": None}
    base |= {"device_taken_at": None, "distance_m": None}
    # Pakistan's wall clock, five hours ahead of UTC, written without its zone: the visit itself.
    local = evidence.judge_photo({**base, "exif_taken_at": "2026-11-27T14:30:00"}, started, finished, now, 300)
    assert local.problems == []
    weeks = evidence.judge_photo({**base, "exif_taken_at": "2026-11-06T14:30:00"}, started, finished, now, 300)
    assert weeks.problems == ["off_time"]


async def test_a_phone_clock_some_minutes_fast_does_not_flag_its_last_photos_as_from_the_future(client):
    """The server believes a phone's inspection times up to an hour ahead of its own clock
    (structs.PHONE_CLOCK_AHEAD_MINUTES): a photo taken just before a prompt upload on a phone 20 minutes
    fast is the visit's, not the future's, or the queue would flag what the inspection page, judged
    later, shows as fine."""
    ctx = await make_ctx(client)
    fast = datetime.now(UTC) + timedelta(minutes=20)
    photo = uuid.uuid4()
    inspection_id, _ = await ctx.submit(values=with_photos([photo]), finished_at=fast.strftime("%Y-%m-%dT%H:%M:%SZ"))
    await put_photo(
        ctx, inspection_id, photo, **AT_STATION, taken_at=(fast - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    row = await queue_row(ctx, inspection_id)
    assert row["flags"]["photos_off_time"] is False and row["photos_off_time_count"] == 0
    judged = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews")).json()["evidence"]
    assert [p["problems"] for p in judged["per_photo"]] == [[]]
