"""The phone's form (pwa/js/form.js) must agree with the server about a checklist it will submit.

For each case the phone's own answers go through form.js in real Chromium: `missing` (what the fill and
review screens list and what keeps Submit disabled), `buildDocument` (the §7 document the outbox sends)
and scoring.js `score` (the live score). The server then checks and scores that very document. An
inspector offline must never be told "complete" for a checklist the server refuses with 422, nor be
kept from submitting one the server accepts, nor see a score the server will not give.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.templates.models import to_definition
from server.templates.rules import MAX_TEXT, value_problem
from server.templates.scoring import MIN_PHOTOS, REQUIRED, score, validate_answers
from tests.test_scoring_js import origin, page  # noqa: F401  (fixtures: a blank page on the PWA's origin)

LABEL = {"en": "x", "ur": "x"}
PHOTO = "0b6f1c1e-7d7a-4a53-9a55-5d0c3f7d2a11"
PHOTO2 = "1c7a2d2f-8e8b-4b64-8b66-6e1d4a8e3b22"


def template(*items: dict) -> dict:
    return {
        "title": LABEL,
        "sections": [{"key": "s", "title": LABEL, "items": [{"label": LABEL, **item} for item in items]}],
    }


CASES: list[tuple[str, dict, dict]] = [
    (
        "n.a. needs no photos, as the server says",
        template({"key": "a", "type": "yes_no", "required": True, "min_photos": 1}),
        {"a": {"value": "na"}},
    ),
    (
        "an unanswered optional item needs no photos",
        template({"key": "a", "type": "yes_no", "min_photos": 2}, {"key": "b", "type": "yes_no"}),
        {"b": {"value": "yes"}},
    ),
    (
        "an optional photo item with no photos needs none",
        template({"key": "p", "type": "photo", "min_photos": 2}),
        {},
    ),
    (
        "a required photo item with no photos is one problem, not two",
        template({"key": "p", "type": "photo", "required": True, "min_photos": 2}),
        {},
    ),
    (
        "an answered item short of photos is still reported",
        template({"key": "a", "type": "yes_no", "min_photos": 2}),
        {"a": {"value": "no", "photos": [PHOTO]}},
    ),
    (
        "a photo item with some photos but fewer than its minimum",
        template({"key": "p", "type": "photo", "min_photos": 2}),
        {"p": {"photos": [PHOTO]}},
    ),
    (
        "a required item met with photos",
        template({"key": "a", "type": "yes_no", "required": True, "min_photos": 2}),
        {"a": {"value": "yes", "photos": [PHOTO, PHOTO2]}},
    ),
    (
        "required text of only spaces is no answer",
        template({"key": "t", "type": "text", "required": True}),
        {"t": {"value": "   "}},
    ),
    (
        "required text of only a newline is no answer",
        template({"key": "t", "type": "text", "required": True}),
        {"t": {"value": "\n"}},
    ),
    (
        "required text with words is an answer",
        template({"key": "t", "type": "text", "required": True}),
        {"t": {"value": " ok "}},
    ),
    (
        "a critical multi_choice with nothing chosen is an answer that scores 0",
        template(
            {
                "key": "m",
                "type": "multi_choice",
                "required": True,
                "critical": True,
                "options": [{"key": "o1", "label": LABEL, "points": 1}, {"key": "o2", "label": LABEL, "points": 1}],
            },
            {"key": "a", "type": "yes_no"},
        ),
        {"m": {"value": []}, "a": {"value": "yes"}},
    ),
    (
        "a critical multi_choice held at 0 by a negative option is a critical failure",
        template(
            {
                "key": "m",
                "type": "multi_choice",
                "critical": True,
                "options": [{"key": "o1", "label": LABEL, "points": 1}, {"key": "bad", "label": LABEL, "points": -2}],
            },
        ),
        {"m": {"value": ["o1", "bad"]}},
    ),
    (
        "failed answers of every scored type",
        template(
            {"key": "y", "type": "yes_no", "critical": True},
            {"key": "sc", "type": "scale", "max": 5, "critical": True},
            {"key": "n", "type": "number", "min": 0, "max": 15, "critical": True},
            {"key": "n2", "type": "number", "min": 0, "max": 15},
            {"key": "free", "type": "number"},
            {
                "key": "c",
                "type": "choice",
                "critical": True,
                "options": [{"key": "ok", "label": LABEL, "points": 2}, {"key": "bad", "label": LABEL, "points": 0}],
            },
        ),
        {
            "y": {"value": "no"},
            "sc": {"value": 0},
            "n": {"value": 15.5},
            "n2": {"value": 7.25},
            "free": {"value": -3},
            "c": {"value": "bad"},
        },
    ),
    (
        "an item shown by a multi_choice with nothing chosen stays hidden",
        template(
            {
                "key": "m",
                "type": "multi_choice",
                "options": [{"key": "o1", "label": LABEL, "points": 1}],
            },
            {"key": "b", "type": "yes_no", "required": True, "visible_if": {"item": "m", "in": ["o1"]}},
        ),
        {"m": {"value": []}},
    ),
    (
        "an answer left on a hidden item is neither sent nor required",
        template(
            {"key": "a", "type": "yes_no", "required": True},
            {"key": "b", "type": "text", "required": True, "visible_if": {"item": "a", "equals": "no"}},
            {"key": "c", "type": "yes_no", "min_photos": 1, "visible_if": {"item": "b", "equals": "x"}},
        ),
        {"a": {"value": "yes"}, "b": {"value": "x"}, "c": {"value": "no"}},
    ),
]

RUN = """async (cases) => {
  const form = await import("/js/form.js");
  const scoring = await import("/js/scoring.js");
  return cases.map(([definition, answers]) => {
    const doc = form.buildDocument({ answers }, definition);
    const visible = scoring.visibility(definition, answers);
    return {
      missing: form.missing(definition, answers).map((m) => [m.item.key, m.reason]),
      answers: doc.answers,
      score: scoring.score(definition, answers),
      // What the card marks failed and, for critical items, what the review screen lists.
      failed: [...form.items(definition)].map(([, item]) => item)
        .filter((item) => visible[item.key] && form.isFailed(item, answers[item.key])).map((item) => item.key),
    };
  });
}"""


@pytest.fixture(scope="module")
def phone(page):  # noqa: F811
    results = page.evaluate(RUN, [[definition, answers] for _, definition, answers in CASES])
    return dict(zip([name for name, _, _ in CASES], results, strict=True))


def server_problems(definition: dict, answers: dict[str, Any]) -> set[tuple[str, str]]:
    """The server's 422 at submit, as (item key, "answer" | "photos") like form.js's `missing`."""
    kinds = {REQUIRED: "answer"}
    out = set()
    for error in validate_answers(to_definition(definition), answers, submitting=True):
        key = error.field.split(".")[1]
        if error.message in kinds:
            out.add((key, kinds[error.message]))
        elif error.message.startswith(MIN_PHOTOS.split("{")[0]):
            out.add((key, "photos"))
        else:
            out.add((key, error.message))
    return out


@pytest.mark.parametrize(("name", "definition", "answers"), CASES, ids=[c[0] for c in CASES])
def test_what_the_phone_lists_as_missing_is_what_the_server_refuses(phone, name, definition, answers):
    got = phone[name]
    assert {tuple(m) for m in got["missing"]} == server_problems(definition, got["answers"])


@pytest.mark.parametrize(("name", "definition", "answers"), CASES, ids=[c[0] for c in CASES])
def test_the_live_score_is_the_score_of_what_is_sent(phone, name, definition, answers):
    got = phone[name]
    server = score(to_definition(definition), got["answers"])
    assert got["score"]["percent"] == server.percent
    assert got["score"]["grade"] == server.grade
    assert got["score"]["critical_failed"] is server.critical_failed
    assert {k: v["score"] for k, v in got["score"]["items"].items()} == {k: v.score for k, v in server.items.items()}


@pytest.mark.parametrize(("name", "definition", "answers"), CASES, ids=[c[0] for c in CASES])
def test_the_phone_marks_failed_exactly_the_items_the_server_scores_0(phone, name, definition, answers):
    got = phone[name]
    server = score(to_definition(definition), got["answers"])
    assert set(got["failed"]) == {k for k, v in server.items.items() if v.score == 0}


# Answers an inspection may carry from one version of its checklist to another (form.fits, used by
# carryOver when an inspection moves to the version the server has): each item type with values it
# takes and values it does not, some of them only JavaScript can hold apart (2.5 against a scale).
OPTIONS = [{"key": "a", "label": LABEL, "points": 1}, {"key": "b", "label": LABEL, "points": 0}]
FIT_CASES: list[tuple[dict, Any]] = [
    *(({"type": "yes_no"}, v) for v in ("yes", "no", "na", "maybe", "", True, 1, None)),
    *(({"type": "scale", "max": 5}, v) for v in (0, 5, 3.0, 6, -1, 2.5, "3", True)),
    *(({"type": "number", "min": 0, "max": 3}, v) for v in (9, -2.5, 0, "9", True, [1])),
    *(({"type": "choice", "options": OPTIONS}, v) for v in ("a", "b", "c", "", ["a"], 1)),
    *(({"type": "multi_choice", "options": OPTIONS}, v) for v in ([], ["a", "b"], ["a", "a"], ["c"], "a", [1])),
    *(({"type": "text"}, v) for v in ("seen", "", 3, ["x"], "x" * MAX_TEXT, "x" * (MAX_TEXT + 1), "😀" * MAX_TEXT)),
    *(({"type": "date"}, v) for v in ("2026-02-28", "2028-02-29", "2026-02-30", "2026-13-01", "20261127", 3)),
    *(({"type": "photo"}, v) for v in ("yes", 1)),
]


def test_the_phone_takes_an_answer_for_an_item_exactly_when_the_server_does(page):  # noqa: F811
    items = [{"key": "x", "label": LABEL, **item} for item, _ in FIT_CASES]
    got = page.evaluate(
        """async (cases) => {
            const { fits } = await import('/js/form.js');
            return cases.map(([item, value]) => fits(item, value));
        }""",
        [[item, value] for item, (_, value) in zip(items, FIT_CASES, strict=True)],
    )
    server = [
        value_problem(to_definition(template(item)).sections[0].items[0], value) is None
        for item, (_, value) in zip(items, FIT_CASES, strict=True)
    ]
    assert got == server
    assert 0 < sum(got) < len(got), "both kinds of answer are among the cases"


def test_moving_answers_to_another_version_keeps_what_has_a_place_there(page):  # noqa: F811
    moved = page.evaluate(
        """async () => {
            const { carryOver } = await import('/js/form.js');
            const definition = { sections: [{ items: [
                { key: 'kept', type: 'yes_no' }, { key: 'retyped', type: 'scale', max: 3 },
                { key: 'shot', type: 'photo' }, { key: 'unanswered', type: 'text' },
            ] }] };
            return carryOver({
                kept: { value: 'no', note: 'door broken', photos: ['p1'] },
                retyped: { value: 'yes', note: 'asked the SHO', photos: ['p2'] },
                shot: { photos: ['p3'] }, unanswered: {},
                gone: { value: 'yes', photos: ['p4'] }, gone_note: { note: 'only a note' }, gone_empty: {},
            }, definition);
        }"""
    )
    assert moved == {
        "answers": {
            "kept": {"value": "no", "note": "door broken", "photos": ["p1"]},
            "retyped": {"note": "asked the SHO", "photos": ["p2"]},
            "shot": {"photos": ["p3"]},
            "unanswered": {},
        },
        "leftOut": ["gone", "gone_note"],
        "cleared": ["retyped"],
    }
