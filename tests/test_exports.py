"""Exports: the inspection table as CSV and XLSX, and one inspection's report as PDF (DESIGN §7, issue 6).

The data goes in through the APIs a phone and a reviewer use (template publish, inspection sync, photo
upload, review), so the exports are checked against what the rest of the system really stores; the
many-rows test writes its rows with SQL, as a phone could not send thousands quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import threading
import unicodedata
import uuid
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import openpyxl
import pypdf
import pytest
from PIL import Image

from server.app import create_app
from server.auth.rules import new_token, token_hash
from server.errors import Invalid
from server.exports import queries as export_queries
from server.exports import rules as export_rules
from server.exports.csv_xlsx import FIXED, ITEM_PREFIX
from server.exports.render import render_report
from server.exports.rules import neutralise, parse_bound
from server.templates.scoring import display_percent
from server.workers import HealingProcessPool
from tests.conftest import app_in_this_loop
from tests.factories import ApiClient, World, make_world

CSV_URL = "/api/v1/exports/inspections.csv"
XLSX_URL = "/api/v1/exports/inspections.xlsx"

DEFINITION: dict[str, Any] = {
    "title": {"en": "Station inspection", "ur": "تھانے کا معائنہ"},
    "sections": [
        {
            "key": "front",
            "title": {"en": "Front desk", "ur": "فرنٹ ڈیسک"},
            "weight": 2,
            "items": [
                {
                    "key": "fd_staffed",
                    "type": "yes_no",
                    "required": True,
                    "label": {"en": "Is the front desk staffed?", "ur": "کیا فرنٹ ڈیسک پر عملہ موجود ہے؟"},
                },
                {
                    "key": "fd_wait",
                    "type": "number",
                    "min": 0,
                    "max": 15,
                    "unit": {"en": "minutes", "ur": "منٹ"},
                    "label": {"en": "Waiting time at the counter", "ur": "کاؤنٹر پر انتظار کا وقت"},
                },
                {
                    "key": "fd_clean",
                    "type": "scale",
                    "max": 5,
                    "label": {"en": "Cleanliness of the waiting area", "ur": "انتظار گاہ کی صفائی"},
                },
                {
                    "key": "fd_token",
                    "type": "choice",
                    "label": {"en": "Token given", "ur": "ٹوکن دیا گیا"},
                    "options": [
                        {"key": "yes", "label": {"en": "Token given", "ur": "ٹوکن دیا گیا"}, "points": 2},
                        {"key": "no", "label": {"en": "No token", "ur": "ٹوکن نہیں دیا گیا"}, "points": 0},
                    ],
                },
                {
                    "key": "fd_remarks",
                    "type": "text",
                    "label": {"en": "Remarks on the front desk", "ur": "فرنٹ ڈیسک پر ریمارکس"},
                },
                {
                    "key": "fd_why",
                    "type": "text",
                    "visible_if": {"item": "fd_staffed", "in": ["no"]},
                    "label": {"en": "Why was nobody at the desk?", "ur": "ڈیسک پر کوئی کیوں نہیں تھا؟"},
                },
                {"key": "fd_photo", "type": "photo", "label": {"en": "Photo of the counter", "ur": "کاؤنٹر کی تصویر"}},
            ],
        },
        {
            "key": "lockup",
            "title": {"en": "Lock-up", "ur": "حوالات"},
            "items": [
                {
                    "key": "lk_diary",
                    "type": "yes_no",
                    "required": True,
                    "critical": True,
                    "label": {
                        "en": "Every detainee is entered in the daily diary",
                        "ur": "ہر زیرِ حراست شخص روزنامچے میں درج ہے",
                    },
                },
                {
                    "key": "lk_checks",
                    "type": "multi_choice",
                    "label": {"en": "Conditions checked", "ur": "جانچی گئی سہولیات"},
                    "options": [
                        {"key": "water", "label": {"en": "Drinking water", "ur": "پینے کا پانی"}, "points": 1},
                        {"key": "light", "label": {"en": "Light and air", "ur": "روشنی اور ہوا"}, "points": 1},
                    ],
                },
            ],
        },
    ],
}

# Text answers that a spreadsheet would run as formulas if they reached it unprotected.
FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-3+4", "@SUM(A1:A2)", "\tTAB", "\rCR"]

PKT = timezone(timedelta(hours=5))
# Two days ago, as a phone that was at the station then tells it (a fixed date would one day be more
# than a phone may hold an inspection, structs.PHONE_CLOCK_DAYS, and no longer be believed).
STARTED = (datetime.now(UTC) - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


def normalise_urdu(text: str) -> str:
    """NFKC, then only U+0600–U+06FF: how pypdf's extraction of shaped Urdu is compared (NOTES.md)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if "\u0600" <= c <= "\u06ff")


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=85)
    return out.getvalue()


@dataclass
class Env:
    client: ApiClient
    world: World
    template_id: str
    version_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    async def token(self, user: str) -> str:
        """A session for `user`, opened in SQL: signing in checks an argon2 hash, slow on purpose, and
        the sign-in itself is tested elsewhere."""
        if user not in self.tokens:
            token = new_token()
            conn = await self.client.db()
            try:
                await conn.execute(
                    "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')",
                    token_hash(token),
                    self.world.users[user],
                )
            finally:
                await conn.close()
            self.tokens[user] = token
        return self.tokens[user]

    async def get(self, path: str, user: str = "admin", **params: Any):
        return await self.client.get(path, await self.token(user), params=params)

    async def sync(
        self,
        station: str,
        answers: dict[str, Any],
        *,
        user: str = "inspector_a",
        status: str = "submitted",
        location: dict[str, float] | None = None,
        inspection_id: uuid.UUID | None = None,
        base: int = 0,
        started_at: datetime = STARTED,
    ) -> uuid.UUID:
        inspection_id = inspection_id or uuid.uuid4()
        body = {
            "station_id": str(self.world.stations[station]),
            "template_version_id": self.version_id,
            "base_revision": base,
            "status": status,
            "started_at": started_at.isoformat(),
            "finished_at": (started_at + timedelta(hours=1, minutes=15, seconds=30)).isoformat(),
            "location": location,
            "answers": answers,
        }
        response = await self.client.put(f"/api/v1/inspections/{inspection_id}", await self.token(user), json=body)
        assert response.status_code in (200, 201), response.text
        return inspection_id


async def test_a_report_is_named_for_the_day_the_server_had_it_when_the_phone_clock_was_wrong(env: Env):
    answers = full_answers()
    for wrong in (datetime(1970, 1, 1, 9, tzinfo=UTC), datetime.now(UTC) + timedelta(days=400)):
        inspection_id = await env.sync("A", answers, started_at=wrong)
        response = await env.get(f"/api/v1/inspections/{inspection_id}/report.pdf")
        assert response.status_code == 200, response.text
        today = datetime.now(PKT).date()
        assert response.headers["content-disposition"] == f'attachment; filename="inspection-SA1-{today}.pdf"'


async def make_env(client: ApiClient) -> Env:
    conn = await client.db()
    try:
        world = await make_world(conn)
    finally:
        await conn.close()
    env = Env(client, world, "", "")
    admin = await env.token("admin")
    created = await client.post("/api/v1/templates", admin, json={"key": "station_check", "title": DEFINITION["title"]})
    assert created.status_code == 201, created.text
    env.template_id = created.json()["id"]
    saved = await client.put(f"/api/v1/templates/{env.template_id}/draft", admin, json=DEFINITION)
    assert saved.status_code == 200, saved.text
    published = await client.post(f"/api/v1/templates/{env.template_id}/publish", admin)
    assert published.status_code == 201, published.text
    env.version_id = published.json()["id"]
    return env


def full_answers(**over: Any) -> dict[str, Any]:
    answers = {
        "fd_staffed": {"value": "yes", "note": 'دو اہلکار موجود تھے, "both" in uniform\nsecond line'},
        "fd_wait": {"value": 7},
        "fd_clean": {"value": 4},
        "fd_token": {"value": "yes"},
        "fd_remarks": {"value": "Counter clean, token machine working"},
        "lk_diary": {"value": "yes"},
        "lk_checks": {"value": ["water", "light"]},
    }
    answers.update(over)
    return answers


@pytest.fixture
async def env(client: ApiClient) -> Env:
    """Region A: a passed, an approved-with-override, a critical failure, a far-away draft; region B: one."""
    e = await make_env(client)
    # 3.3 m north of station A: a real fix (one exactly on it is flagged, tests/test_location_exact.py).
    near_a = {"lat": 31.50003, "lon": 74.35, "accuracy_m": 8}
    e.ids["passed"] = await e.sync("A", full_answers(), location=near_a)
    e.ids["reviewed"] = await e.sync(
        "A",
        full_answers(fd_clean={"value": 2}, fd_remarks={"value": FORMULAS[0]}),
        # A millimetre from the first: two visits with the very same fix are flagged (test_location_repeated.py).
        location={**near_a, "lat": 31.50003001},
    )
    e.ids["critical"] = await e.sync(
        "A2",
        full_answers(
            lk_diary={"value": "no", "note": "two men not in diary"},
            fd_staffed={"value": "no"},
            fd_why={"value": 'sick leave, "unreported"'},
        ),
        location={"lat": 31.6, "lon": 74.35, "accuracy_m": 5},
    )
    e.ids["draft"] = await e.sync(
        "A2", {"fd_wait": {"value": 30}}, status="draft", location={"lat": 33.7, "lon": 73.0, "accuracy_m": 40}
    )
    e.ids["region_b"] = await e.sync(
        "B", full_answers(), user="inspector_b", location={"lat": 30.2, "lon": 74.35, "accuracy_m": 9}
    )
    reviewed = await e.client.post(
        f"/api/v1/inspections/{e.ids['reviewed']}/review",
        await e.token("reviewer_a"),
        json={
            "decision": "approve",
            "revision": 1,
            "comment": "اچھا کام، مگر صفائی بہتر کریں",
            "item_comments": {"fd_clean": "انتظار گاہ میں کوڑا پڑا تھا"},
            "score_overrides": {"fd_token": {"score": 0.5, "reason": "Token given only after asking"}},
        },
    )
    assert reviewed.status_code == 200, reviewed.text
    # A station name that would be a formula in a spreadsheet, and Urdu that must survive every export.
    conn = await e.client.db()
    try:
        await conn.execute("UPDATE stations SET name_en = $1 WHERE code = 'SA2'", "=cmd|' /C calc'!A0")
    finally:
        await conn.close()
    return e


async def db_rows(env: Env) -> dict[str, dict[str, Any]]:
    conn = await env.client.db()
    try:
        rows = await conn.fetch(
            """SELECT i.id, s.code, s.name_en, s.name_ur, d.name_ur AS district_ur, r.code AS region_code,
                      u.username, i.status, i.revision, i.score_percent, i.grade, i.critical_failed,
                      i.far_from_station, i.distance_m, i.photos_missing, i.started_at, i.submitted_at,
                      i.finished_at, i.lat, tv.version
                 FROM inspections i JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
                 JOIN regions r ON r.id = d.region_id JOIN users u ON u.id = i.inspector_id
                 JOIN template_versions tv ON tv.id = i.template_version_id"""
        )
        answers = await conn.fetch("SELECT inspection_id, item_key, value, photo_ids FROM answers")
    finally:
        await conn.close()
    out = {str(r["id"]): dict(r) | {"answers": {}} for r in rows}
    for a in answers:
        out[str(a["inspection_id"])]["answers"][a["item_key"]] = a["value"]
    return out


def parse_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 byte order mark for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def as_time(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# CSV and XLSX ---------------------------------------------------------------------------------


async def test_csv_export_round_trips_every_inspection_with_values_equal_to_the_database(env: Env):
    response = await env.get(CSV_URL, template_id=env.template_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # the charset once
    assert response.headers["content-disposition"].startswith('attachment; filename="inspections-')
    assert b"\r\n" in response.content  # RFC 4180 line ends
    rows = parse_csv(response.content)
    stored = await db_rows(env)
    assert response.headers["x-export-rows"] == str(len(stored)) == str(len(rows))
    assert {r["inspection_id"] for r in rows} == set(stored)
    for row in rows:
        db = stored[row["inspection_id"]]
        assert row["station_code"] == db["code"]
        assert row["station_name_ur"] == db["name_ur"]  # Urdu intact
        assert row["district_name_ur"] == db["district_ur"]
        assert row["region_code"] == db["region_code"]
        assert row["inspector_username"] == db["username"]
        assert (row["status"], int(row["revision"])) == (db["status"], db["revision"])
        assert row["template_key"] == "station_check" and int(row["template_version"]) == db["version"]
        assert (float(row["score_percent"]) if row["score_percent"] else None) == db["score_percent"]
        assert row["display_percent"] == (display_percent(db["score_percent"]) or "")
        assert row["grade"] == (db["grade"] or "")
        assert row["critical_failed"] == str(db["critical_failed"]).lower()
        assert row["far_from_station"] == str(db["far_from_station"]).lower()
        assert (float(row["distance_m"]) if row["distance_m"] else None) == db["distance_m"]
        assert int(row["photos_missing"]) == db["photos_missing"]
        for name in ("started_at", "submitted_at", "finished_at"):
            assert as_time(row[name]) == db[name]
            assert not row[name] or row[name].endswith("Z")
    by_id = {r["inspection_id"]: r for r in rows}
    passed = by_id[str(env.ids["passed"])]
    assert passed[ITEM_PREFIX + "fd_staffed"] == "yes"
    assert passed[ITEM_PREFIX + "fd_wait"] == "7"
    assert passed[ITEM_PREFIX + "fd_token"] == "yes"
    assert passed[ITEM_PREFIX + "lk_checks"] == "water;light"
    assert passed[ITEM_PREFIX + "fd_why"] == ""  # hidden: the desk was staffed
    critical = by_id[str(env.ids["critical"])]
    assert critical[ITEM_PREFIX + "fd_why"] == 'sick leave, "unreported"'  # comma and quotes round-trip
    assert critical["critical_failed"] == "true" and critical["grade"] == "fail"
    reviewed = by_id[str(env.ids["reviewed"])]
    assert reviewed["score_overridden"] == "true" and reviewed["status"] == "approved"


async def test_csv_cells_that_would_run_as_formulas_are_neutralised(env: Env):
    for text in FORMULAS[1:]:
        await env.sync("A", full_answers(fd_remarks={"value": text}), location={"lat": 31.5, "lon": 74.35})
    response = await env.get(CSV_URL, template_id=env.template_id)
    rows = parse_csv(response.content)
    remarks = {r[ITEM_PREFIX + "fd_remarks"] for r in rows}
    for text in FORMULAS:
        assert "'" + text in remarks, f"{text!r} is exported as text, prefixed with an apostrophe"
        assert text not in remarks
    station_names = {r["station_name_en"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in station_names
    # Numbers are not text: a negative number would stay a number (none here, but the wait is plain).
    assert {r[ITEM_PREFIX + "fd_wait"] for r in rows} >= {"7"}


async def test_xlsx_export_round_trips_with_typed_cells(env: Env):
    response = await env.get(XLSX_URL, template_id=env.template_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Inspections"]
    header = [c.value for c in sheet[1]]
    csv_rows = parse_csv((await env.get(CSV_URL, template_id=env.template_id)).content)
    assert header == list(csv_rows[0].keys())
    assert header[: len(FIXED)] == [name for name, _ in FIXED]
    stored = await db_rows(env)
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    assert len(rows) == len(stored)
    for row in rows:
        db = stored[row["inspection_id"]]
        assert row["station_name_ur"] == db["name_ur"]
        # The shortest repr that reads back as the same double: every bit, as in the CSV.
        assert row["score_percent"] == db["score_percent"]
        assert row["critical_failed"] is db["critical_failed"]
        assert row["distance_m"] == db["distance_m"]
        assert row["photos_missing"] == db["photos_missing"]
        # Excel has no zones, and keeps times to the millisecond: the cell holds Pakistan's wall time.
        for name in ("started_at", "submitted_at", "finished_at"):
            if db[name] is None:
                assert row[name] is None
            else:
                assert abs(row[name] - db[name].astimezone(PKT).replace(tzinfo=None)) < timedelta(milliseconds=1)
        for key, value in db["answers"].items():
            column = ITEM_PREFIX + key
            if key == "lk_checks":
                assert row[column] == ";".join(value)
            elif key != "fd_why" or db["answers"].get("fd_staffed") == "no":
                assert row[column] == value, (column, row[column], value)
    # Text that looks like a formula is a string cell, never a formula.
    formula_cells = [
        c for r in sheet.iter_rows(min_row=2) for c in r if isinstance(c.value, str) and c.value.startswith("=")
    ]
    assert formula_cells and all(c.data_type == "s" for c in formula_cells)
    assert [c.value for c in book["Items"]["A"]][1:] == [
        ITEM_PREFIX + it["key"] for s in DEFINITION["sections"] for it in s["items"]
    ]


async def test_filters_narrow_the_export(env: Env):
    async def ids(**params: Any) -> set[str]:
        response = await env.get(CSV_URL, **params)
        assert response.status_code == 200, response.text
        return {r["inspection_id"] for r in parse_csv(response.content)}

    a2 = str(env.world.stations["A2"])
    assert await ids(station_id=a2) == {str(env.ids["critical"]), str(env.ids["draft"])}
    assert await ids(status="draft") == {str(env.ids["draft"])}
    assert await ids(region_id=str(env.world.regions["B"])) == {str(env.ids["region_b"])}
    assert await ids(district_id=str(env.world.districts["A"])) == {
        str(env.ids[k]) for k in ("passed", "reviewed", "critical", "draft")
    }
    assert await ids(**{"from": "2000-01-01", "to": "2001-01-01"}) == set()
    assert len(await ids(**{"from": "2000-01-01T00:00:00Z"})) == 5
    missing = await env.get(CSV_URL, template_id=str(uuid.uuid4()))
    assert missing.status_code == 404
    for bad in ({"status": "lost"}, {"from": "yesterday"}, {"to": "2026-01-01T00:00:00"}):
        response = await env.get(CSV_URL, **bad)
        assert response.status_code == 422, (bad, response.text)


async def test_exports_are_audited_with_filters_and_the_exact_row_count(env: Env):
    await env.get(CSV_URL, status="submitted")
    await env.get(XLSX_URL, user="reviewer_b")
    conn = await env.client.db()
    try:
        rows = await conn.fetch("SELECT action, actor, data FROM audit_log WHERE action LIKE 'export.%' ORDER BY seq")
    finally:
        await conn.close()
    assert [(r["action"], r["actor"]) for r in rows] == [("export.csv", "admin"), ("export.xlsx", "reviewer_b")]
    assert rows[0]["data"]["filters"] == {"status": "submitted"}
    assert rows[0]["data"]["rows"] == 3  # passed, critical failure, region B; the reviewed one is approved
    assert rows[1]["data"]["rows"] == 1


async def test_an_xlsx_export_too_big_for_one_sheet_is_refused_and_not_audited(env: Env, monkeypatch):
    monkeypatch.setattr(export_rules, "XLSX_MAX_ROWS", 4)
    response = await env.get(XLSX_URL)
    assert response.status_code == 422
    assert "narrow the filters or export CSV" in response.json()["detail"]
    assert (await env.get(XLSX_URL, status="submitted")).status_code == 200  # 3 rows fit
    conn = await env.client.db()
    try:
        audited = await conn.fetch("SELECT data FROM audit_log WHERE action = 'export.xlsx'")
    finally:
        await conn.close()
    assert [r["data"]["rows"] for r in audited] == [3]


# Scope and roles ------------------------------------------------------------------------------


async def test_a_region_b_reviewer_gets_nothing_of_region_a(env: Env):
    csv_rows = parse_csv((await env.get(CSV_URL, user="reviewer_b")).content)
    assert [r["inspection_id"] for r in csv_rows] == [str(env.ids["region_b"])]
    asked_for_a = parse_csv((await env.get(CSV_URL, user="reviewer_b", region_id=str(env.world.regions["A"]))).content)
    assert asked_for_a == []
    book = openpyxl.load_workbook(io.BytesIO((await env.get(XLSX_URL, user="reviewer_b")).content))
    assert [r[0].value for r in book["Inspections"].iter_rows(min_row=2)] == [str(env.ids["region_b"])]
    for lang in ("en", "ur"):
        pdf = await env.get(f"/api/v1/inspections/{env.ids['passed']}/report.pdf", user="reviewer_b", lang=lang)
        assert pdf.status_code == 404
    own = await env.get(f"/api/v1/inspections/{env.ids['region_b']}/report.pdf", user="reviewer_b")
    assert own.status_code == 200


async def test_inspectors_may_not_export_tables_but_get_their_own_report(env: Env):
    for url in (CSV_URL, XLSX_URL):
        assert (await env.get(url, user="inspector_a")).status_code == 403
    assert (await env.client.get(CSV_URL)).status_code == 401
    assert (await env.client.get(f"/api/v1/inspections/{env.ids['passed']}/report.pdf")).status_code == 401
    mine = await env.get(f"/api/v1/inspections/{env.ids['passed']}/report.pdf", user="inspector_a")
    assert mine.status_code == 200 and mine.content.startswith(b"%PDF")
    theirs = await env.get(f"/api/v1/inspections/{env.ids['region_b']}/report.pdf", user="inspector_a")
    assert theirs.status_code == 404


# PDF ------------------------------------------------------------------------------------------


def pdf_text(content: bytes) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), reader


async def test_the_urdu_report_holds_the_templates_urdu_labels_and_the_reviewers_urdu_comments(env: Env):
    response = await env.get(f"/api/v1/inspections/{env.ids['reviewed']}/report.pdf", lang="ur")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    # Named after the station and the day the inspector was there (Pakistan time).
    day = STARTED.astimezone(PKT).date()
    assert response.headers["content-disposition"] == f'attachment; filename="inspection-SA1-{day}.pdf"'
    text, reader = pdf_text(response.content)
    extracted = normalise_urdu(text)
    hidden = {"fd_why"}  # staffed, so its follow-up question is not shown
    for section in DEFINITION["sections"]:
        assert normalise_urdu(section["title"]["ur"]) in extracted
        for item in section["items"]:
            present = normalise_urdu(item["label"]["ur"]) in extracted
            assert present is (item["key"] not in hidden), item["key"]
    for urdu in (
        "معائنہ رپورٹ",
        "تھانہ SA1",
        "اچھا کام، مگر صفائی بہتر کریں",
        "انتظار گاہ میں کوڑا پڑا تھا",
        "دو اہلکار موجود تھے",
        "ٹوکن دیا گیا",
        "پینے کا پانی",
        "منظور",
        "منٹ",  # the number's unit, in Urdu
    ):
        assert normalise_urdu(urdu) in extracted, urdu
    assert "minutes" not in text
    # Latin text and Western digits keep their own direction inside the Urdu pages.
    assert "SA1" in text and "Token given only after asking" in text
    assert "/" in reader.pages[0].extract_text()
    assert reader.metadata.title and "SA1" in reader.metadata.title


async def test_the_english_report_holds_answers_notes_comments_overrides_and_page_numbers(env: Env):
    response = await env.get(f"/api/v1/inspections/{env.ids['reviewed']}/report.pdf", user="reviewer_a")
    assert response.status_code == 200, response.text
    text, reader = pdf_text(response.content)
    flat = " ".join(text.split())
    for item in (it for s in DEFINITION["sections"] for it in s["items"] if it["key"] != "fd_why"):
        assert " ".join(item["label"]["en"].split()) in flat, item["key"]
    for english in (
        "Inspection report",
        "Front desk",
        "Lock-up",
        "PS SA1",
        "District A",
        "Region A",
        "Inspector_A (inspector_a)",
        "station_check",
        "Approved",
        "Token given only after asking",
        "Drinking water, Light and air",
        "7 minutes",
        "2/5",
        '=HYPERLINK("http://evil.example","click")',
        "At the station",
    ):
        assert english in flat, english
    assert normalise_urdu("تھانہ SA1") in normalise_urdu(text)  # the Urdu station name in the English report
    assert normalise_urdu("انتظار گاہ میں کوڑا پڑا تھا") in normalise_urdu(text)
    pages = len(reader.pages)
    assert pages >= 2 and f"{pages} / {pages}" in reader.pages[-1].extract_text()
    conn = await env.client.db()
    try:
        audited = await conn.fetch("SELECT entity_id, data FROM audit_log WHERE action = 'export.pdf'")
    finally:
        await conn.close()
    assert [(r["entity_id"], r["data"]["lang"]) for r in audited] == [(str(env.ids["reviewed"]), "en")]


async def test_a_critical_failure_and_a_far_location_are_flagged_in_the_report(env: Env):
    text, _ = pdf_text((await env.get(f"/api/v1/inspections/{env.ids['critical']}/report.pdf")).content)
    flat = " ".join(text.split())
    assert "Critical failures" in flat and "CRITICAL FAILURE" in flat
    assert "sick leave" in flat and "Why was nobody at the desk?" in flat  # visible once unstaffed
    draft, _ = pdf_text((await env.get(f"/api/v1/inspections/{env.ids['draft']}/report.pdf")).content)
    assert "FAR FROM THE STATION" in " ".join(draft.split())


async def test_a_report_with_photos_embeds_their_thumbnails(env: Env):
    photo_ids = [uuid.uuid4(), uuid.uuid4()]
    inspection_id = await env.sync(
        "A",
        full_answers(fd_photo={"photos": [str(p) for p in photo_ids]}),
        location={"lat": 31.5, "lon": 74.35},
        status="draft",
    )
    for photo_id, colour in zip(photo_ids, ((200, 30, 30), (30, 30, 200)), strict=True):
        uploaded = await env.client.put(
            f"/api/v1/photos/{photo_id}",
            await env.token("inspector_a"),
            content=jpeg(colour),
            params={"inspection_id": str(inspection_id), "item_key": "fd_photo"},
            headers={"Content-Type": "image/jpeg"},
        )
        assert uploaded.status_code == 201, uploaded.text
    for lang in ("en", "ur"):
        with_photos = await env.get(f"/api/v1/inspections/{inspection_id}/report.pdf", lang=lang)
        assert with_photos.status_code == 200, with_photos.text
        _, reader = pdf_text(with_photos.content)
        images = [img for page in reader.pages for img in page.images]
        assert len(images) == 2, lang
        assert all(img.name.endswith(".jpg") for img in images)  # the stored JPEG thumbs, embedded as JPEG
    _, plain = pdf_text((await env.get(f"/api/v1/inspections/{env.ids['passed']}/report.pdf")).content)
    assert sum(len(page.images) for page in plain.pages) == 0


# Size -----------------------------------------------------------------------------------------


async def test_an_export_of_thousands_of_inspections_streams_them_all(env: Env):
    conn = await env.client.db()
    try:
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document, submitted_at, score_percent, grade)
               SELECT gen_random_uuid(), $1, $2, $3, 'submitted', 1, '\\x00', $4, now() - g * interval '1 minute',
                      (g % 1000) / 10.0, 'B'
                 FROM generate_series(1, 3000) AS g""",
            env.world.stations["A"],
            uuid.UUID(env.version_id),
            env.world.users["inspector_a"],
            {"answers": {"fd_staffed": {"value": "yes"}, "fd_token": {"value": "no"}}},
        )
    finally:
        await conn.close()
    response = await env.get(CSV_URL, user="reviewer_a", template_id=env.template_id)
    rows = parse_csv(response.content)
    assert len(rows) == int(response.headers["x-export-rows"]) == 3004
    assert sum(r[ITEM_PREFIX + "fd_token"] == "no" for r in rows) == 3000
    book = openpyxl.load_workbook(io.BytesIO((await env.get(XLSX_URL, user="reviewer_a")).content), read_only=True)
    assert book["Inspections"].max_row == 3005
    # Each export holds a pooled connection only while it runs: more exports than the pool has
    # connections all succeed, so none was left behind.
    for _ in range(12):
        assert (await env.get(CSV_URL, user="reviewer_b")).status_code == 200


# Rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "upper", "expected"),
    [
        ("2026-03-01", False, datetime(2026, 2, 28, 19, 0, tzinfo=UTC)),  # midnight in Pakistan
        ("2026-03-31", True, datetime(2026, 3, 31, 19, 0, tzinfo=UTC)),  # a `to` date includes that whole day
        ("2026-03-31T10:00:00+05:00", True, datetime(2026, 3, 31, 5, 0, tzinfo=UTC)),
        ("2026-03-31T10:00:00Z", False, datetime(2026, 3, 31, 10, 0, tzinfo=UTC)),
    ],
)
def test_export_date_bounds_read_dates_as_pakistan_days_and_times_as_given(raw: str, upper: bool, expected: datetime):
    assert parse_bound(raw, "from", upper=upper) == expected


@pytest.mark.parametrize(
    "raw", ["2026-03-31T10:00:00", "31/03/2026", "2026-02-30", "soon", "9999-12-31", "0001-01-01T00:00:00+05:00"]
)
def test_export_date_bounds_without_an_offset_or_malformed_are_refused(raw: str):
    with pytest.raises(Invalid):
        parse_bound(raw, "to", upper=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+92 300", "'+92 300"),
        ("-x", "'-x"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Lahore", "Lahore"),
        ("تھانہ =", "تھانہ ="),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_prefixed_and_other_text_is_not(text: str, expected: str):
    assert neutralise(text) == expected


async def many_inspections(env: Env, n: int = 3000) -> None:
    """n submitted inspections of station A with empty documents, scored 0.01 % to n/100 %."""
    conn = await env.client.db()
    try:
        await conn.execute(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                        body_hash, document, submitted_at, score_percent)
               SELECT gen_random_uuid(), $1, $2, $3, 'submitted', 1, '\\x00', '{}', now(), g / 100.0
                 FROM generate_series(1, $4::int) AS g""",
            env.world.stations["A"],
            uuid.UUID(env.version_id),
            env.world.users["inspector_a"],
            n,
        )
    finally:
        await conn.close()


async def test_an_xlsx_export_sends_its_first_bytes_before_it_has_read_every_row(
    env: Env, settings, executor, monkeypatch
):
    """A large workbook flows as it is written: a proxy in front of the server sees bytes at once
    instead of waiting minutes for a finished file, and nothing is kept on disk meanwhile."""
    await many_inspections(env)
    events: list[str] = []
    batches = export_queries.ExportCursor.batches

    async def noted_batches(self, size: int):
        async for rows in batches(self, size):
            events.append("rows read")
            yield rows

    monkeypatch.setattr(export_queries.ExportCursor, "batches", noted_batches)
    app = create_app(settings, executor=executor, run_migrations=False)
    token = await env.token("admin")
    async with lifespan(app):
        status, pieces = await body_pieces(app, "/api/v1/exports/inspections.xlsx", token, events)
    assert status == 200
    assert pieces[0].startswith(b"PK\x03\x04")  # a zip's first member, at once
    assert events.count("rows read") == 4  # 3,005 rows, a thousand a batch
    assert events.index("body") < len(events) - 1 - events[::-1].index("rows read"), events
    book = openpyxl.load_workbook(io.BytesIO(b"".join(pieces)), read_only=True)
    assert book["Inspections"].max_row == 3006


async def body_pieces(app, path: str, token: str, events: list[str]) -> tuple[int, list[bytes]]:
    """GET through the ASGI app: the status and the body's pieces as sent, each noted in `events`."""
    status, pieces = 0, []
    asked, ended = False, asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await ended.wait()  # the client stays until the response ends, then hangs up
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                events.append("body")
                pieces.append(message["body"])
            if not message.get("more_body"):
                ended.set()

    await asyncio.wait_for(app(_get_scope(path, token), receive, send), timeout=60)
    return status, pieces


async def test_a_client_that_goes_away_mid_export_leaves_no_connection_behind(env: Env, settings, executor):
    await many_inspections(env)
    app = create_app(settings, executor=executor, run_migrations=False)
    token = await env.token("admin")
    async with lifespan(app):
        for fmt in ("csv", "xlsx"):
            received = await request_then_leave(app, f"/api/v1/exports/inspections.{fmt}", token)
            assert received["status"] == 200
            pool = app.state.read_pool
            assert pool.get_idle_size() == pool.get_size(), f"{fmt}: a pooled connection is still held"
    conn = await env.client.db()
    try:
        stuck = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'"
        )
    finally:
        await conn.close()
    assert stuck == 0


@contextlib.asynccontextmanager
async def lifespan(app):
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def request_then_leave(app, path: str, token: str) -> dict[str, Any]:
    """Send a GET, and disconnect as soon as the first piece of the body arrives (or the headers, for
    a body that only comes when it is complete)."""
    gone = asyncio.Event()
    asked = False
    received: dict[str, Any] = {"status": None}

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            received["status"] = message["status"]
        if message["type"] == "http.response.body" or message["type"] == "http.response.start":
            gone.set()

    await asyncio.wait_for(app(_get_scope(path, token), receive, send), timeout=60)
    await asyncio.sleep(0)  # let a cancelled stream's cleanup finish its last step
    return received


def _get_scope(path: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # a workbook left half-written
async def test_an_export_cut_off_by_a_failure_never_ends_as_if_complete(env: Env, settings, executor, fmt: str):
    """The database goes away after the first bytes have left: the response must not end as a whole
    file would (the server then drops the connection, and the browser reports a failed download, not a
    short spreadsheet someone would trust), and the export's connection still goes back to the pool."""
    await many_inspections(env)
    conn = await env.client.db()
    try:
        app = create_app(settings, executor=executor, run_migrations=False)
        token = await env.token("admin")
        pieces: list[bytes] = []
        ended = False

        asked = False

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            nonlocal ended
            if message["type"] != "http.response.body":
                return
            if not pieces:
                # The export's own connection waits, idle in its snapshot, for the next batch: it dies.
                killed = await conn.fetchval(
                    """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                          AND state = 'idle in transaction'"""
                )
                assert killed == 1
            pieces.append(message.get("body", b""))
            ended = ended or not message.get("more_body", False)

        async with lifespan(app):
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises, it reaches the server
                await asyncio.wait_for(app(_get_scope(f"/api/v1/exports/inspections.{fmt}", token), receive, send), 60)
            assert pieces and not ended, "a cut-off export was sent as if it were whole"
            pool = app.state.read_pool
            assert pool.get_idle_size() == pool.get_size(), "the dead export's connection was not given back"
            assert (await env.get(CSV_URL, user="admin")).status_code == 200  # and the next export works
    finally:
        await conn.close()


async def test_a_comment_on_an_item_the_correction_hid_stays_in_the_report_with_its_review(client: ApiClient):
    """The reviewer returns an inspection with a comment on a follow-up question; the correction hides
    that question; it is approved. The comment, often the reason for the return, was printed nowhere."""
    from tests.review_fixtures import answers, make_ctx

    ctx = await make_ctx(client)
    iid, revision = await ctx.submit(values=answers(staffed="no", why="no"))
    returned = await ctx.review(
        iid, "return", revision, comment="see the items", item_comments={"f_why": "Write the reason in the diary"}
    )
    assert returned.status_code == 200, returned.text
    current = (await ctx.get(f"/api/v1/inspections/{iid}")).json()
    await ctx.put(iid, base=current["revision"], values=answers())  # staffed: the follow-up is hidden
    current = (await ctx.get(f"/api/v1/inspections/{iid}")).json()
    assert (await ctx.review(iid, "approve", current["revision"])).status_code == 200
    text, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{iid}/report.pdf")).content)
    flat = " ".join(text.split())
    assert "Write the reason in the diary" in flat
    assert "not asked in the answers shown here" in flat
    urdu, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{iid}/report.pdf", lang="ur")).content)
    assert "Write the reason in the diary" in " ".join(urdu.split())


async def test_a_score_given_to_an_na_answer_reads_as_a_sentence_in_both_reports(client: ApiClient):
    """A reviewer scores an item the inspector marked n.a.: the override line said "0.0% (the
    inspector's answer scored not scored)", and in Urdu "score" twice over."""
    from tests.review_fixtures import answers, make_ctx

    ctx = await make_ctx(client)
    iid, revision = await ctx.submit(values=answers(diary="yes", water="na"))
    overrides = {"l_water": {"score": 0, "reason": "no water cooler at all"}}
    assert (await ctx.review(iid, "approve", revision, score_overrides=overrides)).status_code == 200
    english, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{iid}/report.pdf", lang="en")).content)
    flat = " ".join(english.split())
    assert "0.0% (the inspector's answer was not scored: n.a. or unanswered)" in flat
    assert "scored not scored" not in flat
    urdu, _ = pdf_text((await ctx.get(f"/api/v1/inspections/{iid}/report.pdf", lang="ur")).content)
    said = normalise_urdu(urdu)
    assert normalise_urdu("معائنہ کار کے جواب کا کوئی اسکور نہیں تھا") in said
    assert normalise_urdu("اسکور اسکور") not in said


class CountingPool(Executor):
    """The test pool, counting how many reports render in it at once."""

    def __init__(self, inner: HealingProcessPool) -> None:
        self.inner, self.running, self.most = inner, 0, 0
        self.lock = threading.Lock()

    @property
    def size(self) -> int:
        return self.inner.size

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        if fn is not render_report:
            return self.inner.submit(fn, *args, **kwargs)
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)

        def done(_: Future) -> None:
            with self.lock:
                self.running -= 1

        future = self.inner.submit(fn, *args, **kwargs)
        future.add_done_callback(done)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass  # the session's pool is shut down by its fixture


async def test_reports_requested_together_leave_a_worker_of_the_pool_to_photos(settings, executor):
    """Reports render in the pool that processes photos: four asked for at once took both of the
    pool's workers, and an inspector's photo waited behind them (half a minute behind a long report)."""
    from tests.review_fixtures import make_ctx

    pool = CountingPool(executor)
    assert pool.size == 2
    async with app_in_this_loop(settings, pool) as api:
        ctx = await make_ctx(api)
        iid, _ = await ctx.submit()
        replies = await asyncio.gather(*(ctx.get(f"/api/v1/inspections/{iid}/report.pdf") for _ in range(4)))
    assert [r.status_code for r in replies] == [200] * 4
    assert pool.most == 1
