"""The report's shortcuts through fpdf2 set the same page as the long way round.

The Typesetter draws each run of a line (a stretch of one embedding level, bidi.visual_runs) without
fpdf2's own bidi pass, and shapes each text once per font, size and direction however often fpdf2
asks. Both are only right if they change nothing on the page: these tests compare each with the path
fpdf2 takes on its own, on lines that mix Urdu, English, numbers, brackets and Arabic-Indic digits.
"""

from __future__ import annotations

import gc
import io

import pypdf
from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont

from server.exports import typeset
from server.exports.bidi import levels, visual_runs
from server.exports.typeset import Typesetter, iso

LINES = [
    "تھانے میں 12 اہلکار موجود تھے، SHO Ahmed نے بتایا کہ FIR نمبر 345/2026 درج ہے۔",
    "روزنامچہ (daily diary) میں 14:35 PKT تک اندراج مکمل تھا، 45% ریکارڈ ڈیجیٹل ہے۔",
    "The front desk (فرنٹ ڈیسک) had 3 men; CCTV کیمرہ نمبر ۲ خراب ہے [U+1F44D].",
    "SHO صاحب موجود نہیں تھے — 2026-11-28 05:35 PKT",
    "مال خانہ رجسٹر کے صفحہ ۱۱۸ پر 7 اندراجات، Mr. Khalid (CNIC 35202-1234567-1) وغیرہ",
]


def _fragments(doc: Typesetter, text: str, direction: TextDirection | None) -> list[tuple[str, str, object]]:
    doc._run_direction = direction
    try:
        frags = doc._preload_bidirectional_text(text, False)
    finally:
        doc._run_direction = None
    return [(f.string, f.font.fontkey, f.text_shaping_parameters["fragment_direction"]) for f in frags]


def test_a_run_drawn_without_fpdfs_bidi_pass_has_the_fragments_that_pass_would_give():
    for lang in ("en", "ur"):
        doc = Typesetter(lang, "t")
        doc.add_page()
        checked = 0
        for line in LINES:
            text = doc._bidi(iso(line))
            doc._font(text=text)
            for run in visual_runs(text, levels(text, doc.rtl), doc.rtl):
                direction = TextDirection.RTL if run.rtl else TextDirection.LTR
                doc.text_shaping["direction"] = direction
                slow = _fragments(doc, run.text, None)
                fast = _fragments(doc, run.text, direction)
                assert fast == slow, (lang, run)
                checked += 1
        assert checked > 3 * len(LINES), "the lines hold runs of both directions"


def test_a_remembered_shaping_gives_the_glyphs_a_fresh_shaping_gives():
    doc = Typesetter("ur", "t")
    font = doc.fonts["urdu"]
    assert type(font) is not TTFFont, "the report's fonts remember their shaping"
    params = dict(doc.text_shaping, fragment_direction=TextDirection.RTL)
    for line in LINES:
        first = font.shape_text(line, 11.0, params)
        again = font.shape_text(line, 11.0, params)
        fresh = TTFFont.shape_text(font, line, 11.0, params)
        assert again == first == fresh
        assert font.perform_harfbuzz_shaping(line, 12.0, params)[1] is not None


def _report(doc: Typesetter) -> bytes:
    doc.add_page()
    for line in LINES * 4:
        doc.para(iso(line))
        doc.kv(iso("فرنٹ ڈیسک — 80%"), iso(line))
    return doc.finish()


def test_a_report_shaped_from_memory_is_the_report_shaped_afresh_each_time():
    for lang in ("en", "ur"):
        remembered = _report(Typesetter(lang, "t"))
        doc = Typesetter(lang, "t")
        for font in doc.fonts.values():
            typeset._SHAPED.pop(id(font), None)  # without its memo a font shapes every time
        afresh = _report(doc)
        pages = [pypdf.PdfReader(io.BytesIO(pdf)).pages for pdf in (remembered, afresh)]
        assert [p.get_contents().get_data() for p in pages[0]] == [p.get_contents().get_data() for p in pages[1]]
        assert len(pages[0]) > 1


def test_the_shaping_memo_goes_when_its_document_is_finished_or_dropped():
    finished = Typesetter("ur", "t")
    ids = {id(font) for font in finished.fonts.values()}
    assert ids <= set(typeset._SHAPED)
    _report(finished)
    assert not ids & set(typeset._SHAPED)

    dropped = Typesetter("ur", "t")
    ids = {id(font) for font in dropped.fonts.values()}
    dropped.add_page()
    dropped.para(iso(LINES[0]))
    assert ids <= set(typeset._SHAPED)
    del dropped
    gc.collect()
    assert not ids & set(typeset._SHAPED)
