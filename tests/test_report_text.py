"""The PDF report's text: mixed Urdu and English in the visual order UAX #9 gives, nothing dropped.

Text extraction cannot show the order of words on the page (pypdf follows the content stream and has
its own right-to-left guesses), so `visual_lines` reads where each glyph is drawn: it follows the text
operators of a page, advancing by each glyph's width, and puts a line's words in left-to-right order.
A word is compared by its letters (`letters`), since a right-to-left word's glyphs are stored in
visual order and one Nastaliq letter may be several glyphs.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from typing import Any

import pypdf
from pypdf.generic import ArrayObject, ContentStream

from server.exports.bidi import strip_controls
from tests.test_exports import Env, full_answers, pdf_text
from tests.test_exports import env as env  # the fixture

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_INVISIBLE = {"\u2060", "\u2066", "\u2067", "\u2068", "\u2069", "\x00"}


def _fonts(page: Any) -> dict[str, tuple[dict[int, float], dict[int, str]]]:
    """Each font of the page: its glyph widths (1/1000 em) and its ToUnicode map, by glyph code."""
    fonts = {}
    for name, ref in page["/Resources"]["/Font"].items():
        font = ref.get_object()
        w = list(font["/DescendantFonts"][0].get_object()["/W"])
        widths: dict[int, float] = {}
        i = 0
        while i < len(w):
            if isinstance(w[i + 1], ArrayObject):
                widths.update({int(w[i]) + k: float(v) for k, v in enumerate(w[i + 1])})
                i += 2
            else:
                widths.update(dict.fromkeys(range(int(w[i]), int(w[i + 1]) + 1), float(w[i + 2])))
                i += 3
        cmap_text = font["/ToUnicode"].get_object().get_data().decode()
        mapping: dict[int, str] = {}
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap_text, re.S):
            for code, text in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                mapping[int(code, 16)] = bytes.fromhex(text).decode("utf-16-be")
        fonts[name] = (widths, mapping)
    return fonts


def _glyphs(reader: pypdf.PdfReader, page: Any) -> list[tuple[float, int, float, float, str]]:
    """(baseline, text object number, x, advance, text) of every glyph, in content-stream order."""
    fonts = _fonts(page)
    font, size, saved = None, 0.0, []
    x = line_x = baseline = 0.0
    block = 0
    out = []
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"q":
            saved.append((font, size))
        elif op == b"Q":
            font, size = saved.pop()
        elif op == b"BT":
            block += 1
            x = line_x = 0.0
        elif op == b"Tf":
            font, size = str(operands[0]), float(operands[1])
        elif op == b"Td":
            line_x += float(operands[0])
            x = line_x
            baseline = float(operands[1])
        elif op == b"Tm":
            x = line_x = float(operands[4])
        elif op in (b"Tj", b"TJ"):
            parts = operands[0] if op == b"TJ" else [operands[0]]
            widths, mapping = fonts[font]
            for part in parts:
                if not isinstance(part, bytes | str):
                    x -= float(part) / 1000 * size
                    continue
                raw = getattr(part, "original_bytes", part)
                for i in range(0, len(raw), 2):
                    code = int.from_bytes(raw[i : i + 2], "big")
                    advance = widths.get(code, 0.0) / 1000 * size
                    out.append((round(baseline, 1), block, x, advance, mapping.get(code, "")))
                    x += advance
    return out


def visual_lines(content: bytes) -> list[list[str]]:
    """Every line of the report as its words from left to right, as they are drawn on the page."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    lines = []
    for page in reader.pages:
        by_line: dict[float, list] = {}
        for glyph in _glyphs(reader, page):
            by_line.setdefault(glyph[0], []).append(glyph)
        for _, glyphs in sorted(by_line.items(), reverse=True):
            words: list[list] = []
            last_kind = last_block = None
            for _, block, x, advance, text in glyphs:
                text = "".join(c for c in text if c not in _INVISIBLE)
                if not text:
                    continue
                if text.isspace():
                    last_kind = None
                    continue
                kind = bool(_ARABIC.search(text))
                if kind != last_kind or block != last_block:
                    words.append([])
                words[-1].append((x, advance, text))
                last_kind, last_block = kind, block
            words.sort(key=lambda word: min(x for x, _, _ in word) + max(x + a for x, a, _ in word))
            lines.append(["".join(t for _, _, t in word) for word in words])
    return lines


def letters(word: str) -> Counter:
    return Counter(c for c in unicodedata.normalize("NFKC", word) if not c.isspace() and c not in _INVISIBLE)


def shows(lines: list[list[str]], expected: list[str]) -> bool:
    """Whether some line holds `expected` as consecutive words, left to right."""
    want = [letters(w) for w in expected]
    for line in lines:
        have = [letters(w) for w in line]
        if any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1)):
            return True
    return False


def flat(text: str) -> str:
    return " ".join("".join(c for c in text if c not in _INVISIBLE).split())


async def mixed_inspection(env: Env, **notes: str) -> str:
    inspection_id = await env.sync(
        "A",
        full_answers(
            fd_staffed={"value": "yes", "note": notes["note"]},
            fd_remarks={"value": notes["remarks"]},
        ),
        location={"lat": 31.5, "lon": 74.35, "accuracy_m": 8},
    )
    reviewed = await env.client.post(
        f"/api/v1/inspections/{inspection_id}/review",
        await env.token("reviewer_a"),
        json={"decision": "return", "revision": 1, "comment": "", "item_comments": {"fd_clean": notes["comment"]}},
    )
    assert reviewed.status_code == 200, reviewed.text
    return str(inspection_id)


async def test_urdu_with_digits_and_english_words_is_laid_out_in_bidi_order_in_both_reports(env: Env):
    inspection_id = await mixed_inspection(
        env,
        note="تھانہ 12 میں 3 کمرے",
        remarks="CCTV کیمرہ 2 دن سے خراب ہے",
        comment="Token 12 given at تھانہ گیٹ",
    )
    english = (await env.get(f"/api/v1/inspections/{inspection_id}/report.pdf")).content
    lines = visual_lines(english)
    # An Urdu note in an English line: the label on the left, the note read from the right, each
    # number standing right of the word after it.
    assert shows(lines, ["Note:", "کمرے", "3", "میں", "12", "تھانہ"]), lines
    # A mostly Urdu answer opening with an English term is an Urdu sentence: "CCTV" comes first, on the right.
    assert shows(lines, ["Answer:", "ہے", "خراب", "سے", "دن", "2", "کیمرہ", "CCTV"]), lines
    assert shows(lines, ["Token", "12", "given", "at", "گیٹ", "تھانہ"]), lines
    # The page holds the runs in reading order, so extracted or copied text reads as it was written.
    text = flat(pdf_text(english)[0])
    assert "Note: تھانہ 12 میں 3 کمرے" in text and "CCTV کیمرہ 2 دن سے خراب ہے" in text

    urdu = visual_lines((await env.get(f"/api/v1/inspections/{inspection_id}/report.pdf", lang="ur")).content)
    assert shows(urdu, ["کمرے", "3", "میں", "12", "تھانہ"]), urdu
    assert shows(urdu, ["ہے", "خراب", "سے", "دن", "2", "کیمرہ", "CCTV"]), urdu
    # A mostly English comment inside the Urdu report reads left to right, its Urdu words from the right.
    assert shows(urdu, ["Token", "12", "given", "at", "گیٹ", "تھانہ"]), urdu


async def test_characters_no_bundled_font_has_are_printed_as_their_code_points(env: Env):
    inspection_id = await mixed_inspection(
        env,
        note="Lock broken 👍 see 中文 ✓",
        remarks="تالا ٹوٹا ہے 👍🏽 ٹھیک",
        comment="❤️ ok",
    )
    for lang in ("en", "ur"):
        response = await env.get(f"/api/v1/inspections/{inspection_id}/report.pdf", lang=lang)
        text = flat(pdf_text(response.content)[0])
        for shown in ("[U+1F44D]", "[U+4E2D U+6587]", "[U+2713]", "[U+1F44D U+1F3FD]", "[U+2764 U+FE0F]"):
            assert shown in text, (lang, shown)
        assert "Lock broken" in text and "ok" in text
        assert not letters("تالا ٹوٹا ہے ٹھیک") - letters(text), lang  # the Urdu around the emoji stays


def test_user_text_cannot_override_the_order_of_what_follows_it():
    # An override would show "12" as "21"; isolates that are not closed would swallow the rest of the line.
    assert strip_controls("A\u202e12\u202c B") == "A12 B"
    assert (
        strip_controls("\u2067open \u2068kept\u2069 closed\u2069\u2069") == "\u2067open \u2068kept\u2069 closed\u2069"
    )
    assert strip_controls("\u2067never closed \u2068kept\u2069") == "never closed \u2068kept\u2069"
