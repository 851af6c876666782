"""The demo content is data that a seeder, a PWA and a demo audience all rely on; check its shape and sense."""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict

import pytest

from server.demo import content
from server.demo.content import DEMO_PASSWORDS, DEMO_USERS, TEMPLATES, iter_stations, load_hierarchy, load_template

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ALL_TYPES = {"yes_no", "scale", "choice", "multi_choice", "number", "text", "photo", "date"}
KINDS = {"police_station", "khidmat_markaz", "driving_centre", "other"}

# Punjab's bounding box, generously rounded.
LAT_RANGE = (27.7, 34.1)
LON_RANGE = (69.3, 75.4)

# Where each demo district's headquarters town really is, so a station cannot drift into the wrong district.
DISTRICT_HQ = {
    "LHR-CITY": (31.549, 74.344),
    "SKP-DIST": (31.713, 73.978),
    "KSR": (31.116, 74.447),
    "RWP-CITY": (33.601, 73.068),
    "JLM": (32.940, 73.728),
    "FSD-CITY": (31.419, 73.079),
    "JHG": (31.268, 72.318),
    "MLN-CITY": (30.198, 71.471),
    "KWL": (30.302, 71.932),
    "GRW-CITY": (32.188, 74.195),
    "SKT": (32.494, 74.523),
    "SWL-DIST": (30.668, 73.111),
    "OKR": (30.814, 73.453),
}


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def is_urdu(text: str) -> bool:
    """Mostly Arabic-script letters (digits, spaces and punctuation aside) and no Latin letters at all."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff")
    latin = sum(1 for c in letters if c.isascii())
    return latin == 0 and arabic / len(letters) >= 0.95


def check_local(text: dict, where: str) -> None:
    assert set(text) == {"en", "ur"}, where
    assert text["en"].strip(), f"{where}: blank English"
    assert text["ur"].strip(), f"{where}: blank Urdu"
    assert not any("\u0600" <= c <= "\u06ff" for c in text["en"]), f"{where}: Urdu script in English: {text['en']!r}"
    assert any(c.isascii() and c.isalpha() for c in text["en"]), f"{where}: no English: {text['en']!r}"
    assert is_urdu(text["ur"]), f"{where}: not Urdu script: {text['ur']!r}"


# ---------------------------------------------------------------- hierarchy


@pytest.fixture(scope="module")
def hierarchy():
    return load_hierarchy()


def test_hierarchy_counts(hierarchy):
    regions = hierarchy["regions"]
    districts = [d for r in regions for d in r["districts"]]
    circles = [c for d in districts for c in d["circles"]]
    stations = [s for *_, s in iter_stations(hierarchy)]
    assert len(regions) >= 5
    assert len(districts) >= 10
    assert all(2 <= len(d["circles"]) <= 3 for d in districts)
    assert len(circles) >= 20
    assert all(c["stations"] for c in circles)
    sips_police = [s for s in stations if s["kind"] == "police_station" and s["sips"]]
    assert len(sips_police) >= 48


def test_hierarchy_shape_and_text(hierarchy):
    for r in hierarchy["regions"]:
        assert set(r) == {"code", "name", "districts"}
        check_local(r["name"], r["code"])
        for d in r["districts"]:
            assert set(d) == {"code", "name", "circles"}
            check_local(d["name"], d["code"])
            for c in d["circles"]:
                assert set(c) == {"code", "name", "stations"}
                check_local(c["name"], c["code"])
                for s in c["stations"]:
                    assert set(s) == {"code", "name", "lat", "lon", "sips", "kind"}, s["code"]
                    check_local(s["name"], s["code"])
                    assert isinstance(s["sips"], bool)
                    assert s["kind"] in KINDS


def test_codes_unique_and_well_formed(hierarchy):
    codes = [r["code"] for r in hierarchy["regions"]]
    codes += [d["code"] for r in hierarchy["regions"] for d in r["districts"]]
    codes += [c["code"] for r in hierarchy["regions"] for d in r["districts"] for c in d["circles"]]
    codes += [s["code"] for *_, s in iter_stations(hierarchy)]
    dupes = [c for c, n in Counter(codes).items() if n > 1]
    assert not dupes
    assert all(re.fullmatch(r"[A-Z]{3}(-[A-Z]{2,5})*", c) for c in codes), codes
    names = [s["name"]["en"] for *_, s in iter_stations(hierarchy)]
    assert len(names) == len(set(names)), "two stations share an English name"


def test_station_mix(hierarchy):
    stations = [s for *_, s in iter_stations(hierarchy)]
    kinds = Counter(s["kind"] for s in stations)
    assert kinds["khidmat_markaz"] >= 2
    assert kinds["driving_centre"] >= 1
    assert kinds["police_station"] > 0.9 * len(stations)
    not_sips = [s for s in stations if s["kind"] == "police_station" and not s["sips"]]
    assert 1 <= len(not_sips) <= 0.15 * len(stations)


def test_coordinates_inside_punjab_and_district(hierarchy):
    by_district = defaultdict(list)
    for _, district, _, s in iter_stations(hierarchy):
        for v in (s["lat"], s["lon"]):
            assert isinstance(v, float) and round(v, 5) == v, s["code"]
            assert len(repr(v).split(".")[1]) == 5, f"{s['code']}: give 5 decimals"
        assert LAT_RANGE[0] <= s["lat"] <= LAT_RANGE[1], s["code"]
        assert LON_RANGE[0] <= s["lon"] <= LON_RANGE[1], s["code"]
        by_district[district["code"]].append(s)
    assert set(by_district) == set(DISTRICT_HQ)
    for code, stations in by_district.items():
        centroid = (
            sum(s["lat"] for s in stations) / len(stations),
            sum(s["lon"] for s in stations) / len(stations),
        )
        for s in stations:
            point = (s["lat"], s["lon"])
            assert km(point, centroid) <= 60, f"{s['code']} is far from the rest of {code}"
            assert km(point, DISTRICT_HQ[code]) <= 60, f"{s['code']} is outside {code}"
    points = [(s["lat"], s["lon"]) for *_, s in iter_stations(hierarchy)]
    assert len(points) == len(set(points)), "two stations at the same spot"


# ---------------------------------------------------------------- templates


def items_of(defn):
    return [i for s in defn["sections"] for i in s["items"]]


@pytest.fixture(scope="module", params=sorted(TEMPLATES))
def template(request):
    return request.param, load_template(request.param)


def test_template_top_level(template):
    name, defn = template
    assert set(defn) == {"title", "kinds", "grade_bands", "sections"}
    check_local(defn["title"], f"{name}.title")
    assert defn["kinds"] == {"sips": ["police_station"], "khidmat": ["khidmat_markaz"]}[name]
    mins = [b["min"] for b in defn["grade_bands"]]
    assert mins == sorted(mins, reverse=True) and mins[-1] == 0


def test_template_keys_text_and_weights(template):
    name, defn = template
    section_keys = [s["key"] for s in defn["sections"]]
    assert len(section_keys) == len(set(section_keys))
    item_keys = [i["key"] for i in items_of(defn)]
    assert len(item_keys) == len(set(item_keys))
    for s in defn["sections"]:
        assert KEY.match(s["key"]), s["key"]
        check_local(s["title"], s["key"])
        assert s["weight"] in (1, 2, 3), s["key"]
        assert s["items"], s["key"]
    for it in items_of(defn):
        k = it["key"]
        assert KEY.match(k), k
        assert it["type"] in ALL_TYPES, k
        check_local(it["label"], k)
        if "help" in it:
            check_local(it["help"], f"{k}.help")
        assert it["weight"] in (1, 2, 3), k
        assert isinstance(it["required"], bool) and isinstance(it["critical"], bool), k
        if it["type"] in ("choice", "multi_choice"):
            opts = it["options"]
            assert len(opts) >= 2, k
            assert len({o["key"] for o in opts}) == len(opts), k
            assert any(o["points"] > 0 for o in opts), k
            for o in opts:
                assert KEY.match(o["key"]), f"{k}.{o['key']}"
                check_local(o["label"], f"{k}.{o['key']}")
        else:
            assert "options" not in it, k
        if it["type"] == "scale":
            assert it["max"] == 5, k
        if it["type"] == "number":
            assert it["min"] <= it["max"] and it["unit"], k
        if it["type"] == "photo":
            assert it["min_photos"] >= 1, k
        if it["critical"]:
            assert it["type"] in ("yes_no", "scale", "choice", "multi_choice", "number"), k


def test_visible_if_refers_to_earlier_items(template):
    name, defn = template
    seen: dict[str, dict] = {}
    for it in items_of(defn):
        cond = it.get("visible_if")
        if cond:
            assert set(cond) in ({"item", "in"}, {"item", "equals"}), it["key"]
            parent = seen.get(cond["item"])
            assert parent is not None, f"{it['key']} depends on a later or unknown item"
            values = cond["in"] if "in" in cond else [cond["equals"]]
            if parent["type"] == "yes_no":
                allowed = {"yes", "no", "na"}
            else:
                allowed = {o["key"] for o in parent["options"]}
            assert set(values) <= allowed, it["key"]
        seen[it["key"]] = it


def test_sips_template_is_rich_enough():
    defn = load_template("sips")
    items = items_of(defn)
    assert len(defn["sections"]) >= 9
    assert len(items) >= 65
    assert {i["type"] for i in items} == ALL_TYPES
    types = Counter(i["type"] for i in items)
    assert types["yes_no"] > len(items) / 2
    assert 4 <= sum(i["critical"] for i in items) <= 6
    assert 8 <= sum(i["min_photos"] >= 1 for i in items) <= 14
    assert sum("visible_if" in i for i in items) >= 4
    assert sum("help" in i for i in items) >= 15
    by_key = {i["key"]: i for i in items}
    # The points DESIGN §1 singles out.
    assert by_key["lu_all_recorded"]["critical"] and by_key["lu_all_recorded"]["type"] == "yes_no"
    assert by_key["lu_magistrate_24h"]["critical"]
    assert (by_key["cc_retention_days"]["min"], by_key["cc_retention_days"]["max"]) == (30, 365)
    assert (by_key["fd_wait"]["min"], by_key["fd_wait"]["max"]) == (0, 15)
    assert by_key["rz_last_gazetted_visit"]["type"] == "date"


def test_khidmat_template_is_small():
    defn = load_template("khidmat")
    assert len(defn["sections"]) == 3
    assert 12 <= len(items_of(defn)) <= 20
    sips_keys = {i["key"] for i in items_of(load_template("sips"))}
    assert not sips_keys & {i["key"] for i in items_of(defn)}


def test_unknown_template_name_is_refused():
    with pytest.raises(ValueError):
        load_template("../hierarchy")


def test_loaders_return_fresh_copies():
    a = load_template("sips")
    a["sections"].clear()
    assert load_template("sips")["sections"]
    h = load_hierarchy()
    h["regions"].clear()
    assert load_hierarchy()["regions"]


def test_templates_pass_the_definition_rules():
    """The real template model and rules accept both demo templates without a single problem."""
    from server.templates.models import decode_definition
    from server.templates.rules import validate_definition

    for name in TEMPLATES:
        defn = decode_definition(json.dumps(load_template(name)).encode())
        problems = validate_definition(defn)
        assert problems == [], f"{name}: {problems}"


# ---------------------------------------------------------------- users


def test_demo_users(hierarchy):
    region_codes = {r["code"] for r in hierarchy["regions"]}
    district_codes = {d["code"] for r in hierarchy["regions"] for d in r["districts"]}
    by_name = {u["username"]: u for u in DEMO_USERS}
    assert len(by_name) == len(DEMO_USERS)
    assert by_name["admin"]["role"] == "admin"
    reviewers = [u for u in DEMO_USERS if u["role"] == "reviewer"]
    assert {c for u in reviewers for c in u["region_ids"]} == region_codes
    assert all(len(u["region_ids"]) == 1 and u["username"].startswith("rpo.") for u in reviewers)
    ali, sana = by_name["inspector.ali"], by_name["inspector.sana"]
    assert ali["role"] == sana["role"] == "inspector"
    assert len(ali["district_ids"]) == len(sana["district_ids"]) == 1
    assert ali["district_ids"] != sana["district_ids"]
    for u in DEMO_USERS:
        assert set(u) == {"username", "display_name", "role", "password", "region_ids", "district_ids"}
        assert u["password"] == DEMO_PASSWORDS[u["role"]]
        assert set(u["region_ids"]) <= region_codes
        assert set(u["district_ids"]) <= district_codes
        assert u["display_name"].strip()
    assert len(set(DEMO_PASSWORDS.values())) == 3
    assert content.DEMO_PASSWORDS is DEMO_PASSWORDS
