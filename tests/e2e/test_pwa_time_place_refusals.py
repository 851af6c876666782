"""A submission the server refuses for its place (changed after it was submitted) or its times (finished
before it started) is said to the inspector in their language, not as a field name and the server's
English (the refusal parks the inspection; the outbox does not send it again by itself)."""

from __future__ import annotations

import json

import pytest

from server.inspections.rules import FINISH_BEFORE_START, PLACE_FIXED
from tests.conftest import wait_in_page
from tests.e2e.test_pwa_support import begin_inspection, fill_whole_form, inspection_id, signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# What the inspection's screen lists for a 422 naming `field` with the server's `message`.
SAID = """async ([station, lang, field, message]) => {
    const i18n = await import('/js/i18n.js');
    const { errorsCallout } = await import('/js/views/inspector/common.js');
    i18n.setLang(lang);
    return errorsCallout({
        id: 'x', station_id: station, template_id: crypto.randomUUID(), template_version_id: crypto.randomUUID(),
        status: 'draft', sync: 'attention', answers: {},
        error: { status: 422, errors: [{ field, message }] },
    }, { sections: [] }).querySelector('.server-errors').innerText;
}"""


@pytest.mark.parametrize(
    ("field", "message", "english", "urdu"),
    [
        (
            "location",
            PLACE_FIXED,
            "Location: the place of a submitted inspection cannot change",
            "مقام: جمع شدہ معائنے کا مقام تبدیل نہیں ہو سکتا",
        ),
        (
            "finished_at",
            FINISH_BEFORE_START,
            "Finish time: the finish time is before the start time",
            "اختتام کا وقت: اختتام کا وقت آغاز کے وقت سے پہلے کا ہے",
        ),
    ],
)
def test_a_refused_place_or_finish_is_said_in_the_inspectors_language(
    pwa_server, browser, field, message, english, urdu
):
    phone = signed_in_phone(pwa_server, browser)
    said = {lang: phone.page.evaluate(SAID, [phone.station["id"], lang, field, message]) for lang in ("en", "ur")}
    assert said["en"].startswith(english), said
    assert said["ur"].startswith(urdu), said
    assert phone.errors == []
    phone.context.close()


# The draft made this way, changed as the test says, then its first section opened afresh.
REOPEN = """async ([id, change]) => {
    const db = await import('/js/db.js');
    const d = await db.get('drafts', id);
    await db.put('drafts', { ...d, location: null, status: 'draft', ...change });
}"""
LOCATED = "(id) => import('/js/db.js').then((db) => db.get('drafts', id)).then((d) => d.location)"


@pytest.mark.parametrize(
    ("change", "located"),
    [
        ({"base_revision": 0}, True),  # never on the server: it still gets the fix it began without
        # A returned inspection whose resubmission was refused is a draft again on the phone: a fix now
        # would be where it is corrected, and the server refuses a submitted inspection's place changed.
        ({"base_revision": 2, "sync": "attention"}, False),
    ],
    ids=["new-draft", "refused-resubmission"],
)
def test_only_a_draft_never_submitted_gets_the_fix_it_lacks(pwa_server, browser, change, located):
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    begin_inspection(page, phone.station)
    iid = inspection_id(page)
    page.evaluate(REOPEN, [iid, change])
    page.goto(pwa_server.url + "/#/")
    page.reload()
    page.goto(pwa_server.url + f"/#/i/{iid}/s/0")
    page.wait_for_selector(".item")
    if located:
        wait_in_page(page, f"({LOCATED})('{iid}').then((l) => l !== null)")
    else:
        page.wait_for_timeout(3000)  # the fix comes at once in this context (phone_context's GPS)
        assert page.evaluate(LOCATED, iid) is None
    assert phone.errors == []
    phone.context.close()


def test_a_copy_refused_for_a_place_it_was_never_given_takes_the_kept_one_and_goes(pwa_server, browser):
    """An app before the place rule added a fix to a returned inspection that had none; the server now
    refuses that copy (422 at location) and says which place it keeps. The phone takes the kept place
    and sends again, once, rather than park an inspection its inspector could neither send nor change
    back. (The refusal is the server's own reply, put in front of the first send.)"""
    phone = signed_in_phone(pwa_server, browser)
    page = phone.page
    begin_inspection(page, phone.station)
    fill_whole_form(page, phone.version["definition"])
    iid = inspection_id(page)
    refusal = {
        "title": "Validation failed",
        "status": 422,
        "detail": "the inspection cannot be changed as sent",
        "errors": [{"field": "location", "message": PLACE_FIXED}],
        "kept_location": None,
    }
    sent: list[dict] = []

    def first_refused(route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        sent.append(route.request.post_data_json)
        if len(sent) == 1:
            route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(refusal))
        else:
            route.continue_()

    phone.context.route(f"**/api/v1/inspections/{iid}", first_refused)
    page.click("#submit")
    wait_in_page(page, "import('/js/db.js').then((db) => db.getAll('outbox')).then((o) => o.length === 0)", timeout=90)
    assert len(sent) >= 2 and sent[0]["location"] is not None and sent[-1]["location"] is None, sent
    stored = pwa_server.api("GET", f"/api/v1/inspections/{iid}", phone.token).json()
    assert stored["status"] == "submitted" and stored["location"] is None
    assert page.evaluate(LOCATED, iid) is None
    assert phone.errors == []
    phone.context.close()
