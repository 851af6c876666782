"""One inspection's report as PDF, in English or Urdu. Runs in the process pool: data in, bytes out.

Urdu is set right to left in Noto Nastaliq Urdu, shaped by HarfBuzz (uharfbuzz) through fpdf2's text
shaping, so letters join and stack as an Urdu reader expects; Latin text inside Urdu lines (codes,
names, numbers) falls back to Noto Sans and keeps its own direction by the Unicode bidi algorithm.
Digits stay Western in both languages, as in the rest of the app. The fonts ship with the package
(server/assets/fonts, SIL OFL), so a machine without system fonts renders the same report.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.output import OutputProducer

from server.exports.labels import LABELS
from server.exports.models import ReportData, ReportPhoto
from server.exports.rules import PKT
from server.templates.models import Item, Section
from server.templates.scoring import display_percent, score, visibility

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
# C0 controls other than line feed and tab would be drawn as missing glyphs (or break the text
# operators); notes typed on phones occasionally carry them.
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

THUMB_BOX = 32.0  # mm: the width and the largest height of one thumbnail
THUMB_GAP = 4.0


def render_report(data: ReportData) -> bytes:
    return bytes(_Report(data).build())


def _clean(text: str | None) -> str:
    return _CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\t", " ")).strip()


def _when(moment: datetime | None, t: dict[str, str]) -> str:
    return moment.astimezone(PKT).strftime("%Y-%m-%d %H:%M") + " PKT" if moment else t["not_recorded"]


def _pct(value: float | None) -> str:
    shown = display_percent(value)
    return f"{shown}%" if shown is not None else "—"


def _metres(value: float) -> str:
    return f"{value / 1000:.2f} km" if value >= 1000 else f"{value:.0f} m"


class _Report(FPDF):
    def __init__(self, data: ReportData):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.d = data
        self.rtl = data.lang == "ur"
        self.t = LABELS[data.lang]
        self.body = 11.0 if self.rtl else 9.5
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
        self.set_lang(data.lang)
        self.set_title(f"{self.t['title']} {data.station_code}")
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

    def para(self, text: str, *, size: float | None = None, bold: bool = False, color: tuple[int, int, int] = INK,
             indent: float = 0.0, align: str | None = None) -> None:
        text = _clean(text)
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

    def kv(self, label: str, value: str, *, color: tuple[int, int, int] = INK) -> None:
        """A label and its value side by side; the label on the reading side (left, or right in Urdu)."""
        label, value = _clean(label), _clean(value) or "—"
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
        x_label, x_value = ((self.l_margin + w_value, self.l_margin) if self.rtl
                            else (self.l_margin, self.l_margin + w_label))
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
        stamp = f"{self.t['app']} · {self.d.station_code} · {self.t['generated']} {_when(self.d.generated_at, self.t)}"
        self._font(7.5 if not self.rtl else 8.5, text=stamp)
        self.cell(self.epw, 5, self._bidi(stamp), align="L" if self.rtl else "R")
        self.set_text_color(*INK)

    # Local text ----------------------------------------------------------------------------------

    def local(self, en: str, ur: str) -> str:
        return (ur or en) if self.rtl else (en or ur)

    # The report ----------------------------------------------------------------------------------

    def build(self) -> bytearray:
        d, t = self.d, self.t
        defn = d.definition
        answers = {k: {"value": a.value, "photos": a.photo_ids} for k, a in d.answers.items()}
        overrides = {o.item_key: o.score for o in d.overrides}
        shown = visibility(defn, answers)
        current = score(defn, answers, overrides).items
        self.add_page()
        self.para(t["title"], size=self.body + 8, bold=True)
        self.para(f"{self.local(defn.title.en, defn.title.ur)} — {t['version']} {d.template_version}",
                  size=self.body + 1, color=GREY)
        self.ln(2)
        self._identity()
        self._location()
        self._scores(current, shown)
        self._review()
        self._answers(current, shown)
        return self.output(output_producer_class=_MappedOutput)

    def _identity(self) -> None:
        d, t = self.d, self.t
        self.heading(t["station_and_inspector"])
        self.kv(t["station"], d.station_code)
        self.kv(t["name_en"], d.station_name_en)
        self.kv(t["name_ur"], d.station_name_ur)
        self.kv(t["district"], self.local(d.district_en, d.district_ur))
        self.kv(t["region"], self.local(d.region_en, d.region_ur))
        self.kv(t["inspector"], f"{d.inspector_name} ({d.inspector_username})")
        self.kv(t["template"], f"{self.local(d.definition.title.en, d.definition.title.ur)} "
                               f"({d.template_key}, {t['version']} {d.template_version})")
        self.kv(t["status"], f"{t['status_' + d.status]} — {t['revision']} {d.revision}")
        self.kv(t["started"], _when(d.started_at, t))
        self.kv(t["finished"], _when(d.finished_at, t))
        self.kv(t["submitted"], _when(d.submitted_at, t))
        self.kv(t["received"], _when(d.created_at, t))
        self.kv(t["inspection_id"], d.inspection_id)

    def _location(self) -> None:
        d, t = self.d, self.t
        self.heading(t["location"])
        if d.lat is None or d.lon is None:
            self.kv(t["gps"], t["no_fix"], color=RED)
        else:
            accuracy = f" (±{d.accuracy_m:.0f} m)" if d.accuracy_m is not None else ""
            self.kv(t["gps"], f"{d.lat:.6f}, {d.lon:.6f}{accuracy}")
        station = (f"{d.station_lat:.6f}, {d.station_lon:.6f}" if d.station_lat is not None and d.station_lon is not None
                   else t["not_recorded"])
        self.kv(t["station_position"], station)
        self.kv(t["distance"], _metres(d.distance_m) if d.distance_m is not None else t["unknown"])
        if d.far_from_station:
            self.kv(t["presence"], t["far"].format(radius=f"{d.presence_radius_m:.0f}"), color=RED)
        else:
            self.kv(t["presence"], t["near"].format(radius=f"{d.presence_radius_m:.0f}"))

    def _scores(self, current: dict[str, Any], shown: dict[str, bool]) -> None:
        d, t = self.d, self.t
        self.heading(t["scores"])
        grade = t["grade_fail"] if d.grade == "fail" else (d.grade or "—")
        self.kv(t["overall"], f"{_pct(d.score_percent)} — {t['grade']} {grade}",
                color=RED if d.critical_failed else INK)
        if d.overrides:
            self.kv(t["overrides"], t["overrides_in_force"].format(count=len(d.overrides)))
        for section in d.definition.sections:
            self.kv(self.local(section.title.en, section.title.ur), _pct(d.section_percents.get(section.key)))
        failed = [(s, it) for s, it in self._visible_items(shown)
                  if it.critical and current.get(it.key) is not None and current[it.key].score == 0]
        if d.critical_failed or failed:
            self.ln(1)
            self.para(t["critical_failures"], bold=True, color=RED, size=self.body + 1)
            for _, item in failed:
                self.para("• " + self.local(item.label.en, item.label.ur), color=RED, indent=4)

    def _visible_items(self, shown: dict[str, bool]) -> list[tuple[Section, Item]]:
        return [(s, it) for s in self.d.definition.sections for it in s.items if shown.get(it.key)]

    def _review(self) -> None:
        d, t = self.d, self.t
        self.heading(t["review"])
        if not d.reviews:
            self.para(t["not_reviewed"], color=GREY)
        for review in d.reviews:
            decision = t["decision_" + review.decision]
            self.para(f"{decision} — {review.reviewer} — {_when(review.at, t)} ({t['revision']} {review.revision})",
                      bold=True)
            if review.comment.strip():
                self.para(review.comment, indent=4)
        labels = {it.key: self.local(it.label.en, it.label.ur) for s in d.definition.sections for it in s.items}
        if d.overrides:
            self.ln(1)
            self.para(t["overrides"], bold=True)
            for o in d.overrides:
                self.para(f"{labels.get(o.item_key, o.item_key)}: {self._override_text(o)}", indent=4)

    def _override_text(self, o: Any) -> str:
        t = self.t
        original = _pct(o.original_score * 100) if o.original_score is not None else t["not_scored"]
        return (f"{_pct(o.score * 100)} ({t['inspector_scored']} {original}) — {o.reason} — "
                f"{o.reviewer}, {_when(o.at, t)}")

    def _answers(self, current: dict[str, Any], shown: dict[str, bool]) -> None:
        d, t = self.d, self.t
        photos: dict[str, ReportPhoto] = {p.id: p for p in d.photos}
        overrides = {o.item_key: o for o in d.overrides}
        comments: dict[str, list[tuple[str, str]]] = {}
        for review in d.reviews:
            for key, text in review.item_comments.items():
                if text.strip():
                    comments.setdefault(key, []).append((f"{review.reviewer}, {_when(review.at, t)}", text))
        self.add_page()
        self.heading(t["answers"])
        number = 0
        for section in d.definition.sections:
            visible = [it for it in section.items if shown.get(it.key)]
            if not visible:
                continue
            self.ln(1)
            title = self.local(section.title.en, section.title.ur)
            self.para(f"{title} — {_pct(d.section_percents.get(section.key))}", size=self.body + 2.5, bold=True)
            for item in visible:
                number += 1
                self._item(number, item, current.get(item.key), overrides.get(item.key), comments.get(item.key, []),
                           photos)

    def _item(self, number: int, item: Item, current: Any, override: Any, comments: list[tuple[str, str]],
              photos: dict[str, ReportPhoto]) -> None:
        t = self.t
        answer = self.d.answers.get(item.key)
        item_score = current.score if current is not None else None
        failed = item.critical and item_score == 0
        # Keep an item's question with its answer (and its first row of photos) on one page.
        needed = 25 + (THUMB_BOX if answer is not None and answer.photo_ids else 0)
        if self.get_y() + needed > self.page_break_trigger:
            self.add_page()
        label = self.local(item.label.en, item.label.ur)
        marker = f" [{t['critical']}]" if item.critical else ""
        self.para(f"{number}. {label}{marker}", bold=True, color=RED if failed else INK)
        value = self._value(item, answer)
        scored = f" — {t['score']} {_pct(item_score * 100)}" if item_score is not None else ""
        self.para(f"{t['answer']}: {value}{scored}", indent=5, color=RED if failed else INK)
        if failed:
            self.para(t["critical_failed_item"], indent=5, color=RED, bold=True)
        if answer is not None and _clean(answer.note):
            self.para(f"{t['note']}: {answer.note}", indent=5, color=GREY)
        if override is not None:
            self.para(f"{t['override']}: {self._override_text(override)}", indent=5)
        for who, text in comments:
            self.para(f"{t['reviewer_comment']} ({who}): {text}", indent=5)
        if answer is not None and answer.photo_ids:
            have = [photos[p] for p in answer.photo_ids if p in photos]
            self._thumbs(have)
            if len(have) < len(answer.photo_ids):
                self.para(t["photos_not_received"].format(count=len(answer.photo_ids) - len(have)), indent=5,
                          color=GREY)
        self.set_draw_color(*RULE)
        self.ln(1)
        self.line(self.l_margin, self.get_y(), self.l_margin + self.epw, self.get_y())
        self.ln(1.5)

    def _value(self, item: Item, answer: Any) -> str:
        t = self.t
        if item.type == "photo":
            count = len(answer.photo_ids) if answer is not None else 0
            return t["photos_count"].format(count=count)
        value = answer.value if answer is not None else None
        if value is None or value == "":
            return t["not_answered"]
        options = {o.key: self.local(o.label.en, o.label.ur) for o in item.options or []}
        if item.type == "yes_no":
            return t.get("answer_" + str(value), str(value))
        if item.type == "scale":
            # No spaces: in a right-to-left line "3 / 5" would be laid out as two numbers, "5 / 3".
            return f"{_num(value)}/{_num(item.max)}"
        if item.type == "number":
            return f"{_num(value)} {item.unit or ''}".strip()
        if item.type == "choice":
            return options.get(str(value), str(value))
        if item.type == "multi_choice" and isinstance(value, list):
            return ("، " if self.rtl else ", ").join(options.get(str(v), str(v)) for v in value) or t["none_chosen"]
        return str(value)

    def _thumbs(self, photos: list[ReportPhoto]) -> None:
        """A row of thumbnails, starting on the reading side, wrapping to new rows and pages."""
        per_row = max(1, int((self.epw - 5 + THUMB_GAP) // (THUMB_BOX + THUMB_GAP)))
        for start in range(0, len(photos), per_row):
            row = photos[start:start + per_row]
            if self.get_y() + THUMB_BOX + 2 > self.page_break_trigger:
                self.add_page()
            y = self.get_y() + 1
            for i, photo in enumerate(row):
                offset = 5 + i * (THUMB_BOX + THUMB_GAP)
                x = self.l_margin + self.epw - offset - THUMB_BOX if self.rtl else self.l_margin + offset
                try:
                    self.image(io.BytesIO(photo.jpeg), x=x, y=y, w=THUMB_BOX, h=THUMB_BOX, keep_aspect_ratio=True)
                except Exception:  # noqa: BLE001 - a damaged thumbnail must not cost the whole report
                    self.set_xy(x, y)
                    self._font(self.body - 1.5)
                    self.cell(THUMB_BOX, 6, "?", border=1, align="C")
            self.set_xy(self.l_margin, y + THUMB_BOX + 2)


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


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
