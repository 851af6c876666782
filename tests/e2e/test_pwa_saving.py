"""Every tap is saved, and the next screen sees it.

Taps are written as they come, a later one waiting behind the write in flight (inspection.save). A
screen opened meanwhile (the review screen, after the last answer of the last section) must read the
draft after those writes, or it shows the last answer missing, keeps Submit disabled, and a Submit
there would freeze the draft without it.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_bundle_versions import begin, first_yes_no
from tests.e2e.test_pwa_support import signed_in_phone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# Two answers in quick succession (the second coalesced behind the first's write), then the draft as
# a screen opening now would load it.
TAP_TAP_OPEN = """async ([id, first, second]) => {
    const inspection = await import('/js/inspection.js');
    const draft = await inspection.loadDraft(id);
    inspection.setValue(draft, first, 'no');
    inspection.setValue(draft, second, 'yes');
    const opened = await inspection.loadDraft(id);
    return [opened.answers[first]?.value ?? null, opened.answers[second]?.value ?? null];
}"""


def test_a_screen_opened_right_after_the_last_taps_sees_them(pwa_server, browser):
    phone = signed_in_phone(pwa_server, browser)
    iid = begin(phone.page, pwa_server.url, phone.station)
    definition = phone.version["definition"]
    first = first_yes_no(definition)["key"]
    second = next(
        i["key"] for s in definition["sections"] for i in s["items"] if i["type"] == "yes_no" and i["key"] != first
    )
    assert phone.page.evaluate(TAP_TAP_OPEN, [iid, first, second]) == ["no", "yes"]
    assert phone.errors == []
    phone.context.close()
