"""The reviewer dashboard's charts, tables and files in real Chromium, in English and Urdu, at laptop and
phone size: a fall in score is a negative number in the files, every figure and period label is drawn
whole inside its chart, Urdu words in the charts are set in the app's Urdu font, a change without a
figure before is not called new, the bars and the table agree on "no change", and the screen says what
its figures count.

The figures are seeded straight into the rollup tables, for months counted from the current Pakistan
month, so a test can have a gap, a fall, a 100 % leader and a change too small to show.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import openpyxl
import pytest

from server.demo.content import DEMO_PASSWORDS
from server.templates.scoring import display_percent
from tests.conftest import run_async
from tests.e2e.test_pwa_support import live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, sign_in_reviewer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PHONE = {"width": 360, "height": 740}
SIZES = {"laptop": LAPTOP, "phone": PHONE}
REVIEWER = "rpo.rawalpindi"  # region RWP: districts JLM (Jhelum) and RWP-CITY (Rawalpindi)

# Month offsets from the current Pakistan month. Jhelum has no figures three months back (a gap between
# months -4 and -2); Rawalpindi has the current month only. Stations: a 100 % leader up 10 points, a
# fall of 2.5 points, one with no figure the month before, a change of +0.04 (no change), and a 0 %
# station down half a point.
PLAN = {
    "districts": {0: {-4: 80.0, -2: 70.0, -1: 72.5, 0: 100.0}, 1: {0: 0.0}},
    "stations": {
        (0, 0): {-1: 90.0, 0: 100.0},
        (0, 1): {-1: 92.5, 0: 90.0},
        (0, 2): {0: 90.0},
        (0, 3): {-1: 0.5, 0: 0.0},
        (1, 0): {-1: 60.0, 0: 60.04},
    },
}


def month(n: int) -> date:
    """The first day of the month n months from the current Pakistan month."""
    today = datetime.now(ZoneInfo("Asia/Karachi")).date()
    i = today.year * 12 + today.month - 1 + n
    return date(i // 12, i % 12 + 1, 1)


async def _seed_rollups(url: str, plan: dict, region: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        region_id = await conn.fetchval("SELECT id FROM regions WHERE code = $1", region)
        districts = await conn.fetch("SELECT id FROM districts WHERE region_id = $1 ORDER BY code", region_id)
        template = await conn.fetchval("SELECT id FROM templates ORDER BY created_at LIMIT 1")
        for d, months in plan["districts"].items():
            for m, percent in months.items():
                await conn.execute(
                    "INSERT INTO rollup_district_period (period_start, district_id, template_id, inspections, scored,"
                    " sum_percent, critical_failed) VALUES ($1, $2, $3, 1, 1, $4, 0)",
                    month(m),
                    districts[d]["id"],
                    template,
                    percent,
                )
        for (d, s), months in plan["stations"].items():
            stations = await conn.fetch(
                "SELECT id FROM stations WHERE district_id = $1 ORDER BY code", districts[d]["id"]
            )
            for m, percent in months.items():
                await conn.execute(
                    "INSERT INTO rollup_station_period (period_start, station_id, template_id, inspections, scored,"
                    " sum_percent, critical_failed) VALUES ($1, $2, $3, 1, 1, $4, 0)",
                    month(m),
                    stations[s]["id"],
                    template,
                    percent,
                )
    finally:
        await conn.close()


def seed_rollups(url: str, plan: dict, region: str = "RWP") -> None:
    """One inspection's figures per (district or station, month) of `plan`: {"districts": {index: {month
    offset: percent}}, "stations": {(district index, station index): {month offset: percent}}}, indexes
    counted in code order within the region."""
    run_async(_seed_rollups(url, plan, region))


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    for server in live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("dashboard-charts")):
        seed_rollups(server.database_url, PLAN)
        yield server


class Dashboard:
    """A signed-in reviewer's dashboard at one size and language, shared by the tests that need it."""

    def __init__(self, browser, server, size: str, lang: str):
        self.server = server
        self.context = browser.new_context(
            viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone", accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors = watch_errors(self.page)
        self.query: str | None = None
        sign_in_reviewer(self.page, server.url, REVIEWER)
        if lang == "ur":
            self.page.click(".lang-toggle")
            self.page.locator("html[dir=rtl]").wait_for(state="attached")

    def show(self, query: str = ""):
        """The dashboard drawn afresh for `query` (unless it already shows it); returns the page."""
        if self.query != query:
            self.page.goto(self.server.url + "/#/review/dashboard" + query)
            self.page.reload()
            self.page.wait_for_selector("#rv-ranking .rv-svg")
            self.page.wait_for_load_state("networkidle")
            self.query = query
        return self.page


@pytest.fixture(scope="module")
def dashboards(pwa_server, browser):
    """dashboards(size, lang): each opened once, when a test first asks for it."""
    opened: dict[tuple[str, str], Dashboard] = {}

    def get(size: str, lang: str) -> Dashboard:
        if (size, lang) not in opened:
            opened[size, lang] = Dashboard(browser, pwa_server, size, lang)
        return opened[size, lang]

    yield get
    for board in opened.values():
        board.context.close()
    assert {key: board.errors for key, board in opened.items() if board.errors} == {}


# Every <text> of a panel's chart drawn (partly) outside the SVG's own box, which clips it.
OUTSIDE = """(panel) => {
  const svg = document.querySelector(panel + ' .rv-svg');
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].map((t) => {
    const b = t.getBoundingClientRect();
    return { text: t.textContent, cut_left: Math.round(box.left - b.left), cut_right: Math.round(b.right - box.right) };
  }).filter((t) => t.cut_left > 1 || t.cut_right > 1);
}"""


def test_display_percent_rounds_a_fall_as_the_server_does(dashboards):
    """A negative percent (a change of score) went through the digits of its whole and fraction parts
    separately: -3.25 became "-3.-7" and -0.5 "0.5"."""
    page = dashboards("laptop", "en").show()
    values = [-3.25, -2.5, -0.5, -0.05, -0.04, -0.15, -89.95, -100.0, -1e-7, 0.0, 0.15, 3.25, 89.95, 100.0]
    got = page.evaluate(
        "async (vs) => { const m = await import('/js/scoring.js'); return vs.map(m.displayPercent); }", values
    )
    assert got == [display_percent(v) for v in values]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_fall_in_score_downloads_as_a_negative_number(pwa_server, dashboards, fmt):
    """The ranking's Change column: -2.5 was written "NaN", -0.5 as 0.5 (a fall shown as a rise)."""
    token = pwa_server.login(REVIEWER, DEMO_PASSWORDS["reviewer"])
    api = pwa_server.api("GET", "/api/v1/dashboard/rankings?group_by=station&period=month", token).json()
    expected = {
        f"{r['code']} {r['group_name']}": None if r["change"] is None else round(r["change"], 1) for r in api["rows"]
    }
    assert sorted(v for v in expected.values() if v is not None) == [-2.5, -0.5, 0.0, 10.0]
    page = dashboards("laptop", "en").show()
    with page.expect_download() as got:
        page.locator(f"#rv-ranking .rv-{fmt}").click()
    data = Path(got.value.path()).read_bytes()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        rows = [[c.value for c in r] for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows()]
    assert rows[0][3] == "Change"
    assert {r[1]: None if r[3] in ("", None) else float(r[3]) for r in rows[1:]} == expected


@pytest.mark.parametrize(("size", "lang"), [("laptop", "en"), ("phone", "en"), ("laptop", "ur"), ("phone", "ur")])
def test_the_figure_beside_the_longest_bar_is_drawn_whole(dashboards, size, lang):
    """The 100 % station's "100.0% (+10.0)" ran past the chart's edge: in English it lost its end, in
    Urdu on a phone its leading 1 ("00.0%")."""
    page = dashboards(size, lang).show()
    assert page.evaluate(OUTSIDE, "#rv-ranking") == []
    assert any("100.0%" in v for v in page.locator("#rv-ranking .rv-value").all_text_contents())


@pytest.mark.parametrize("period", ["month", "quarter"])
@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_the_trends_period_labels_are_drawn_whole_in_urdu(dashboards, size, period):
    """The current period's label sat centred 30 px from the chart's edge: the month lost its first
    letter, the quarter ("سہ ماہی 4، 2026") most of its first word."""
    page = dashboards(size, "ur").show("?period=quarter" if period == "quarter" else "")
    assert page.evaluate(OUTSIDE, "#rv-trend") == []


def test_urdu_words_in_the_charts_are_set_in_the_apps_urdu_font(dashboards):
    """Only the bars' names had the Urdu font; the trend's months and quarters were set in the Latin
    stack, which here has no Urdu glyphs (ہ drawn as an empty box)."""
    page = dashboards("laptop", "ur").show("?period=quarter")
    fonts = page.evaluate("""() => [...document.querySelectorAll('.rv-svg text')]
        .filter((t) => /[\\u0600-\\u06ff]/.test(t.textContent))
        .map((t) => [t.textContent, getComputedStyle(t).fontFamily])""")
    assert any(text.startswith("سہ ماہی") for text, _ in fonts), fonts
    assert [text for text, family in fonts if "Noto Nastaliq Urdu" not in family] == []


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "no figure for the period before"), ("ur", "پچھلی مدت کا کوئی اسکور نہیں")]
)
def test_a_district_inspected_before_a_gap_is_not_called_new(dashboards, lang, words):
    """Jhelum had figures four months back, none three months back, and again two months back: that row
    said "new this period", which it is not."""
    page = dashboards("laptop", lang).show()
    rows = [[c.strip() for c in r.locator("td").all_inner_texts()] for r in page.locator("#rv-trend tbody tr").all()]
    jhelum = [r for r in rows if r[0] in ("Jhelum", "جہلم")]
    assert len(jhelum) == 4, rows
    assert jhelum[1][5] == words


def test_the_bars_and_the_table_say_the_same_change(dashboards):
    """A change of +0.04 points is "no change" in the table, and was "(+0.0)" beside its bar."""
    page = dashboards("laptop", "en").show()
    table = {
        r.locator("td").nth(2).inner_text().strip(): r.locator("td").nth(3).inner_text().strip()
        for r in page.locator("#rv-ranking tbody tr").all()
        if "Airport" in r.inner_text()
    }
    assert table == {"60.0%": "no change"}
    values = page.locator("#rv-ranking .rv-value").all_text_contents()
    assert [v for v in values if v.startswith("60.0%")] == ["60.0%"]
    assert "90.0% (−2.5)" in values


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ["submitted and approved", "returned", "Pakistan"]), ("ur", ["منظور شدہ", "واپس", "پاکستانی"])],
)
def test_the_dashboard_says_what_its_figures_count(dashboards, lang, words):
    """Nothing outside the inspections' export form said that only submitted and approved inspections
    count, nor that months are Pakistan's."""
    page = dashboards("laptop", lang).show()
    text = page.evaluate("""() => { const c = document.querySelector('.reviewer').cloneNode(true);
        c.querySelector('details.rv-export')?.remove(); return c.innerText; }""")
    assert [w for w in words if not re.search(re.escape(w), text)] == []
