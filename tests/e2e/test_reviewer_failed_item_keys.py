"""The reviewer dashboard's most failed items, in real Chromium, after an item was given a new key in a
later version under the same label: the two rows it makes are told apart by their keys, shown small
beside the label; a label of one row only shows no key.
"""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import ADMIN, ADMIN_PASSWORD
from tests.e2e.test_pwa_support import live_pwa_server
from tests.e2e.test_reviewer_support import bundle, inspector_setup, police_version, reviewer_desk, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

OLD, NEW = "fd_rights_displayed", "fd_rights_shown"


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("failed-item-keys"))


def test_two_failed_item_rows_sharing_a_label_show_their_keys(pwa_server, browser):
    token, stations, v1 = inspector_setup(pwa_server)
    # Version 2 gives the rights-displayed item a new key and keeps its label.
    definition = copy.deepcopy(v1["definition"])
    item = next(i for s in definition["sections"] for i in s["items"] if i["key"] == OLD)
    item["key"] = NEW
    label = item["label"]["en"]
    admin = pwa_server.login(ADMIN, ADMIN_PASSWORD)
    template = f"/api/v1/templates/{v1['template_id']}"
    assert pwa_server.api("PUT", f"{template}/draft", admin, json=definition).status_code == 200
    assert pwa_server.api("POST", f"{template}/publish", admin).status_code == 201
    v2 = police_version(bundle(pwa_server, token))
    assert v2["version"] == v1["version"] + 1
    submit(pwa_server, token, stations[0], v1, fail=(OLD, "fd_staffed"), seed=3)
    submit(pwa_server, token, stations[1], v2, fail=(NEW,), seed=4)

    context, page, errors = reviewer_desk(browser, pwa_server.url)
    page.goto(pwa_server.url + "/#/review/dashboard")
    panel = page.locator("#rv-failed")
    panel.locator(f'tbody tr[data-key="{NEW}"]').wait_for()
    for key in (OLD, NEW):
        cell = panel.locator(f'tbody tr[data-key="{key}"] td').first
        expect(cell).to_contain_text(label)
        expect(cell.locator(".rv-item-key")).to_have_text(key)
    # A label no other row has is shown alone.
    alone = panel.locator('tbody tr[data-key="fd_staffed"] td').first
    expect(alone).not_to_have_text("")
    assert alone.locator(".rv-item-key").count() == 0
    assert errors == []
    context.close()
