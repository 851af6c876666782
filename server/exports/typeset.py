"""Typesetting for the PDF reports: fonts, line breaking, bidi, and text that extracts as written.

Urdu is set right to left in Noto Nastaliq Urdu, shaped by HarfBuzz (uharfbuzz) through fpdf2's text
shaping, so letters join and stack as an Urdu reader expects; Latin text inside Urdu lines (codes,
names, numbers) falls back to Noto Sans and keeps its own direction. Digits stay Western in both
languages, as in the rest of the app. The fonts ship with the package (server/assets/fonts, SIL OFL),
so a machine without system fonts sets the same pages.

Lines that mix the two directions are ordered by the Unicode Bidirectional Algorithm
(server.exports.bidi). A character none of these fonts can draw (an emoji, a Chinese word) is not
dropped: it is printed as its code point, "[U+1F44D]", so the record shows exactly what was typed.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import TextDirection
from fpdf.fonts import TTFFont
from fpdf.line_break import Fragment
from fpdf.output import OutputProducer

from server.exports.bidi import CONTROLS, LRI, PDI, Run, is_invisible, isolate, levels, strip_controls, visual_runs
from server.exports.models import Lang

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# C0 controls other than line feed and tab would be drawn as missing glyphs (or break the text
# operators); notes typed on phones occasionally carry them. Bidi controls: see bidi.strip_controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LATIN = re.compile(r"[A-Za-z0-9]")
# A run of Latin text inside an Urdu line: it starts and ends with a letter, digit or unit sign.
_LATIN_RUN = re.compile(r"[A-Za-z0-9±][A-Za-z0-9 .,:;/_@+\-±%°'’]*[A-Za-z0-9%°]|[A-Za-z0-9]")
_WORD = re.compile(r"\S+")
_WORD_JOINER = 0x2060

# One line of a paragraph: its text and the embedding level of each of its characters.
Line = tuple[str, list[int]]

RED = (176, 0, 32)
GREY = (90, 90, 90)
INK = (20, 20, 20)
RULE = (200, 200, 200)

Colour = tuple[int, int, int]


def clean(text: str | None) -> str:
    return strip_controls(_CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\t", " "))).strip()


def iso(text: str | None) -> str:
    """Text the report did not write (a note, a name, a template label), set in its own direction."""
    return isolate(clean(text))


class Typesetter(FPDF):
    """An A4 page in one language: paragraphs, headings and label/value rows, numbered pages."""

    def __init__(self, lang: Lang, title: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.rtl = lang == "ur"
        self.body = 11.0 if self.rtl else 9.5
        # What the footer says beside the page number; set by the document.
        self.footer_text = ""
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_font("sans", "", str(FONTS / "NotoSans-Regular.ttf"))
        self.add_font("sans", "B", str(FONTS / "NotoSans-Bold.ttf"))
        self.add_font("urdu", "", str(FONTS / "NotoNastaliqUrdu-Regular.ttf"))
        if self.rtl:
            # Nastaliq has no Latin letters: those fall back to Noto Sans inside the same line.
            self.set_fallback_fonts(["sans"], exact_match=False)
            self.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="urd")
        else:
            # Lines holding Urdu (station names, comments) are set in Nastaliq (see _font); each
            # paragraph's direction is found from its first strong letter.
            self.set_fallback_fonts(["urdu", "sans"], exact_match=False)
            self.set_text_shaping(use_shaping_engine=True)
        self.set_lang(lang)
        self.set_title(title)
        self.set_author("Muaina")
        self.set_creator("Muaina")
        self.alias_nb_pages()
        self._widths: dict[tuple[str, str, float], float] = {}
        self._drawable = frozenset().union(*(font.cmap for font in self.fonts.values()))
        # The direction of the run `_run` is drawing, whose text is of one direction already.
        self._run_direction: TextDirection | None = None
        _remember_shaping(self)

    # Text helpers ------------------------------------------------------------------------------
    #
    # Lines are broken here, by measuring each word once, rather than by multi_cell: fpdf2 measures
    # a growing line after every character it adds, and with HarfBuzz shaping that costs seconds per
    # page of Urdu. Words shape on their own (letters never join across a space), so a line's width
    # is the sum of its words and spaces; each finished line is then shaped once, by cell().

    def _font(self, size: float | None = None, bold: bool = False, text: str = "") -> None:
        """Set the font for `text`. Nastaliq has no bold face; Urdu headings are set larger instead.

        A line holding Urdu is set in Nastaliq (Latin falling back to Noto Sans) in both reports: were
        its spaces set in the Latin font, every Urdu word would be a separate text run, and readers
        that extract or copy the text would put the words of the line in reverse order.
        """
        family = "urdu" if self.rtl or _ARABIC.search(text) else "sans"
        style = "B" if bold and family == "sans" else ""
        self.set_font(family, style, size or self.body)

    def _lh(self, text: str, size: float | None = None) -> float:
        """Line height in mm: Nastaliq's tall ascenders and deep descenders need about twice Latin's."""
        pt = (size or self.body) * 0.3528
        return pt * (2.15 if _ARABIC.search(text) else 1.45)

    def _align(self) -> str:
        return "R" if self.rtl else "L"

    def _width(self, word: str) -> float:
        key = (word, self.font_family + self.font_style, self.font_size_pt)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(word)
        return width

    def _run_width(self, run: Run) -> float:
        """A run's width, measured as `_run` will draw it: in its own direction, without a bidi pass."""
        self._run_direction = TextDirection.RTL if run.rtl else TextDirection.LTR
        try:
            return self._width(run.text)
        finally:
            self._run_direction = None

    def _lines(self, text: str, width: float) -> list[Line]:
        """`text` broken into lines no wider than `width` in the current font (its own line breaks kept).

        Each paragraph's levels are resolved before it is broken, as UAX #9 asks: a line of an Urdu
        comment wrapped inside an English report keeps the direction the whole comment has.
        """
        width -= 2 * self.c_margin + 0.5
        space = self._width(" ")
        lines: list[Line] = []
        for paragraph in text.split("\n"):
            paragraph = self._bidi(" ".join(paragraph.split()))
            resolved = levels(paragraph, self.rtl)
            start = end = None
            used = 0.0
            for word in _WORD.finditer(paragraph):
                for a, b in self._pieces(paragraph, word.start(), word.end(), width):
                    w = self._width(_drawn(paragraph[a:b]))
                    if start is not None and used + space + w > width:
                        lines.append((paragraph[start:end], resolved[start:end]))
                        start = None
                    if start is None:
                        start, used = a, w
                    else:
                        used += space + w
                    end = b
            if start is None:
                lines.append(("", []))
            else:
                lines.append((paragraph[start:end], resolved[start:end]))
        return lines

    def _pieces(self, text: str, start: int, end: int, width: float) -> list[tuple[int, int]]:
        """A word wider than the line (a long link or code) cut into pieces that fit."""
        if self._width(_drawn(text[start:end])) <= width:
            return [(start, end)]
        pieces, current = [], start
        for i in range(start, end):
            if i > current and self.get_string_width(_drawn(text[current : i + 1])) > width:
                pieces.append((current, i))
                current = i
        return [*pieces, (current, end)]

    def _bidi(self, text: str) -> str:
        """In Urdu pages, keep Latin runs (dates, codes, numbers with units) left to right as wholes.

        Without the isolates the bidi algorithm lays out "2026-11-28 05:35 PKT" inside a right-to-left
        line as "PKT 05:35 2026-11-28"; LRI … PDI makes each such run one left-to-right unit.
        """
        if not self.rtl:
            return text
        if not _ARABIC.search(text):
            return f"{LRI}{text}{PDI}" if _LATIN.search(text) else text
        return _LATIN_RUN.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", text)

    def _shown(self, text: str) -> str:
        """`text` with every stretch of characters no bundled font has replaced by their code points.

        A police record must not lose what an inspector typed without a trace, and must not guess:
        "[U+1F44D]" says exactly which character stood there (the database keeps the text itself).
        Characters that draw nothing anyway (joiners, variation selectors) go into the stretch beside
        them, or are left to the shaper when they stand among letters the fonts have.
        """
        if all(ord(c) in self._drawable or c in CONTROLS or c == "\n" for c in text):
            return text
        out: list[str] = []
        stretch: list[str] = []
        missing = False

        def flush() -> None:
            nonlocal missing
            if missing:
                out.append(f"{LRI}[{' '.join(f'U+{ord(c):04X}' for c in stretch)}]{PDI}")
            else:
                out.extend(stretch)
            stretch.clear()
            missing = False

        for char in text:
            if char in CONTROLS or char == "\n" or ord(char) in self._drawable and not (missing and is_invisible(char)):
                flush()
                out.append(char)
            else:
                missing = missing or not is_invisible(char)
                stretch.append(char)
        flush()
        return "".join(out)

    def _write_lines(self, lines: list[Line], x: float, width: float, height: float, align: str) -> None:
        for line in lines:
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
            self._line(line, x, width, height, align)

    def _line(self, line: Line, x: float, width: float, height: float, align: str) -> None:
        """Draw one line at the current y, each of its runs in its own direction at its visual place.

        The runs go into the page in reading order, not left to right, so text extracted or copied
        from the PDF comes out in the order it was written.
        """
        text, line_levels = line
        runs = visual_runs(text, line_levels, self.rtl)
        y = self.get_y()
        if len(runs) <= 1:
            run = runs[0] if runs else Run("", self.rtl, 0)
            self.set_x(x)
            self._run(run, width, height, align)
        else:
            widths = [self._run_width(run) for run in runs]
            total = sum(widths)
            if align == "R":
                left = x + width - self.c_margin - total
            elif align == "C":
                left = x + (width - total) / 2
            else:
                left = x + self.c_margin
            placed = []
            for run, w in zip(runs, widths, strict=True):
                placed.append((run, left, w))
                left += w
            for run, run_x, w in sorted(placed, key=lambda p: p[0].start):
                self.set_xy(run_x - self.c_margin, y)
                self._run(run, w + 2 * self.c_margin, height, "L")
        self.set_xy(x, y + height)

    def _run(self, run: Run, width: float, height: float, align: str) -> None:
        # The run is of one direction already; saying so keeps fpdf2 from reordering it a second time.
        shaping = self.text_shaping
        before = shaping["direction"]
        shaping["direction"] = self._run_direction = TextDirection.RTL if run.rtl else TextDirection.LTR
        # fpdf2 2.8 notes the font as set on the page when it switches to a fallback font inside a
        # cell, though that switch ends with the cell's q … Q; the next cell then shows its first
        # glyphs in whatever font the page had before (an Urdu line drawn with Noto Sans's glyphs, or
        # with no font at all). Left to find the font unset, it would instead make the fallback font
        # of the run's first letter the current one. So each run sets the line's font on the page.
        assert self.current_font is not None
        self._out(self._set_font_for_page(self.current_font, self.font_size_pt))
        try:
            self.cell(width, height, run.text, align=align)
        finally:
            shaping["direction"] = before
            self._run_direction = None

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Fragment]:
        """A run from `_run` as one fragment in its own direction, without fpdf2's bidi pass.

        The run is a stretch of one embedding level (bidi.visual_runs), so fpdf2's algorithm, run on it
        again with the run's direction as the paragraph's, finds that one direction for every character
        and returns the text whole: the same fragment, without a second bidi pass over every run of every
        line (tests/test_report_speed_shape.py compares the two). The page-count alias is left to fpdf2,
        which swaps it for a placeholder during its pass.
        """
        direction = self._run_direction
        if direction is None or markdown or not self.text_shaping or self.str_alias_nb_pages in text:
            return super()._preload_bidirectional_text(text, markdown)
        self.text_shaping["paragraph_direction"] = self.text_shaping["fragment_direction"] = direction
        return tuple(self._preload_font_styles(text, markdown))

    def para(
        self,
        text: str,
        *,
        size: float | None = None,
        bold: bool = False,
        color: Colour = INK,
        indent: float = 0.0,
        align: str | None = None,
    ) -> None:
        text = self._shown(clean(text))
        if not text:
            return
        self._font(size, bold, text)
        self.set_text_color(*color)
        width = self.epw - indent
        x = self.l_margin + (0 if self.rtl else indent)
        lh = self._lh(text, size)
        self._write_lines(self._lines(text, width), x, width, lh, align or self._align())
        self.set_x(self.l_margin)
        self.set_text_color(*INK)

    def heading(self, text: str) -> None:
        self.ln(2)
        if self.get_y() + 20 > self.page_break_trigger:
            self.add_page()
        self.para(text, size=self.body + 4, bold=True)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y() + 0.5, self.l_margin + self.epw, self.get_y() + 0.5)
        self.ln(2)

    def kv(self, label: str, value: str, *, color: Colour = INK) -> None:
        """A label and its value side by side; the label on the reading side (left, or right in Urdu)."""
        label, value = self._shown(clean(label)), self._shown(clean(value)) or "—"
        w_label = 46.0
        w_value = self.epw - w_label
        self._font(bold=True, text=label)
        label_lines, label_lh = self._lines(label, w_label), self._lh(label)
        self._font(text=value)
        value_lines, value_lh = self._lines(value, w_value), self._lh(value)
        height = max(len(label_lines) * label_lh, len(value_lines) * value_lh)
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        y = self.get_y()
        x_label, x_value = (
            (self.l_margin + w_value, self.l_margin) if self.rtl else (self.l_margin, self.l_margin + w_label)
        )
        self._font(bold=True, text=label)
        self.set_text_color(*GREY)
        self._write_lines(label_lines, x_label, w_label, label_lh, self._align())
        self.set_y(y)
        self._font(text=value)
        self.set_text_color(*color)
        self._write_lines(value_lines, x_value, w_value, value_lh, self._align())
        self.set_text_color(*INK)
        self.set_xy(self.l_margin, y + height + 0.6)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_text_color(*GREY)
        # The page counter is Latin text in the Latin font, so the total-pages alias is replaced intact.
        self.set_font("sans", "", 8)
        self._footer_line(f"{self.page_no()} / {{nb}}", "C")
        self.set_xy(self.l_margin, -13)
        stamp = self._shown(clean(self.footer_text))
        self._font(7.5 if not self.rtl else 8.5, text=stamp)
        self._footer_line(stamp, "L" if self.rtl else "R")
        self.set_text_color(*INK)

    def _footer_line(self, text: str, align: str) -> None:
        text = self._bidi(text)
        self._line((text, levels(text, self.rtl)), self.l_margin, self.epw, 5, align)

    def local(self, en: str, ur: str) -> str:
        return (ur or en) if self.rtl else (en or ur)

    def finish(self) -> bytes:
        try:
            return bytes(self.output(output_producer_class=_MappedOutput))
        finally:
            # Nothing is shaped after the output; the memos go now rather than at the next collection
            # of the document's reference cycles.
            for font in self.fonts.values():
                _SHAPED.pop(id(font), None)


class _RememberingFont(TTFFont):
    """A font that shapes each text once per size and shaping parameters, however often fpdf2 asks.

    fpdf2 shapes every fragment of a cell three times (to measure it for the alignment, to draw it,
    to measure it again), and the Typesetter measures each run before placing it. HarfBuzz gives the
    same glyphs for the same input and fpdf2 only reads them. `shape_text` also maps each glyph into
    the font's subset, but through SubsetMap's cached get_glyph and pick_glyph, which give a glyph the
    same code at every later call: its first answer stands for all. TTFFont has fixed slots, so the
    memos live in `_SHAPED`, by font, for as long as the Typesetter that owns the font lives.
    """

    __slots__ = ()

    def perform_harfbuzz_shaping(self, text: str, font_size_pt: float, params: dict[str, Any] | None) -> Any:
        return _remembered(self, "harfbuzz", super().perform_harfbuzz_shaping, text, font_size_pt, params)

    def shape_text(self, text: str, font_size_pt: float, params: dict[str, Any] | None) -> Any:
        return _remembered(self, "glyphs", super().shape_text, text, font_size_pt, params)


def _remembered(font: TTFFont, what: str, shape: Any, text: str, size: float, params: dict[str, Any] | None) -> Any:
    memo = _SHAPED.get(id(font))
    if memo is None:
        return shape(text, size, params)
    p = params or {}
    features = p.get("features")
    key = (
        what,
        text,
        size,
        p.get("fragment_direction"),
        p.get("script"),
        p.get("language"),
        tuple(sorted(features.items())) if features else None,
    )
    found = memo.get(key)
    if found is None:
        found = memo[key] = shape(text, size, params)
    return found


_SHAPED: dict[int, dict[tuple, Any]] = {}


def _remember_shaping(owner: FPDF) -> None:
    for font in owner.fonts.values():
        if type(font) is TTFFont:
            font.__class__ = _RememberingFont
            _SHAPED[id(font)] = {}
            # The owner holds its fonts, so no other font can take this id while the entry lives; a
            # document dropped unfinished (an error) takes its memos with it when it is collected.
            weakref.finalize(owner, _SHAPED.pop, id(font), None)


def _drawn(text: str) -> str:
    return "".join(c for c in text if c not in CONTROLS)


class _MappedOutput(OutputProducer):
    """Give every glyph a Unicode mapping, so the report's text can be searched, copied and extracted.

    HarfBuzz turns one Nastaliq letter into several glyphs (a base, its dots, its joins); fpdf2 maps
    the first glyph of each cluster to the cluster's text and leaves the others without a ToUnicode
    entry. Readers then extract those glyphs as arbitrary codes, often Latin letters, which also break
    up the right-to-left text around them. U+2060 WORD JOINER is invisible, transparent to Arabic
    joining and read as neutral, so extracted and copied Urdu is the source text. This runs when the
    last page (and its footer) is done, just before the font tables are written.
    """

    def bufferize(self) -> bytearray:
        for font in self.fpdf.fonts.values():
            subset = getattr(font, "subset", None)
            for glyph, _ in subset.items() if subset is not None else ():
                if glyph is not None and isinstance(glyph.unicode, tuple) and not glyph.unicode:
                    glyph.unicode = (_WORD_JOINER,)
        return super().bufferize()
