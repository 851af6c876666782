"""Typesetting for the PDF reports: fonts, line breaking, bidi, and text that extracts as written.

Urdu is set right to left in Noto Nastaliq Urdu, shaped by HarfBuzz (uharfbuzz) through fpdf2's text
shaping, so letters join and stack as an Urdu reader expects; Latin text inside Urdu lines (codes,
names, numbers) falls back to Noto Sans and keeps its own direction. Digits stay Western in both
languages, as in the rest of the app. The fonts ship with the package (server/assets/fonts, SIL OFL),
so a machine without system fonts sets the same pages.
"""

from __future__ import annotations

import re
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.output import OutputProducer

from server.exports.models import Lang

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# C0 controls other than line feed and tab would be drawn as missing glyphs (or break the text
# operators); notes typed on phones occasionally carry them. Bidi isolates are this module's to place.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2066-\u2069]")
_LATIN = re.compile(r"[A-Za-z0-9]")
# A run of Latin text inside an Urdu line: it starts and ends with a letter, digit or unit sign.
_LATIN_RUN = re.compile(r"[A-Za-z0-9±][A-Za-z0-9 .,:;/_@+\-±%°'’]*[A-Za-z0-9%°]|[A-Za-z0-9]")
_LRI, _PDI = "\u2066", "\u2069"
_WORD_JOINER = 0x2060

RED = (176, 0, 32)
GREY = (90, 90, 90)
INK = (20, 20, 20)
RULE = (200, 200, 200)

Colour = tuple[int, int, int]


def clean(text: str | None) -> str:
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\t", " ")).strip()


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

    def _lines(self, text: str, width: float) -> list[str]:
        """`text` broken into lines no wider than `width` in the current font (its own line breaks kept)."""
        width -= 2 * self.c_margin + 0.5
        space = self._width(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split():
                for piece in self._pieces(word, width):
                    w = self._width(piece)
                    if line and used + space + w > width:
                        lines.append(line)
                        line, used = piece, w
                    else:
                        line, used = (f"{line} {piece}", used + space + w) if line else (piece, w)
            lines.append(line)
        return lines

    def _pieces(self, word: str, width: float) -> list[str]:
        """A word wider than the line (a long link or code) cut into pieces that fit."""
        if self._width(word) <= width:
            return [word]
        pieces, current = [], ""
        for char in word:
            if current and self.get_string_width(current + char) > width:
                pieces.append(current)
                current = ""
            current += char
        return pieces + ([current] if current else [])

    def _bidi(self, text: str) -> str:
        """In Urdu pages, keep Latin runs (dates, codes, numbers with units) left to right as wholes.

        Without the isolates the bidi algorithm lays out "2026-11-28 05:35 PKT" inside a right-to-left
        line as "PKT 05:35 2026-11-28"; LRI … PDI makes each such run one left-to-right unit.
        """
        if not self.rtl:
            return text
        if not _ARABIC.search(text):
            return f"{_LRI}{text}{_PDI}" if _LATIN.search(text) else text
        return _LATIN_RUN.sub(lambda m: f"{_LRI}{m.group(0)}{_PDI}", text)

    def _write_lines(self, lines: list[str], x: float, width: float, height: float, align: str) -> None:
        for line in lines:
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
            self.set_x(x)
            self.cell(width, height, self._bidi(line), align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)

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
        text = clean(text)
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
        label, value = clean(label), clean(value) or "—"
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
        self.cell(self.epw, 5, self._bidi(f"{self.page_no()} / {{nb}}"), align="C")
        self.set_xy(self.l_margin, -13)
        stamp = self.footer_text
        self._font(7.5 if not self.rtl else 8.5, text=stamp)
        self.cell(self.epw, 5, self._bidi(stamp), align="L" if self.rtl else "R")
        self.set_text_color(*INK)

    def local(self, en: str, ur: str) -> str:
        return (ur or en) if self.rtl else (en or ur)

    def finish(self) -> bytes:
        return bytes(self.output(output_producer_class=_MappedOutput))


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
