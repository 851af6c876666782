"""The PDF report of a large inspection with long mixed-language notes: seconds and pages, per language.

Run `python tests/benchmarks/bench_report.py [--sections 4] [--items 30] [--note-chars 3900] [--photos 30]
[--comments 50] [--rounds 1] [--profile] [--save DIR]`. It builds the report's data directly (no database, no
store), as the pool's worker receives it: `--sections` sections of `--items` yes/no items, a photo item
and a text item each, every answer with a note of about `--note-chars` characters mixing Urdu, English
and numbers, `--photos` thumbnails and a review with `--comments` item comments. It then times
`render_report` in this process for English and Urdu and prints seconds, pages and size.

For a baseline in the same run it also times the typesetter's bare cost of the same text: every note
set once as a plain paragraph (the per-line work the report cannot avoid), and prints the ratio of
the report's time to it. `--profile` prints the top of a cProfile of the English report.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
from PIL import Image  # noqa: E402

from server.exports.models import ReportAnswer, ReportData, ReportPhoto, ReportReview  # noqa: E402
from server.exports.render import render_report  # noqa: E402
from server.templates.models import Definition  # noqa: E402

# Notes as inspectors write them: Urdu sentences holding English titles, codes and numbers, with now
# and then an English sentence. Drawn at random from these words (seeded, so every run sets the same
# text), so that phrases seldom repeat, as in real notes: the typesetter cannot live off repetition.
URDU = (
    "تھانے میں اہلکار موجود تھے جن میں سے چھٹی پر نے بتایا کہ نمبر درج کی گئی ہے روزنامچہ تک اندراج مکمل "
    "تھا حوالات ملزمان کیمرہ خراب اور ریکارڈ ڈیجیٹل مال خانہ رجسٹر کے صفحہ پر اندراجات کی تصدیق نہیں ہو سکی "
    "عملہ صفائی بہتر کریں انتظار گاہ کوڑا پڑا شکایت کنندہ محرر گاڑی پٹرول اسلحہ"
).split()
ENGLISH = ["SHO Ahmed", "FIR", "CCTV", "DSP", "Moharrir", "daily diary", "front desk", "CNIC", "Khidmat Markaz"]
SENTENCES_EN = (
    "The front desk had a token machine, but it was out of paper since 2026-11-{d:02d}.",
    "Complainant Mr. Khalid (CNIC 35202-{n:07d}-1) waited {m} minutes before being heard.",
)


def note(chars: int, seed: int) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < chars:
        if rng.random() < 0.15:
            parts.append(
                rng.choice(SENTENCES_EN).format(d=rng.randint(1, 28), n=rng.randint(0, 9999999), m=rng.randint(5, 90))
            )
            continue
        words = rng.choices(URDU, k=rng.randint(6, 14))
        for _ in range(rng.randint(1, 3)):
            extra = rng.choice(
                [*ENGLISH, str(rng.randint(1, 999)), f"{rng.randint(1, 999)}/2026", f"{rng.randint(1, 99)}%"]
            )
            words.insert(rng.randint(0, len(words)), extra)
        parts.append(" ".join(words) + "۔")
    return " ".join(parts)


def thumbnail(index: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40 + index * 5 % 200, 90, 140)).save(out, "JPEG", quality=80)
    return out.getvalue()


def report_data(args: argparse.Namespace, lang: str) -> ReportData:
    sections, answers, photos = [], {}, []
    for s in range(args.sections):
        items = [
            {
                "key": f"s{s}_q{i}",
                "type": "yes_no",
                "critical": i == 0,
                "label": {"en": f"Is check {i} of section {s} in order?", "ur": f"کیا حصہ {s} کی جانچ {i} درست ہے؟"},
            }
            for i in range(args.items)
        ]
        items.append({"key": f"s{s}_photo", "type": "photo", "label": {"en": "Photos", "ur": "تصاویر"}})
        items.append({"key": f"s{s}_text", "type": "text", "label": {"en": "Remarks", "ur": "تبصرہ"}})
        sections.append({"key": f"s{s}", "title": {"en": f"Section {s}", "ur": f"حصہ {s}"}, "items": items})
        for i, item in enumerate(items):
            value = {"yes_no": "yes" if i % 3 else "no", "photo": None, "text": note(200, 10**6 + s * 1000 + i)}[
                item["type"]
            ]
            answers[item["key"]] = ReportAnswer(value=value, note=note(args.note_chars, s * 1000 + i), score=None)
    photo_keys = [f"s{s}_photo" for s in range(args.sections)]
    for p in range(args.photos):
        key = photo_keys[p % len(photo_keys)]
        photos.append(ReportPhoto(id=f"p{p}", item_key=key, jpeg=thumbnail(p)))
        answers[key].photo_ids.append(f"p{p}")
    keys = list(answers)
    comments = {keys[(k * 7) % len(keys)]: note(300, 2 * 10**6 + k) for k in range(args.comments)}
    at = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    definition = msgspec.convert(
        {"title": {"en": "Station inspection", "ur": "تھانے کا معائنہ"}, "sections": sections}, Definition
    )
    return ReportData(
        lang=lang,  # type: ignore[arg-type]
        inspection_id="8d3c1f7e-0000-4000-8000-000000000001",
        status="approved",
        revision=2,
        station_code="LHR-017",
        station_name_en="Model Town",
        station_name_ur="ماڈل ٹاؤن",
        station_lat=31.48,
        station_lon=74.32,
        district_en="Lahore",
        district_ur="لاہور",
        region_en="Lahore",
        region_ur="لاہور",
        inspector_name="Ali Raza",
        inspector_username="inspector.ali",
        template_key="sips",
        template_version=3,
        definition=definition,
        created_at=at,
        started_at=at - timedelta(hours=2),
        finished_at=at - timedelta(minutes=30),
        submitted_at=at,
        phone_clock_off=False,
        lat=31.481,
        lon=74.321,
        accuracy_m=8.0,
        distance_m=120.0,
        far_from_station=False,
        presence_radius_m=300.0,
        score_percent=82.5,
        grade="B",
        critical_failed=False,
        section_percents={f"s{s}": 80.0 + s for s in range(args.sections)},
        answers=answers,
        reviews=[
            ReportReview(
                decision="approve",
                reviewer="rpo.lahore",
                at=at + timedelta(hours=3),
                revision=2,
                comment=note(400, 3 * 10**6),
                item_comments=comments,
            )
        ],
        overrides=[],
        photos=photos,
        photos_missing=0,
        generated_at=at + timedelta(days=1),
    )


TOY = argparse.Namespace(sections=1, items=1, note_chars=100, photos=1, comments=1)


def pages(pdf: bytes) -> int:
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def bare(data: ReportData) -> float:
    """The same notes set once each as plain paragraphs: the typesetting a report of them cannot skip."""
    from server.exports.typeset import Typesetter, iso

    started = time.perf_counter()
    doc = Typesetter(data.lang, "bare")
    doc.add_page()
    for answer in data.answers.values():
        doc.para(iso(answer.note))
    doc.finish()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sections", type=int, default=4)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--note-chars", type=int, default=3900)
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--comments", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--save", type=Path, help="write each report here as report-LANG.pdf")
    args = parser.parse_args()
    print(
        f"report of {args.sections} sections x {args.items} yes/no items (+ a photo and a text item each), "
        f"notes of ~{args.note_chars} characters, {args.photos} photos, {args.comments} item comments"
    )
    for lang in ("en", "ur"):
        data = report_data(args, lang)
        render_report(report_data(TOY, lang))  # warm: imports, font parsing
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            pdf = render_report(data)
            times.append(time.perf_counter() - started)
        best = min(times)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"report-{lang}.pdf").write_bytes(pdf)
        base = min(bare(data) for _ in range(args.rounds))
        print(
            f"{lang}: render_report {best:.2f} s, {pages(pdf)} pages, {len(pdf) / 1e6:.1f} MB; "
            f"bare paragraphs {base:.2f} s; ratio report / bare {best / base:.2f}"
        )
        if args.profile and lang == "en":
            profiler = cProfile.Profile()
            profiler.enable()
            render_report(data)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
