"""A reviewer's score change, as the inspection's page shows it and as its dialog gives it back.

DESIGN §4: a reviewer may score an item the inspector marked n.a., and that score counts for critical
failure like any other; the page must then say what the score in force says.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.test_pwa_support import live_pwa_server
from tests.e2e.test_reviewer_support import (
    REVIEWER_PASSWORD,
    build_document,
    inspector_setup,
    reviewer_desk,
    submit,
    upload_photos,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("score-changes"))


def plain_item(version: dict, *, critical: bool) -> dict:
    """A yes/no item that neither depends on another nor controls one."""
    sections = version["definition"]["sections"]
    controlling = {i["visible_if"]["item"] for s in sections for i in s["items"] if i.get("visible_if")}
    return next(
        i
        for s in sections
        for i in s["items"]
        if i["type"] == "yes_no"
        and bool(i.get("critical")) is critical
        and not i.get("visible_if")
        and i["key"] not in controlling
    )


def test_an_na_item_a_reviewer_scored_0_reads_as_a_critical_failure(pwa_server, browser):
    """The card was marked failed and the PDF said CRITICAL FAILURE, while its result read "Not applicable"."""
    token, stations, version = inspector_setup(pwa_server)
    key = plain_item(version, critical=True)["key"]
    document, photos = build_document(stations[7], version, seed=77)
    document["answers"][key] = {"value": "na", "photos": []}
    iid = str(uuid.uuid4())
    assert pwa_server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document).status_code == 201
    taken = datetime.now(UTC).isoformat()
    upload_photos(
        pwa_server,
        token,
        iid,
        [p for p in photos if p[1] != key],
        lambda n: {"taken_at": taken, "lat": document["location"]["lat"], "lon": stations[7]["lon"]},
    )
    revision = pwa_server.api("GET", f"/api/v1/inspections/{iid}", token).json()["revision"]
    reviewer = pwa_server.login("rpo.lahore", REVIEWER_PASSWORD)
    overrides = {key: {"score": 0, "reason": "The register was applicable and missing"}}
    done = pwa_server.api(
        "POST",
        f"/api/v1/inspections/{iid}/review",
        reviewer,
        json={"decision": "approve", "revision": revision, "score_overrides": overrides},
    )
    assert done.status_code == 200, done.text
    assert done.json()["critical_failed"] is True

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    try:
        page.goto(f"{pwa_server.url}/#/review/i/{iid}")
        item = page.locator(f"#rv-item-{key}")
        expect(item).to_have_class(re.compile(r"\bis-failed\b"))
        expect(item.locator(".marks")).to_contain_text("Critical failure")
        expect(item.locator(".marks")).not_to_contain_text("Not applicable")
        assert errors == []
    finally:
        context.close()


def test_a_score_change_opened_again_to_mend_its_reason_keeps_the_score_given(pwa_server, browser):
    """The dialog opened again showed 62.5 % as "63", and saving it stored 63 %."""
    token, stations, version = inspector_setup(pwa_server)
    insp = submit(pwa_server, token, stations[3], version, seed=88)
    key = plain_item(version, critical=False)["key"]
    context, page, errors = reviewer_desk(browser, pwa_server.url)
    try:
        page.goto(f"{pwa_server.url}/#/review/i/{insp['id']}")
        page.click(f"#rv-item-{key} .rv-btn-override")
        page.fill("dialog input.input-number", "62.5")
        page.fill("dialog textarea", "Half the register, pages torn.")
        page.click("dialog .btn-primary")
        pending = page.locator(f"#rv-item-{key} .rv-pending")
        expect(pending).to_contain_text("62.5%")
        page.click(f"#rv-item-{key} .rv-btn-override")
        expect(page.locator("dialog input.input-number")).to_have_value("62.5")
        page.fill("dialog textarea", "Half the register; pages torn.")
        page.click("dialog .btn-primary")
        expect(pending).to_contain_text("pages torn")
        expect(pending).to_contain_text("62.5%")
        assert errors == []
    finally:
        context.close()
