"""pwa/js/scoring.js in real Chromium must give the vectors' expected results and the server's exact numbers."""

from __future__ import annotations

import http.server
import json
import math
import random
import threading
from functools import partial
from pathlib import Path

import pytest

from server.templates.models import to_definition
from server.templates.scoring import display_percent, score

ROOT = Path(__file__).resolve().parent.parent
PWA = ROOT / "pwa"
VECTORS_FILE = ROOT / "tests" / "scoring_vectors.json"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
# An empty page on the same origin as the module, so that import() needs no CORS and loads no app code.
BLANK = b"<!doctype html><meta charset='utf-8'><title>scoring</title>"


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path in ("/blank.html", "/vectors.json"):
            body, kind = (
                (BLANK, "text/html") if self.path == "/blank.html" else (VECTORS_FILE.read_bytes(), "application/json")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(PWA)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(origin, browser):
    page = browser.new_page()
    page.goto(f"{origin}/blank.html")
    yield page
    page.close()


RUN = """async (cases) => {
  const m = await import("/js/scoring.js");
  if (cases === null) cases = (await (await fetch("/vectors.json")).json()).vectors;
  return cases.map((c) => {
    const r = m.score(c.template, c.answers, c.overrides);
    return { ...r, display: m.displayPercent(r.percent) };
  });
}"""


@pytest.fixture(scope="module")
def js_results(page):
    # The browser fetches the vector file itself, so the JS side reads exactly what Python reads.
    return dict(zip([v["name"] for v in VECTORS], page.evaluate(RUN, None), strict=True))


def close(got, want) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=0, abs_tol=1e-9)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_javascript_scorer_matches_the_vector(vector, js_results):
    got, want = js_results[vector["name"]], vector["expected"]
    assert close(got["percent"], want["percent"]), got["percent"]
    assert got["grade"] == want["grade"]
    assert got["critical_failed"] is want["critical_failed"]
    assert [s["key"] for s in got["sections"]] == list(want["sections"])
    for section in got["sections"]:
        assert close(section["percent"], want["sections"][section["key"]]), section
    assert {k: v["score"] for k, v in got["items"].items()}.keys() == want["items"].keys()
    for key, item in got["items"].items():
        assert close(item["score"], want["items"][key]), (key, item)
    if "display" in want:
        assert got["display"] == want["display"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_javascript_scorer_equals_the_server_to_the_last_bit(vector, js_results):
    server = score(to_definition(vector["template"]), vector["answers"], vector.get("overrides"))
    assert_same(js_results[vector["name"]], server)


def assert_same(got, server):
    assert got["percent"] == server.percent
    assert got["grade"] == server.grade
    assert got["critical_failed"] is server.critical_failed
    assert [(s["key"], s["percent"], s["score"], s["max"]) for s in got["sections"]] == [
        (s.key, s.percent, s.score, s.max) for s in server.sections
    ]
    assert {k: (v["score"], v["max"]) for k, v in got["items"].items()} == {
        k: (v.score, v.max) for k, v in server.items.items()
    }
    assert got["display"] == display_percent(server.percent)


def random_case(rng: random.Random) -> dict:
    """A random valid template with answers, overrides and awkward weights, to go beyond the vectors."""
    label = {"en": "x", "ur": "x"}
    sections, answers, overrides, parents, n = [], {}, {}, [], 0
    for s in range(rng.randint(1, 4)):
        items = []
        for _ in range(rng.randint(1, 6)):
            key, kind = f"i{n}", rng.choice(["yes_no", "scale", "choice", "multi_choice", "number", "text"])
            n += 1
            item = {"key": key, "type": kind, "label": label, "weight": rng.choice([1, 2, 0.1, 0.3, 7.77, 1e-3])}
            if kind == "yes_no":
                value = rng.choice([None, "yes", "no", "na"])
            elif kind == "scale":
                item["max"] = rng.randint(1, 10)
                value = rng.choice([None, rng.randint(0, item["max"])])
            elif kind == "number":
                item["min"], item["max"] = rng.choice([(0, 15), (None, 5), (10, None), (None, None)])
                value = rng.choice([None, rng.uniform(-5, 20), 0, 15])
            elif kind in ("choice", "multi_choice"):
                item["options"] = [
                    {"key": f"o{k}", "label": label, "points": p} for k, p in enumerate([1, rng.randint(-3, 5), 0.7])
                ]
                keys = [o["key"] for o in item["options"]]
                value = rng.choice(keys) if kind == "choice" else rng.sample(keys, rng.randint(0, 3))
            else:
                value = rng.choice([None, "note"])
            if kind != "text" and not (kind == "number" and item["min"] is None and item["max"] is None):
                item["critical"] = rng.random() < 0.2
            if parents and rng.random() < 0.4:
                parent, values = rng.choice(parents)
                item["visible_if"] = {"item": parent, "in": rng.sample(values, 1)}
            if kind in ("yes_no", "choice", "multi_choice"):
                parents.append((key, keys if kind != "yes_no" else ["yes", "no", "na"]))
            if value is not None:
                answers[key] = {"value": value}
            if rng.random() < 0.1:
                overrides[key] = rng.choice([0, 0.5, 1, 0.33])
            items.append(item)
        sections.append({"key": f"s{s}", "title": label, "weight": rng.choice([1, 0.5, 3, 0.1]), "items": items})
    return {"template": {"title": label, "sections": sections}, "answers": answers, "overrides": overrides}


def test_the_javascript_scorer_equals_the_server_on_random_inspections(page):
    rng = random.Random(20261127)
    cases = [random_case(rng) for _ in range(400)]
    for case, got in zip(cases, page.evaluate(RUN, cases), strict=True):
        defn = to_definition(case["template"])
        assert_same(got, score(defn, case["answers"], case["overrides"]))


def test_the_phone_shows_every_percent_as_the_server_does(page):
    """Every tenth and half-tenth from -100 to 100, each also a hair to either side as a float's sums
    leave it (63.75 % arrives as 63.74999999999999), and percents scores really make: the phone's
    displayPercent and the server's display_percent give the same text for each."""
    values = []
    for k in range(-2000, 2001):
        exact = k / 20
        values += [exact, math.nextafter(exact, -math.inf), math.nextafter(exact, math.inf), exact - 3e-15]
    rng = random.Random(20261201)
    for _ in range(2000):
        weights = [rng.choice([1, 2, 3, 0.5, 7.77]) for _ in range(rng.randint(1, 5))]
        points = [rng.randint(0, m) / m for m in (rng.randint(1, 10) for _ in weights)]
        values.append(100 * sum(p * w for p, w in zip(points, weights, strict=True)) / sum(weights))
    got = page.evaluate(
        "async (vs) => { const m = await import('/js/scoring.js'); return vs.map(m.displayPercent); }", values
    )
    differing = [(v, g, display_percent(v)) for v, g in zip(values, got, strict=True) if g != display_percent(v)]
    assert not differing, differing[:10]
    assert display_percent(100 * (0.75 * 1 + 0.6 * 3) / 4) == "63.8"
