"""Right-to-left and left-to-right text in one report line, in the order UAX #9 (the Unicode Bidirectional
Algorithm) gives it.

fpdf2 resolves each character's embedding level correctly, but then lays a line out as if it had two
levels only: every run of even level left to right, every odd one right to left, the runs in the
paragraph's order. An Urdu phrase holding a number inside an English line has three levels (English 0,
Urdu 1, the number 2), so "تھانہ 12 میں 3 کمرے" came out with its words in typing order, left to right.
Here the levels are resolved once per paragraph (with fpdf2's BidiParagraph, which passes the Unicode
conformance tests), the Typesetter breaks the paragraph into lines, and each line is reordered by rules
L1 and L2 into runs of one level that the Typesetter draws in their own direction, each at its place.

A line's direction is the report's (English left to right, Urdu right to left): it decides where a
label stands and which way the line reads. Text the report did not write itself (notes, comments,
names, template labels) goes in as an isolate (`isolate`), so it cannot pull the report's punctuation
or numbers into its own order ("فرنٹ ڈیسک — 80%" would read "80 — فرنٹ ڈیسک%" in an English report),
and it reads in its own direction: that of most of its letters. Not that of its first letter, as
HTML's dir="auto" does: inspectors write Urdu sentences that open with an English term ("SHO صاحب
موجود نہیں تھے", "CCTV کیمرہ خراب ہے"), and read left to right those come out in the wrong order.
An even count falls back to the first letter.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from fpdf.bidi import BidiParagraph
from fpdf.enums import TextDirection

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_OPENERS = (LRI, RLI, FSI)
# Embeddings and overrides: typed into a note, an override would show its letters or digits in an
# order other than the one stored (the "Trojan source" trick), so user text never keeps them.
_EMBEDDINGS = frozenset("\u202a\u202b\u202c\u202d\u202e")
# Formatting characters that steer the algorithm and have nothing to draw.
CONTROLS = frozenset("\u2066\u2067\u2068\u2069\u200e\u200f\u061c") | _EMBEDDINGS


class Run(NamedTuple):
    """Part of a line in one direction: its text in reading order, and where it starts in the line."""

    text: str
    rtl: bool
    start: int


def strip_controls(text: str) -> str:
    """`text` without embeddings and overrides, and without isolates left open or closed unopened.

    A balanced isolate cannot reach outside itself, so it is kept: the report's own isolates go
    through here too, and so do those a phone keyboard sometimes puts around a pasted number.
    """
    kept: list[str] = []
    for line in text.split("\n"):
        chars: list[str | None] = []
        opened: list[int] = []
        for char in line:
            if char in _EMBEDDINGS:
                continue
            if char in _OPENERS:
                opened.append(len(chars))
            elif char == PDI:
                if not opened:
                    continue
                opened.pop()
            chars.append(char)
        for index in opened:
            chars[index] = None
        kept.append("".join(c for c in chars if c is not None))
    return "\n".join(kept)


def isolate(text: str) -> str:
    """Each line of `text` as an isolate in the direction of most of its letters."""
    return "\n".join(f"{_opener(line)}{line}{PDI}" if line.strip() else line for line in text.split("\n"))


def _opener(line: str) -> str:
    rtl = ltr = 0
    for char in line:
        kind = unicodedata.bidirectional(char)
        rtl += kind in ("R", "AL")
        ltr += kind == "L"
    return RLI if rtl > ltr else LRI if ltr > rtl else FSI


def levels(text: str, rtl: bool) -> list[int]:
    """The resolved embedding level of each character of one paragraph (rules P2 to I2)."""
    if not text:
        return []
    direction = TextDirection.RTL if rtl else TextDirection.LTR
    chars = BidiParagraph(text, base_direction=direction, preserve_bn_chars=True).get_characters()
    assert len(chars) == len(text), "every character keeps its level"
    return [c.embedding_level for c in chars]


def visual_runs(text: str, line_levels: list[int], rtl: bool) -> list[Run]:
    """One line of a paragraph, with its characters' levels, as runs of one level from left to right."""
    base = 1 if rtl else 0
    resolved = list(line_levels)
    # L1: white space and isolate controls at the end of the line take the paragraph's level.
    end = len(text)
    while end and (text[end - 1].isspace() or text[end - 1] in CONTROLS):
        end -= 1
        resolved[end] = base
    # L2: from the highest level down to the lowest odd one, reverse every stretch at that level or above.
    order = list(range(len(text)))
    highest = max(resolved, default=0)
    lowest_odd = min((level for level in resolved if level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if resolved[order[i]] < level:
                i += 1
                continue
            j = i
            while j < len(order) and resolved[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    # Neighbours in visual order at one level that are neighbours in the text too belong to one run.
    groups: list[list[int]] = []
    for index in order:
        if groups:
            last = groups[-1][-1]
            step = -1 if resolved[last] % 2 else 1
            if resolved[index] == resolved[last] and index == last + step:
                groups[-1].append(index)
                continue
        groups.append([index])
    runs = []
    for group in groups:
        first = min(group)
        drawn = "".join(text[i] for i in sorted(group) if text[i] not in CONTROLS)
        if drawn:
            runs.append(Run(drawn, resolved[first] % 2 == 1, first))
    return runs


def is_invisible(char: str) -> bool:
    """Format characters and variation selectors: a font need not have them, they draw nothing."""
    code = ord(char)
    return (
        unicodedata.category(char) == "Cf" or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or char in CONTROLS
    )
