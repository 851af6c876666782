"""A reviewer's score override belongs to the revision the reviewer reviewed.

A returned inspection that its inspector saves again (as a draft, then resubmitted) is a new revision,
scored afresh from the new answers: whatever reads the inspection (its reply, its latest review, list
rows, the CSV export, the dashboards) must show a score and a `score_overridden` flag that describe
the same thing, at every status. The overrides stay in the review history, marked superseded.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest

from server.templates.models import to_definition
from server.templates.scoring import score
from tests.review_fixtures import DEFINITION, answers, make_ctx

DEFN = to_definition(DEFINITION)
WIDE = {"from": "2025-01-01", "to": "2027-12-31"}
OVERRIDE = {"f_clean": {"score": 0.8, "reason": "the photos show it cleaner"}}


def own_percent(values: dict[str, Any], overrides: dict[str, float] | None = None) -> float | None:
    return score(DEFN, values, overrides).percent


async def shown(ctx, inspection_id: uuid.UUID) -> dict[str, Any]:
    """What a regional officer reads: the reply, its latest review, the list row, the CSV row."""
    reply = (await ctx.get(f"/api/v1/inspections/{inspection_id}")).json()
    items = (await ctx.get("/api/v1/inspections", station_id=str(ctx.world.stations["A"]))).json()["items"]
    [row] = [r for r in items if r["id"] == str(inspection_id)]
    queue = (await ctx.get("/api/v1/review/queue", limit=200)).json()["rows"]
    in_queue = [r["score_overridden"] for r in queue if r["id"] == str(inspection_id)]
    token = await ctx.token("reviewer_a")
    body = (await ctx.client.get("/api/v1/exports/inspections.csv", token)).content
    [csv_row] = [
        r
        for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        if r["inspection_id"] == str(inspection_id)
    ]
    return {
        "status": reply["status"],
        "percent": reply["score"]["percent"],
        "flag": reply["review"]["score_overridden"],
        "overrides": reply["review"]["overrides"],
        "list_percent": row["score_percent"],
        "csv_percent": float(csv_row["score_percent"]),
        "csv_flag": csv_row["score_overridden"],
        "list_flag": row["score_overridden"],
        "queue_flag": in_queue[0] if in_queue else None,  # in the queue only while submitted
    }


async def counted(ctx) -> list[tuple[int, float]]:
    rows = (await ctx.get("/api/v1/dashboard/scores", group_by="station", period="month", **WIDE)).json()["rows"]
    return [(r["inspections"], r["avg_percent"]) for r in rows]


async def test_a_returned_inspection_saved_as_a_draft_shows_its_own_score_and_no_override_in_force(client):
    ctx = await make_ctx(client)
    first = answers(clean=1)
    inspection_id, revision = await ctx.submit(values=first)
    returned = await ctx.review(inspection_id, "return", revision, comment="Redo the front", score_overrides=OVERRIDE)
    assert returned.status_code == 200, returned.text

    # Returned: the score shown is the reviewer's, and the flag says so.
    now = await shown(ctx, inspection_id)
    overridden = own_percent(first, {"f_clean": 0.8})
    assert overridden != pytest.approx(own_percent(first))
    assert (now["status"], now["flag"], now["csv_flag"], now["list_flag"]) == ("returned", True, "true", True)
    assert now["percent"] == now["list_percent"] == pytest.approx(overridden)
    assert now["csv_percent"] == pytest.approx(overridden, abs=0.05)
    assert await counted(ctx) == []  # a return takes the inspection out of the dashboards

    # Saved back as a draft: a new revision by the inspector, scored afresh; no override is in force.
    draft_values = answers(clean=3)
    draft = await ctx.put(inspection_id, base=revision + 1, status="draft", values=draft_values)
    now = await shown(ctx, inspection_id)
    assert now["status"] == "draft"
    assert now["percent"] == now["list_percent"] == pytest.approx(own_percent(draft_values))
    assert now["csv_percent"] == pytest.approx(own_percent(draft_values), abs=0.05)
    assert (now["flag"], now["overrides"], now["csv_flag"], now["list_flag"]) == (False, {}, "false", False)
    assert await counted(ctx) == []  # a draft is never counted

    # The history keeps the override, marked superseded by the inspector's new revision.
    history = (await ctx.get(f"/api/v1/inspections/{inspection_id}/reviews")).json()["rows"]
    [override] = history[0]["overrides"]
    assert (override["item_key"], override["score"], override["superseded_at"] is not None) == ("f_clean", 0.8, True)

    # Resubmitted: still the inspector's own score, counted as such.
    final = answers(clean=5)
    resubmitted = await ctx.put(inspection_id, base=draft["revision"], values=final)
    now = await shown(ctx, inspection_id)
    assert (now["status"], now["flag"], now["csv_flag"], now["list_flag"]) == ("submitted", False, "false", False)
    assert now["queue_flag"] is False
    assert now["percent"] == now["list_percent"] == pytest.approx(own_percent(final))
    assert await counted(ctx) == [(1, pytest.approx(own_percent(final)))]

    # Approved with a new override: the score shown is the reviewer's again, and flagged.
    approve = {"f_token": {"score": 0.5, "reason": "token given only on request"}}
    approved = await ctx.review(inspection_id, "approve", resubmitted["revision"], score_overrides=approve)
    assert approved.status_code == 200, approved.text
    now = await shown(ctx, inspection_id)
    expected = own_percent(final, {"f_token": 0.5})
    assert (now["status"], now["flag"], now["csv_flag"], now["list_flag"]) == ("approved", True, "true", True)
    assert now["queue_flag"] is None
    assert set(now["overrides"]) == {"f_token"}
    assert now["percent"] == now["list_percent"] == pytest.approx(expected)
    assert await counted(ctx) == [(1, pytest.approx(expected))]


async def test_the_overrides_of_an_approved_inspection_stay_in_force_beside_the_score_they_made(client):
    # Only the inspector's new revision supersedes: a plain draft saved twice has nothing to touch, and an
    # approved inspection (read-only to its inspector) keeps its overrides and the score they made.
    ctx = await make_ctx(client)
    plain = uuid.uuid4()
    await ctx.put(plain, status="draft")
    await ctx.put(plain, status="draft", base=1, values=answers(clean=2))
    approved, revision = await ctx.submit(station="A2", values=answers(clean=1))
    assert (await ctx.review(approved, "approve", revision, score_overrides=OVERRIDE)).status_code == 200
    reply = (await ctx.get(f"/api/v1/inspections/{approved}")).json()
    assert reply["review"]["score_overridden"] is True
    assert reply["score"]["percent"] == pytest.approx(own_percent(answers(clean=1), {"f_clean": 0.8}))
