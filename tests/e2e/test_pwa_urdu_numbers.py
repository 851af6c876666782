"""Numbers typed with an Urdu keyboard: Urdu and Arabic digits are numbers, what is not a number is said.

A browser's own number field (`type=number`) silently drops Urdu digits: an inspector typing ۱۲ into
"officers present" saw the box stay empty and the answer count as missing. Number answers, the
reviewer's override and the admin's number fields are read by `readNumber` instead.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_pwa_support import (
    INSPECTOR,
    PASSWORD,
    begin_inspection,
    bundle,
    inspection_id,
    phone_context,
    pick_station_and_template,
    sign_in,
    wait_in_page,
    watch_errors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# What each typed text reads as: a number, None for nothing, "NaN" for what is not a number.
CASES = [
    ("12", 12),
    ("۱۲", 12),  # Urdu (extended Arabic-Indic) digits
    ("١٢", 12),  # Arabic-Indic digits
    ("۱۲٫۵", 12.5),  # the Arabic decimal separator
    ("۱۲.۵", 12.5),
    ("\u200e۴۵\u200f", 45),  # direction marks an Urdu keyboard slips in
    ("-3", -3),
    ("\u22123", -3),  # the minus sign
    ("1,250", 1250),  # Pakistan's grouping
    ("1,25,000", 125000),  # in lakhs too
    ("۱٬۲۵۰", 1250),
    ("۱،۲۵۰", 1250),  # the Urdu keyboard's comma
    (" 7 ", 7),
    ("", None),
    ("   ", None),
    ("1,5", "NaN"),  # not read as 15
    ("1,2,345", "NaN"),
    ("12 34", "NaN"),  # two numbers are not one
    ("9" * 400, "NaN"),  # too large to hold
    ("12abc", "NaN"),
    ("-", "NaN"),
    (".", "NaN"),
    ("1e5", "NaN"),
    ("۱۲-", "NaN"),
]


# The answer as the draft holds it once every write in flight has landed.
SAVED = """async ([id, key]) => {
    const draft = await (await import('/js/inspection.js')).loadDraft(id);
    return draft.answers[key]?.value ?? null;
}"""


def number_item(definition: dict) -> tuple[int, dict]:
    for index, section in enumerate(definition["sections"]):
        for item in section["items"]:
            if item["type"] == "number" and not item.get("visible_if"):
                return index, item
    raise AssertionError("the demo template has no number item")


def test_readnumber_reads_every_script_of_digits_and_refuses_the_rest(pwa_server, browser):
    context = phone_context(browser)
    page = context.new_page()
    page.goto(pwa_server.url + "/")
    page.wait_for_selector("#main")
    read = page.evaluate(
        """async (texts) => {
          const { readNumber } = await import('/js/i18n.js');
          return texts.map((t) => { const n = readNumber(t); return Number.isNaN(n) ? 'NaN' : n; });
        }""",
        [text for text, _ in CASES],
    )
    assert dict(zip([text for text, _ in CASES], read, strict=True)) == dict(CASES)
    # A stored number goes back into its field as readNumber reads it: no exponent, no grouping.
    shown = page.evaluate(
        "async (ns) => { const i = await import('/js/i18n.js'); return ns.map((n) => [i.inputNumber(n), i.readNumber(i.inputNumber(n))]); }",
        [1e-7, 1234567.5, -3],
    )
    assert shown == [["0.0000001", 1e-7], ["1234567.5", 1234567.5], ["-3", -3]]
    context.close()


def test_an_answer_typed_in_urdu_digits_is_kept_and_a_wrong_one_is_said(pwa_server, browser):
    token = pwa_server.login(INSPECTOR, PASSWORD)
    station, version = pick_station_and_template(bundle(pwa_server, token))
    index, item = number_item(version["definition"])
    context = phone_context(browser, station)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in(page, pwa_server.url, INSPECTOR, PASSWORD)
    begin_inspection(page, station)
    fill_url = page.url.rsplit("/s/", 1)[0] + f"/s/{index}"
    iid = inspection_id(page)
    page.click(".lang-toggle")
    wait_in_page(page, "document.documentElement.dir === 'rtl'")
    page.goto(fill_url)
    card = page.locator(f"#item-{item['key']}")
    box = card.locator("input.input-number")
    error = card.locator(".number-row .field-error")

    box.fill("۱۲٫۵")
    assert error.is_hidden()
    assert box.get_attribute("aria-invalid") is None
    assert page.evaluate(SAVED, [iid, item["key"]]) == 12.5
    page.reload()
    box.wait_for()
    assert box.input_value() == "12.5", "the answer was kept as the number typed"

    box.fill("12abc")
    error.wait_for()
    assert "Not a number" not in error.inner_text() and error.inner_text().strip(), "said in Urdu"
    assert box.get_attribute("aria-invalid") == "true"
    assert page.evaluate(SAVED, [iid, item["key"]]) is None
    page.reload()
    box.wait_for()
    assert box.input_value() == "", "what is not a number answers nothing"
    assert error.is_hidden()
    assert errors == []
    context.close()
