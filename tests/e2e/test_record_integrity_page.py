"""The admin's audit page names an inspection whose record was changed in the database, though the
trail's own chain is intact, in English and in Urdu."""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest
from playwright.sync_api import expect

from tests.e2e.test_admin_support import INSPECTOR, INSPECTOR_PASSWORD, _in_thread, signed_in_laptop

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def _station_and_version(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            """SELECT s.id AS station, tv.id AS version
                 FROM users u JOIN stations s ON s.district_id = ANY (u.district_ids)
                 JOIN template_versions tv ON tv.kinds IS NULL OR s.kind = ANY (tv.kinds)
                WHERE u.username = $1 ORDER BY s.code, tv.published_at LIMIT 1""",
            INSPECTOR,
        )
        return row["station"], row["version"]
    finally:
        await conn.close()


async def _tamper(url: str, inspection_id: uuid.UUID) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """UPDATE inspections SET document = jsonb_set(document, '{started_at}', '"2026-01-01T00:00:00Z"')
                WHERE id = $1""",
            inspection_id,
        )
    finally:
        await conn.close()


def _draft(server) -> uuid.UUID:
    """A draft inspection the demo inspector saves through the API: one audited write to change later."""
    station, version = _in_thread(_station_and_version(server.database_url))
    inspection_id = uuid.uuid4()
    body = {
        "station_id": str(station),
        "template_version_id": str(version),
        "base_revision": 0,
        "status": "draft",
        "started_at": "2026-11-27T09:00:00Z",
        "answers": {},
    }
    made = server.api(
        "PUT", f"/api/v1/inspections/{inspection_id}", server.login(INSPECTOR, INSPECTOR_PASSWORD), json=body
    )
    assert made.status_code == 201, made.text
    return inspection_id


def test_the_audit_page_names_an_inspection_changed_in_the_database(admin_server, browser):
    inspection_id = _draft(admin_server)

    context, page, errors = signed_in_laptop(admin_server, browser)
    page.click("a[href='#/admin/audit']")
    verify = page.locator("#audit-verify")
    expect(verify).to_have_attribute("data-ok", "true")
    page.click("#audit-verify-again")
    expect(page.locator("#audit-head")).to_contain_text("Last entry checked: #")

    _in_thread(_tamper(admin_server.database_url, inspection_id))
    page.click("#audit-verify-again")
    expect(verify).to_have_attribute("data-ok", "false")
    alert = page.locator("#audit-records[role=alert]")
    expect(alert).to_contain_text("Inspection records have been changed outside Muaina")
    item = alert.locator(f"li[data-inspection='{inspection_id}']")
    expect(item).to_contain_text("revision 1")
    expect(item).to_contain_text("the inspection is not its current revision")
    # Opened again, the quick check carries the full check's finding.
    page.goto(admin_server.url + "/#/admin/audit?limit=5")
    expect(verify).to_have_attribute("data-after", re.compile(r"^[1-9]"))
    expect(page.locator("#audit-records")).to_contain_text("The last full check found 1 problem")
    assert errors == []
    context.close()
