"""Defects found in a review of the template rules and the template files, each held by a test.

- A template could ask for more photos of an item (`min_photos`) than an answer may carry, or hold more
  items than an inspection may answer: it published, and no inspection of it could ever be submitted.
- Keys ending in a newline passed the key pattern (`$` also matches before a final `\\n`): `"staffed\\n"`
  saved beside `"staffed"`, and a template key `"station_check\\n"` beside `"station_check"`.
- Importing a file into a template's draft ignored If-Match: a stale tag got 200 and silently replaced a
  draft another admin had saved since.
- A label made only of characters that take no space (U+200B, U+FEFF...) passed the blank check and
  showed as nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from server.inspections.models import Answer, InspectionDoc
from server.structs import MAX_ITEMS, MAX_PHOTOS_PER_ITEM
from tests.test_audit import _js_value
from tests.test_templates_api import create, definition, text

ROOT = Path(__file__).resolve().parent.parent
T = "/api/v1/templates"


def draft_url(template_id: str) -> str:
    return f"{T}/{template_id}/draft"


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def stored_draft(client, token, template_id: str) -> dict | None:
    response = await client.get(f"{T}/{template_id}", token)
    assert response.status_code == 200, response.text
    return response.json()["draft"]


# 1. Photos per item ---------------------------------------------------------------------------------


async def test_a_template_cannot_ask_for_more_photos_of_an_item_than_an_answer_may_carry(client, admin):
    template_id = await create(client, admin)
    too_many = definition()
    too_many["sections"][0]["items"][1]["min_photos"] = MAX_PHOTOS_PER_ITEM + 1
    refused = await client.put(draft_url(template_id), admin, json=too_many)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": "sections[0].items[1].min_photos", "message": f"must be at most {MAX_PHOTOS_PER_ITEM}"}
    ]
    assert await stored_draft(client, admin, template_id) is None

    # As many as an answer carries is a template an inspector can complete.
    enough = definition()
    enough["sections"][0]["items"][1]["min_photos"] = MAX_PHOTOS_PER_ITEM
    assert (await client.put(draft_url(template_id), admin, json=enough)).status_code == 200


def test_the_photo_limit_is_the_one_an_answer_has_and_the_builder_offers():
    photos = ["0b6f1c1e-7d7a-4a53-9a55-5d0c3f7d2a11"] * (MAX_PHOTOS_PER_ITEM + 1)
    with pytest.raises(msgspec.ValidationError, match=f"length <= {MAX_PHOTOS_PER_ITEM}"):
        msgspec.convert({"photos": photos}, Answer)
    msgspec.convert({"photos": photos[:MAX_PHOTOS_PER_ITEM]}, Answer)
    # The builder's "Photos needed" field stops at the same number.
    editor = (ROOT / "pwa/js/views/admin/editor.js").read_text(encoding="utf-8")
    declared = re.search(r"const MAX_PHOTOS_PER_ITEM = (\d+);", editor)
    assert declared and int(declared.group(1)) == MAX_PHOTOS_PER_ITEM
    assert re.search(r"numberField\('min_photos', [^\n]*max: MAX_PHOTOS_PER_ITEM", editor)


# 2. Items per template ------------------------------------------------------------------------------


def _with_items(count: int) -> dict:
    defn = definition()
    items = [{"key": f"q{n}", "type": "yes_no", "label": text(f"Question {n}")} for n in range(count)]
    defn["sections"] = [
        {"key": "first", "title": text("First"), "items": items[: count // 2]},
        {"key": "second", "title": text("Second"), "items": items[count // 2 :]},
    ]
    return defn


async def test_a_template_cannot_have_more_items_than_an_inspection_may_answer(client, admin):
    template_id = await create(client, admin)
    refused = await client.put(draft_url(template_id), admin, json=_with_items(MAX_ITEMS + 1))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": "sections", "message": f"a template may have at most {MAX_ITEMS} items"}
    ]
    assert await stored_draft(client, admin, template_id) is None

    imported = await client.post(f"{T}/import", admin, params={"key": "huge"}, json=_with_items(MAX_ITEMS + 1))
    assert imported.status_code == 422 and fields(imported) == ["sections"], imported.text

    saved = await client.put(draft_url(template_id), admin, json=_with_items(MAX_ITEMS))
    assert saved.status_code == 200, saved.text
    # An inspection of it answering every item is a document the server takes.
    doc = {
        "station_id": "0b6f1c1e-7d7a-4a53-9a55-5d0c3f7d2a11",
        "template_version_id": "0b6f1c1e-7d7a-4a53-9a55-5d0c3f7d2a11",
        "base_revision": 0,
        "status": "submitted",
        "answers": {f"q{n}": {"value": "yes"} for n in range(MAX_ITEMS)},
    }
    msgspec.convert(doc, InspectionDoc)


# 3. Keys ending in a newline ------------------------------------------------------------------------


async def test_an_item_key_ending_in_a_newline_is_refused(client, admin):
    template_id = await create(client, admin)
    bad = definition()
    bad["sections"][1]["items"][0]["key"] = "staffed\n"
    response = await client.put(draft_url(template_id), admin, json=bad)
    assert response.status_code == 422, response.text
    assert fields(response) == ["sections[1].items[0].key"]
    assert await stored_draft(client, admin, template_id) is None


async def test_a_template_key_ending_in_a_newline_is_refused_on_create_and_import(client, admin):
    await create(client, admin, key="station_check")
    created = await client.post(f"{T}/", admin, json={"key": "station_check\n", "title": text("Again")})
    assert created.status_code == 422 and fields(created) == ["key"], created.text

    by_query = await client.post(f"{T}/import", admin, params={"key": "station_copy\n"}, json=definition())
    assert by_query.status_code == 422 and fields(by_query) == ["key"], by_query.text
    in_file = {"format": "muaina.template", "key": "station_copy\n", "definition": definition()}
    by_file = await client.post(f"{T}/import", admin, json=in_file)
    assert by_file.status_code == 422 and fields(by_file) == ["key"], by_file.text

    listed = (await client.get(f"{T}/", admin)).json()
    assert [t["key"] for t in listed] == ["station_check"]


# 4. Import into a draft honours If-Match ------------------------------------------------------------


async def test_importing_into_a_draft_changed_since_it_was_read_is_refused_and_replaces_nothing(client, admin):
    template_id = await create(client, admin)
    read = (await client.put(draft_url(template_id), admin, json=definition())).json()
    # Another admin saves the draft after this one read it.
    theirs = definition(title=text("Their draft"))
    saved = await client.put(draft_url(template_id), admin, json=theirs, headers={"If-Match": read["draft_etag"]})
    assert saved.status_code == 200, saved.text

    mine = json.dumps({"format": "muaina.template", "definition": definition(title=text("Imported"))})
    url = f"{T}/{template_id}/import"
    headers = {"Content-Type": "application/json"}
    stale = await client.post(url, admin, content=mine, headers={**headers, "If-Match": read["draft_etag"]})
    assert stale.status_code == 412, stale.text
    assert stale.json()["draft_etag"] == saved.json()["draft_etag"]
    assert (await stored_draft(client, admin, template_id))["title"]["en"] == "Their draft"
    claimed = await client.post(url, admin, content=mine, headers={**headers, "If-None-Match": "*"})
    assert claimed.status_code == 412, claimed.text

    fresh = await client.post(url, admin, content=mine, headers={**headers, "If-Match": saved.json()["draft_etag"]})
    assert fresh.status_code == 200, fresh.text
    assert (await stored_draft(client, admin, template_id))["title"]["en"] == "Imported"
    # Without either header an import behaves as it did before the header was honoured.
    plain = await client.post(url, admin, json=definition(title=text("Plain")))
    assert plain.status_code == 200, plain.text


def test_the_import_dialog_sends_the_drafts_tag_and_says_it_replaces_unpublished_changes():
    api = (ROOT / "pwa/js/api.js").read_text(encoding="utf-8")
    call = api.split("importTemplate:", 1)[1].split("\n    users:", 1)[0]
    assert "draftCondition(etag)" in call, call
    dialog = (ROOT / "pwa/js/views/admin/templates.js").read_text(encoding="utf-8")
    assert "etag: template?.draft_etag" in dialog
    words = _js_value("./pwa/js/views/admin/strings.js", "m.default")
    for lang in ("en", "ur"):
        assert words[lang].get("admin.importReplacesChanges"), lang
        assert words[lang].get("admin.importDraftChanged"), lang


async def test_the_openapi_document_names_the_412_of_the_import_into_a_draft(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert "412" in paths["/api/v1/templates/{template_id}/import"]["post"]["responses"]


# 5. Labels of invisible characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "blank", ["\u200b", "\u200c\u200d", " \u200e \u200f ", "\u2060", "\ufeff", "\u202b\u202c", "\u061c"]
)
async def test_a_label_made_only_of_invisible_characters_is_blank(client, admin, blank):
    template_id = await create(client, admin)
    bad = definition()
    bad["sections"][0]["items"][0]["label"]["ur"] = blank
    bad["sections"][1]["title"]["en"] = blank
    response = await client.put(draft_url(template_id), admin, json=bad)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"field": "sections[0].items[0].label.ur", "message": "must not be blank"},
        {"field": "sections[1].title.en", "message": "must not be blank"},
    ]
    created = await client.post(f"{T}/", admin, json={"key": "other_check", "title": {"en": "Other", "ur": blank}})
    assert created.status_code == 422 and fields(created) == ["title.ur"], created.text


async def test_a_label_with_a_joiner_inside_visible_words_is_kept(client, admin):
    template_id = await create(client, admin)
    ok = definition()
    ok["sections"][0]["items"][0]["label"]["ur"] = "\u200fکیا ڈیسک\u200c پر کوئی ہے؟"
    response = await client.put(draft_url(template_id), admin, json=ok)
    assert response.status_code == 200, response.text


async def test_a_grade_named_fail_with_invisible_characters_is_still_reserved(client, admin):
    template_id = await create(client, admin)
    bad = definition()
    bad["grade_bands"] = [{"grade": "A", "min": 50}, {"grade": "fail\u200b", "min": 0}]
    response = await client.put(draft_url(template_id), admin, json=bad)
    assert response.status_code == 422, response.text
    assert {"field": "grade_bands[1].grade", "message": "'fail' is reserved for a critical failure"} in (
        response.json()["errors"]
    )
