"""An inspector transferred to another district (or whose station moved away) keeps the work done
before it: photos still on their way to a submitted inspection, a draft already on the server, a
returned inspection. The server takes them where the station is; it takes nothing else of theirs there."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from tests.inspection_fixtures import complete_answers, make_ctx


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


async def _put_photo(client, token, photo_id, inspection_id):
    return await client.put(
        f"/api/v1/photos/{photo_id}",
        token,
        content=_jpeg(),
        params={"inspection_id": str(inspection_id), "item_key": "fd_staffed"},
        headers={"Content-Type": "image/jpeg"},
    )


async def _transfer(ctx, user: str, district: str) -> str:
    """The admin moves `user` to `district`; their sessions end, so they sign in again."""
    moved = await ctx.client.patch(
        f"/api/v1/users/{ctx.world.users[user]}",
        ctx.tokens["admin"],
        json={"district_ids": [str(ctx.world.districts[district])]},
    )
    assert moved.status_code == 200, moved.text
    return await ctx.client.login(user)


async def test_work_done_before_a_transfer_still_reaches_the_station_it_was_done_at(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a", "reviewer_b", "admin")
    submitted, photo = uuid.uuid4(), uuid.uuid4()
    assert (await ctx.put(submitted, ctx.doc(status="submitted", answers=complete_answers(photo)))).status_code == 201
    draft = uuid.uuid4()
    assert (await ctx.put(draft, ctx.doc(station="A2"))).status_code == 201
    returned = uuid.uuid4()
    returned_photo = uuid.uuid4()
    assert (
        await ctx.put(returned, ctx.doc(status="submitted", answers=complete_answers(returned_photo)))
    ).status_code == 201
    assert (await _put_photo(client, ctx.tokens["inspector_a"], returned_photo, returned)).status_code == 201
    sent_back = await client.post(
        f"/api/v1/inspections/{returned}/review",
        ctx.tokens["reviewer_a"],
        json={"decision": "return", "comment": "the diary photo is blurred", "revision": 1},
    )
    assert sent_back.status_code == 200, sent_back.text

    token = await _transfer(ctx, "inspector_a", "B")

    # The photo of the inspection submitted before the move is taken, and the reviewer's copy is whole.
    assert (await _put_photo(client, token, photo, submitted)).status_code == 201
    seen = await client.get(f"/api/v1/inspections/{submitted}", ctx.tokens["reviewer_a"])
    assert seen.json()["missing_photos"] == []
    # The draft is submitted, and the returned one sent again: both to the station's region.
    put = await client.put(
        f"/api/v1/inspections/{draft}",
        token,
        json=ctx.doc(station="A2", base=1, status="submitted", answers=complete_answers(photo)),
    )
    assert put.status_code == 200 and put.json()["status"] == "submitted", put.text
    again = await client.put(
        f"/api/v1/inspections/{returned}",
        token,
        json=ctx.doc(base=2, status="submitted", answers=complete_answers(returned_photo)),
    )
    assert again.status_code == 200 and again.json()["revision"] == 3, again.text
    queue_a = await client.get("/api/v1/review/queue", ctx.tokens["reviewer_a"])
    queued = {row["id"] for row in queue_a.json()["rows"]}
    assert {str(draft), str(returned)} <= queued
    queue_b = await client.get("/api/v1/review/queue", ctx.tokens["reviewer_b"])
    assert not {str(draft), str(returned), str(submitted)} & {row["id"] for row in queue_b.json()["rows"]}
    # Their own inspection reads back to them as it stands.
    mine = await client.get(f"/api/v1/inspections/{submitted}", token)
    assert mine.status_code == 200 and mine.json()["missing_photos"] == []


async def test_a_transfer_gives_no_hold_on_others_work_or_on_new_work_at_the_old_stations(client):
    ctx = await make_ctx(client, "inspector_a", "inspector_b", "admin")
    theirs = uuid.uuid4()
    assert (await ctx.put(theirs, ctx.doc(station="B"), user="inspector_b")).status_code == 201
    token = await _transfer(ctx, "inspector_a", "B")
    # Another inspector's inspection in the new district is still theirs alone (403, as before).
    taken = await client.put(f"/api/v1/inspections/{theirs}", token, json=ctx.doc(station="B", base=1))
    assert taken.status_code == 403, taken.text
    # A station of the old district is not the transferred inspector's to start anything new at.
    new = await client.put(f"/api/v1/inspections/{uuid.uuid4()}", token, json=ctx.doc(station="A"))
    assert new.status_code == 404 and "station" in new.json()["detail"], new.text
    # Their own new work in the new district is theirs; not another inspector's to read, there or here.
    own = uuid.uuid4()
    assert (await client.put(f"/api/v1/inspections/{own}", token, json=ctx.doc(station="B"))).status_code == 201
    other = await client.login("inspector_b")
    assert (await client.get(f"/api/v1/inspections/{own}", other)).status_code == 404
    assert (await client.get(f"/api/v1/inspections/{theirs}", token)).status_code == 404


async def test_a_photo_of_an_inspection_whose_station_moved_away_is_still_taken(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_b", "admin")
    submitted, photo = uuid.uuid4(), uuid.uuid4()
    assert (await ctx.put(submitted, ctx.doc(status="submitted", answers=complete_answers(photo)))).status_code == 201
    moved = await client.patch(
        f"/api/v1/stations/{ctx.world.stations['A']}",
        ctx.tokens["admin"],
        json={"district_id": str(ctx.world.districts["B"])},
    )
    assert moved.status_code == 200, moved.text
    assert (await _put_photo(client, ctx.tokens["inspector_a"], photo, submitted)).status_code == 201
    # The station's new region reviews it, whole.
    seen = await client.get(f"/api/v1/inspections/{submitted}", ctx.tokens["reviewer_b"])
    assert seen.status_code == 200 and seen.json()["missing_photos"] == []


async def test_a_return_after_the_transfer_reaches_the_inspector_with_everything_they_may_read(client):
    ctx = await make_ctx(client, "inspector_a", "reviewer_a", "admin")
    submitted, photo = uuid.uuid4(), uuid.uuid4()
    assert (await ctx.put(submitted, ctx.doc(status="submitted", answers=complete_answers(photo)))).status_code == 201
    token = await _transfer(ctx, "inspector_a", "B")
    returned = await client.post(
        f"/api/v1/inspections/{submitted}/review",
        ctx.tokens["reviewer_a"],
        json={"decision": "return", "comment": "the photo is blurred", "revision": 1},
    )
    assert returned.status_code == 200, returned.text
    # The phone hears of it, with the reviewer's words, to correct it and send it again.
    bundle = (await client.get("/api/v1/sync/bundle", token)).json()
    back = {r["id"]: r for r in bundle["returned"]}
    assert back[str(submitted)]["review"]["comment"] == "the photo is blurred"
    # With its station, to be named and corrected there, and nothing new begun there.
    station = str(ctx.world.stations["A"])
    assert [s["retired"] for s in bundle["stations"] if s["id"] == station] == [True]
    assert station not in bundle["removed"]["stations"]
    assert all(not s["retired"] for s in bundle["stations"] if s["id"] != station)
    # Whatever reads the inspection reads it for them: its reviews, its report, their list.
    assert (await client.get(f"/api/v1/inspections/{submitted}/reviews", token)).status_code == 200
    assert (await client.get(f"/api/v1/inspections/{submitted}/report.pdf", token)).status_code == 200
    listed = (await client.get("/api/v1/inspections", token)).json()
    assert str(submitted) in {r["id"] for r in listed["items"]}
