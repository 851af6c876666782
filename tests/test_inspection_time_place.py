"""An inspection's times and place are not bent after the fact: a submitted inspection keeps the place it
was made at through returns and corrections (its "far from station" flag with it), and a finish before
the start is refused, beyond a clock's small step back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.structs import PHONE_CLOCK_AHEAD_MINUTES
from tests.review_fixtures import FAR, Ctx, answers, make_ctx
from tests.test_exports import normalise_urdu, pdf_text

# A network time correction's step back, which a finish before the start may be (rules.CLOCK_STEP_BACK).
CLOCK_STEP_BACK = timedelta(minutes=5)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _body(ctx: Ctx, *, base: int, status: str = "submitted", location: Any = "station", **times: str | None):
    return {
        "station_id": str(ctx.world.stations["A"]),
        "template_version_id": str(ctx.version_id),
        "base_revision": base,
        "status": status,
        "started_at": times.get("started_at", "2026-11-27T09:00:00Z"),
        "finished_at": times.get("finished_at"),
        "location": ctx.station_location("A") if location == "station" else location,
        "answers": answers(),
    }


async def _send(ctx: Ctx, inspection_id: uuid.UUID, body: dict[str, Any]):
    return await ctx.client.put(f"/api/v1/inspections/{inspection_id}", await ctx.token("inspector_a"), json=body)


async def _returned(ctx: Ctx, location: dict[str, Any] | None) -> tuple[uuid.UUID, int]:
    """An inspection submitted at `location` and returned by its reviewer; (id, revision now)."""
    inspection_id = uuid.uuid4()
    sent = await _send(ctx, inspection_id, _body(ctx, base=0, location=location))
    assert sent.status_code == 201, sent.text
    revision = sent.json()["revision"]
    decided = await ctx.review(inspection_id, "return", revision, comment="You were 44 km away")
    assert decided.status_code == 200, decided.text
    return inspection_id, revision + 1


async def _stored(ctx: Ctx, inspection_id: uuid.UUID):
    conn = await ctx.client.db()
    try:
        return await conn.fetchrow(
            "SELECT status, revision, lat, lon, far_from_station, distance_m FROM inspections WHERE id = $1",
            inspection_id,
        )
    finally:
        await conn.close()


def _named(response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    return next(e for e in response.json()["errors"] if e["field"] == field)


async def test_a_returned_inspection_far_from_its_station_cannot_be_moved_to_it(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await _returned(ctx, FAR)

    moved = await _send(ctx, inspection_id, _body(ctx, base=revision))

    assert "start a new inspection" in _named(moved, "location")["message"]
    row = await _stored(ctx, inspection_id)
    assert (row["status"], row["revision"], row["lat"], row["far_from_station"]) == (
        "returned",
        revision,
        FAR["lat"],
        True,
    )
    flagged = await ctx.get("/api/v1/dashboard/flagged")
    assert flagged.status_code == 200, flagged.text
    assert str(inspection_id) in flagged.text


@pytest.mark.parametrize(
    ("submitted_at", "sent"),
    [
        (FAR, None),  # the fix dropped
        (None, {"lat": 31.5, "lon": 74.35, "accuracy_m": 8}),  # a fix added to one made without
        (FAR, {**FAR, "accuracy_m": 2}),  # the fix made to look more precise
    ],
    ids=["dropped", "added", "accuracy"],
)
async def test_no_part_of_a_returned_inspections_place_can_change(client, submitted_at, sent):
    ctx = await make_ctx(client)
    inspection_id, revision = await _returned(ctx, submitted_at)

    changed = await _send(ctx, inspection_id, _body(ctx, base=revision, location=sent))

    _named(changed, "location")
    # The refusal says which place the inspection keeps, so a phone whose copy came by another can take
    # it and send again (pwa/js/outbox.js keptPlace).
    assert changed.json()["kept_location"] == submitted_at
    row = await _stored(ctx, inspection_id)
    assert (row["revision"], row["lat"], row["far_from_station"]) == (
        revision,
        submitted_at["lat"] if submitted_at else None,
        True,
    )


async def test_a_returned_inspection_resubmitted_from_the_same_place_is_accepted_and_still_flagged(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await _returned(ctx, FAR)

    again = await _send(ctx, inspection_id, _body(ctx, base=revision, location=FAR))

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "submitted"
    assert again.json()["presence"]["far_from_station"] is True


async def test_a_returned_inspection_saved_as_a_draft_still_keeps_its_place(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await _returned(ctx, FAR)
    draft = await _send(ctx, inspection_id, _body(ctx, base=revision, status="draft", location=FAR))
    assert draft.status_code == 200, draft.text
    assert (await _stored(ctx, inspection_id))["status"] == "draft"

    moved = await _send(ctx, inspection_id, _body(ctx, base=revision + 1, status="submitted"))

    _named(moved, "location")
    assert (await _stored(ctx, inspection_id))["far_from_station"] is True


async def test_a_draft_may_change_its_place_until_it_is_first_submitted(client):
    ctx = await make_ctx(client)
    inspection_id = uuid.uuid4()
    first = await _send(ctx, inspection_id, _body(ctx, base=0, status="draft", location=None))
    assert first.status_code == 201, first.text
    fixed = await _send(ctx, inspection_id, _body(ctx, base=1, status="draft", location=FAR))
    assert fixed.status_code == 200, fixed.text

    submitted = await _send(ctx, inspection_id, _body(ctx, base=2))

    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["presence"]["far_from_station"] is False


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("started", "finished", "refused"),
    [
        (NOW - timedelta(hours=1), NOW - timedelta(hours=2), True),  # an hour before it started
        (NOW - timedelta(hours=1), NOW - timedelta(hours=1) - CLOCK_STEP_BACK - timedelta(seconds=1), True),
        (NOW - timedelta(hours=1), NOW - timedelta(hours=1, minutes=2), False),  # a clock's step back
        (NOW - timedelta(hours=1), NOW, False),  # as it should be
        # Started on a clock far ahead of any right one, finished after it was set right: kept, and
        # every reader is told the phone's clock was wrong (tests/test_phone_clock.py).
        (NOW + timedelta(minutes=PHONE_CLOCK_AHEAD_MINUTES + 30), NOW, False),
        (NOW - timedelta(hours=1), datetime(1970, 1, 1, tzinfo=UTC), False),  # a clock reset before the finish
    ],
    ids=["hour-before", "past-step", "step-back", "ordinary", "clock-was-ahead", "clock-reset"],
)
async def test_a_finish_before_the_start_is_refused_beyond_a_clocks_step_back(client, started, finished, refused):
    ctx = await make_ctx(client)
    inspection_id = uuid.uuid4()

    sent = await _send(ctx, inspection_id, _body(ctx, base=0, started_at=_iso(started), finished_at=_iso(finished)))

    if refused:
        assert "before started_at" in _named(sent, "finished_at")["message"]
        assert await _stored(ctx, inspection_id) is None
    else:
        assert sent.status_code == 201, sent.text
        read = await ctx.get(f"/api/v1/inspections/{inspection_id}")
        # Kept with the step back, the reviewer is still told the two times cannot both be right.
        assert read.json()["phone_clock_off"] is (finished < started)


async def test_a_correction_cannot_finish_before_the_inspection_started(client):
    ctx = await make_ctx(client)
    inspection_id, revision = await _returned(ctx, FAR)
    early = _iso(datetime(2026, 11, 27, 8, tzinfo=UTC))  # an hour before the start the fixture sends

    sent = await _send(ctx, inspection_id, _body(ctx, base=revision, location=FAR, finished_at=early))

    _named(sent, "finished_at")
    assert (await _stored(ctx, inspection_id))["status"] == "returned"


async def test_the_report_says_how_long_the_inspection_took(client):
    ctx = await make_ctx(client)
    started = datetime.now(UTC) - timedelta(hours=1)
    inspection_id = uuid.uuid4()
    times = {"started_at": _iso(started), "finished_at": _iso(started + timedelta(seconds=40))}
    sent = await _send(ctx, inspection_id, _body(ctx, base=0, **times))
    assert sent.status_code == 201, sent.text

    for lang, words in (("en", "Duration 40 s"), ("ur", "دورانیہ سیکنڈ")):
        report = await ctx.get(f"/api/v1/inspections/{inspection_id}/report.pdf", lang=lang)
        assert report.status_code == 200, report.text
        text, _ = pdf_text(report.content)
        if lang == "en":
            assert words in text
        else:  # shaped Urdu is compared by its letters (tests.test_exports.normalise_urdu)
            assert normalise_urdu(words) in normalise_urdu(text) and "40" in text
