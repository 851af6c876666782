"""One inspection's report as PDF, in English or Urdu. Runs in the process pool: data in, bytes out.

The page furniture (fonts, right-to-left Urdu, line breaking, page numbers) is server.exports.typeset;
this module decides what the report says and in what order. Text the report did not write itself
(names, notes, comments, template labels) goes into its lines through `iso`, so that it reads in its
own direction whatever the report's language (server.exports.bidi).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from server.exports.labels import LABELS
from server.exports.models import ReportData, ReportPhoto
from server.exports.rules import PKT
from server.exports.typeset import GREY, INK, RED, RULE, Typesetter, clean, iso
from server.structs import LocalText
from server.templates.models import Item, Section
from server.templates.scoring import display_percent, score, visibility

THUMB_BOX = 32.0  # mm: the width and the largest height of one thumbnail
THUMB_GAP = 4.0


def render_report(data: ReportData) -> bytes:
    return _Report(data).build()


def _when(moment: datetime | None, t: dict[str, str]) -> str:
    return moment.astimezone(PKT).strftime("%Y-%m-%d %H:%M") + " PKT" if moment else t["not_recorded"]


def _took(started: datetime | None, finished: datetime | None, t: dict[str, str]) -> str:
    """How long the phone says the inspection took (a reviewer notices 88 answers in 40 seconds); a dash
    when it finished before it started (the phone clock's line says why)."""
    if started is None or finished is None:
        return t["not_recorded"]
    secs = int((finished - started).total_seconds())
    if secs < 0:
        return "—"
    d, h, m, s = secs // 86400, secs // 3600 % 24, secs // 60 % 60, secs % 60
    if d:
        return t["took_days"].format(d=d, h=h)
    if h:
        return t["took_hours"].format(h=h, m=m)
    return t["took_minutes"].format(m=m, s=s) if m else t["took_seconds"].format(s=s)


def _pct(value: float | None) -> str:
    shown = display_percent(value)
    return f"{shown}%" if shown is not None else "—"


def _metres(value: float) -> str:
    return f"{value / 1000:.2f} km" if value >= 1000 else f"{value:.0f} m"


class _Report(Typesetter):
    def __init__(self, data: ReportData):
        self.d = data
        self.t = LABELS[data.lang]
        super().__init__(data.lang, f"{self.t['title']} {data.station_code}")
        self.footer_text = (
            f"{self.t['app']} · {iso(data.station_code)} · {self.t['generated']} {_when(data.generated_at, self.t)}"
        )

    def build(self) -> bytes:
        d, t = self.d, self.t
        defn = d.definition
        answers = {k: {"value": a.value, "photos": a.photo_ids} for k, a in d.answers.items()}
        overrides = {o.item_key: o.score for o in d.overrides}
        shown = visibility(defn, answers)
        current = score(defn, answers, overrides).items
        self.add_page()
        self.para(t["title"], size=self.body + 8, bold=True)
        self.para(
            f"{iso(self.local(defn.title.en, defn.title.ur))} — {t['version']} {d.template_version}",
            size=self.body + 1,
            color=GREY,
        )
        self.ln(2)
        self._identity()
        self._location()
        self._scores(current, shown)
        self._review(shown)
        self._answers(current, shown)
        return self.finish()

    def _identity(self) -> None:
        d, t = self.d, self.t
        self.heading(t["station_and_inspector"])
        self.kv(t["station"], iso(d.station_code))
        self.kv(t["name_en"], iso(d.station_name_en))
        self.kv(t["name_ur"], iso(d.station_name_ur))
        self.kv(t["district"], iso(self.local(d.district_en, d.district_ur)))
        self.kv(t["region"], iso(self.local(d.region_en, d.region_ur)))
        self.kv(t["inspector"], f"{iso(d.inspector_name)} ({iso(d.inspector_username)})")
        self.kv(
            t["template"],
            f"{iso(self.local(d.definition.title.en, d.definition.title.ur))} "
            f"({iso(d.template_key)}, {t['version']} {d.template_version})",
        )
        self.kv(t["status"], f"{t['status_' + d.status]} — {t['revision']} {d.revision}")
        self.kv(t["started"], _when(d.started_at, t))
        self.kv(t["finished"], _when(d.finished_at, t))
        self.kv(t["duration"], _took(d.started_at, d.finished_at, t))
        if d.phone_clock_off:
            self.kv(t["clock"], t["clock_off"], color=RED)
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
        station = (
            f"{d.station_lat:.6f}, {d.station_lon:.6f}"
            if d.station_lat is not None and d.station_lon is not None
            else t["not_recorded"]
        )
        self.kv(t["station_position"], station)
        self.kv(t["distance"], _metres(d.distance_m) if d.distance_m is not None else t["unknown"])
        if d.far_from_station:
            self.kv(t["presence"], t["far"].format(radius=f"{d.presence_radius_m:.0f}"), color=RED)
        elif d.location_exact:
            # "0 m" is no proof of presence: a phone's fix almost never lands on the station's position.
            # Neither this line nor the next is printed for the visit's own inspector (report.gather).
            self.kv(t["presence"], t["exact"], color=RED)
        elif not d.location_repeated:
            self.kv(t["presence"], t["near"].format(radius=f"{d.presence_radius_m:.0f}"))
        if d.location_repeated:
            # Nor is a fix another visit sent to the last digit: real fixes jitter (schema 0026).
            self.kv(t["presence"], t["repeated"], color=RED)

    def _scores(self, current: dict[str, Any], shown: dict[str, bool]) -> None:
        d, t = self.d, self.t
        self.heading(t["scores"])
        grade = t["grade_fail"] if d.grade == "fail" else (d.grade or "—")
        self.kv(
            t["overall"], f"{_pct(d.score_percent)} — {t['grade']} {grade}", color=RED if d.critical_failed else INK
        )
        if d.overrides:
            self.kv(t["overrides"], t["overrides_in_force"].format(count=len(d.overrides)))
        for section in d.definition.sections:
            self.kv(iso(self.local(section.title.en, section.title.ur)), _pct(d.section_percents.get(section.key)))
        failed = [
            (s, it)
            for s, it in self._visible_items(shown)
            if it.critical and current.get(it.key) is not None and current[it.key].score == 0
        ]
        if d.critical_failed or failed:
            self.ln(1)
            self.para(t["critical_failures"], bold=True, color=RED, size=self.body + 1)
            for _, item in failed:
                self.para("• " + iso(self.local(item.label.en, item.label.ur)), color=RED, indent=4)

    def _visible_items(self, shown: dict[str, bool]) -> list[tuple[Section, Item]]:
        return [(s, it) for s in self.d.definition.sections for it in s.items if shown.get(it.key)]

    def _review(self, shown: dict[str, bool]) -> None:
        d, t = self.d, self.t
        self.heading(t["review"])
        if not d.reviews:
            self.para(t["not_reviewed"], color=GREY)
        labels = {it.key: iso(self.local(it.label.en, it.label.ur)) for s in d.definition.sections for it in s.items}
        for review in d.reviews:
            decision = t["decision_" + review.decision]
            self.para(
                f"{decision} — {iso(review.reviewer)} — {_when(review.at, t)} ({t['revision']} {review.revision})",
                bold=True,
            )
            if review.comment.strip():
                self.para(iso(review.comment), indent=4)
            # A comment on an item the answers below no longer show (a correction hid it) is printed
            # with its review: it is often the reason for the return.
            for key, text in review.item_comments.items():
                if text.strip() and not shown.get(key):
                    self.para(f"{labels.get(key, key)} ({t['item_not_shown']}): {iso(text)}", indent=4)
        if d.overrides:
            self.ln(1)
            self.para(t["overrides"], bold=True)
            for o in d.overrides:
                self.para(f"{labels.get(o.item_key, o.item_key)}: {self._override_text(o)}", indent=4)

    def _override_text(self, o: Any) -> str:
        t = self.t
        # An n.a. or unanswered item a reviewer scored had no score of the inspector's to quote.
        if o.original_score is None:
            original = t["inspector_unscored"]
        else:
            original = f"{t['inspector_scored']} {_pct(o.original_score * 100)}"
        return f"{_pct(o.score * 100)} ({original}) — {iso(o.reason)} — {iso(o.reviewer)}, {_when(o.at, t)}"

    def _answers(self, current: dict[str, Any], shown: dict[str, bool]) -> None:
        d, t = self.d, self.t
        photos: dict[str, ReportPhoto] = {p.id: p for p in d.photos}
        overrides = {o.item_key: o for o in d.overrides}
        comments: dict[str, list[tuple[str, str]]] = {}
        for review in d.reviews:
            for key, text in review.item_comments.items():
                if text.strip():
                    comments.setdefault(key, []).append(
                        (f"{iso(review.reviewer)}, {_when(review.at, t)}, {t['revision']} {review.revision}", text)
                    )
        self.add_page()
        self.heading(t["answers"])
        number = 0
        for section in d.definition.sections:
            visible = [it for it in section.items if shown.get(it.key)]
            if not visible:
                continue
            self.ln(1)
            title = iso(self.local(section.title.en, section.title.ur))
            self.para(f"{title} — {_pct(d.section_percents.get(section.key))}", size=self.body + 2.5, bold=True)
            for item in visible:
                number += 1
                self._item(
                    number, item, current.get(item.key), overrides.get(item.key), comments.get(item.key, []), photos
                )

    def _item(
        self,
        number: int,
        item: Item,
        current: Any,
        override: Any,
        comments: list[tuple[str, str]],
        photos: dict[str, ReportPhoto],
    ) -> None:
        t = self.t
        answer = self.d.answers.get(item.key)
        item_score = current.score if current is not None else None
        failed = item.critical and item_score == 0
        # Keep an item's question with its answer (and its first row of photos) on one page.
        needed = 25 + (THUMB_BOX if answer is not None and answer.photo_ids else 0)
        if self.get_y() + needed > self.page_break_trigger:
            self.add_page()
        label = iso(self.local(item.label.en, item.label.ur))
        marker = f" [{t['critical']}]" if item.critical else ""
        self.para(f"{number}. {label}{marker}", bold=True, color=RED if failed else INK)
        value = self._value(item, answer)
        scored = f" — {t['score']} {_pct(item_score * 100)}" if item_score is not None else ""
        self.para(f"{t['answer']}: {value}{scored}", indent=5, color=RED if failed else INK)
        if failed:
            self.para(t["critical_failed_item"], indent=5, color=RED, bold=True)
        if answer is not None and clean(answer.note):
            self.para(f"{t['note']}: {iso(answer.note)}", indent=5, color=GREY)
        if override is not None:
            self.para(f"{t['override']}: {self._override_text(override)}", indent=5)
        for who, text in comments:
            self.para(f"{t['reviewer_comment']} ({who}): {iso(text)}", indent=5)
        if answer is not None and answer.photo_ids:
            have = [photos[p] for p in answer.photo_ids if p in photos]
            self._thumbs(have)
            if len(have) < len(answer.photo_ids):
                self.para(
                    t["photos_not_received"].format(count=len(answer.photo_ids) - len(have)), indent=5, color=GREY
                )
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
        options = {o.key: iso(self.local(o.label.en, o.label.ur)) for o in item.options or []}
        if item.type == "yes_no":
            return t.get("answer_" + str(value), str(value))
        if item.type == "scale":
            # No spaces: in a right-to-left line "3 / 5" would be laid out as two numbers, "5 / 3".
            return f"{_num(value)}/{_num(item.max)}"
        if item.type == "number":
            unit = self.local(item.unit.en, item.unit.ur) if isinstance(item.unit, LocalText) else item.unit
            return f"{_num(value)} {iso(unit) if unit else ''}".strip()
        if item.type == "choice":
            return options.get(str(value), iso(str(value)))
        if item.type == "multi_choice" and isinstance(value, list):
            chosen = (options.get(str(v), iso(str(v))) for v in value)
            return ("، " if self.rtl else ", ").join(chosen) or t["none_chosen"]
        return iso(str(value))

    def _thumbs(self, photos: list[ReportPhoto]) -> None:
        """A row of thumbnails, starting on the reading side, wrapping to new rows and pages."""
        per_row = max(1, int((self.epw - 5 + THUMB_GAP) // (THUMB_BOX + THUMB_GAP)))
        for start in range(0, len(photos), per_row):
            row = photos[start : start + per_row]
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


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
