"""The template rules and the scorer: shared vectors, error tables and properties of the arithmetic."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.templates import scoring
from server.templates.models import ItemScore, Score, SectionScore, to_definition
from server.templates.rules import validate_definition, value_problem
from server.templates.scoring import (
    check_and_score,
    display_percent,
    grade_for,
    is_scored,
    is_visible,
    item_score,
    score,
    validate_answers,
)

VECTORS = json.loads((Path(__file__).parent / "scoring_vectors.json").read_text(encoding="utf-8"))["vectors"]
L = {"en": "Label", "ur": "عنوان"}


def close(got, want) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=0, abs_tol=1e-9)


def test_the_vector_file_has_enough_cases_with_distinct_names():
    names = [v["name"] for v in VECTORS]
    assert len(names) >= 45
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_scoring_matches_the_vector(vector):
    defn = to_definition(vector["template"])
    assert validate_definition(defn) == [], "every vector's template must itself be a valid template"
    result = score(defn, vector["answers"], vector.get("overrides"))
    want = vector["expected"]
    assert close(result.percent, want["percent"]), result.percent
    assert result.grade == want["grade"]
    assert result.critical_failed is want["critical_failed"]
    assert [s.key for s in result.sections] == list(want["sections"])
    for section in result.sections:
        assert close(section.percent, want["sections"][section.key]), section
    assert set(result.items) == set(want["items"])
    for key, item in result.items.items():
        assert close(item.score, want["items"][key]), (key, item)
    if "display" in want:
        assert display_percent(result.percent) == want["display"]


def test_item_max_is_its_weight_when_scored_and_zero_when_left_out():
    defn = to_definition(
        {
            "title": L,
            "sections": [
                {
                    "key": "s",
                    "title": L,
                    "items": [
                        {"key": "a", "type": "yes_no", "label": L, "weight": 3},
                        {"key": "b", "type": "yes_no", "label": L, "weight": 2},
                    ],
                }
            ],
        }
    )
    result = score(defn, {"a": {"value": "no"}, "b": {"value": "na"}})
    assert (result.items["a"].score, result.items["a"].max) == (0, 3)
    assert (result.items["b"].score, result.items["b"].max) == (None, 0)
    assert (result.sections[0].score, result.sections[0].max) == (0, 3)


def test_an_override_outside_zero_to_one_is_refused():
    defn = to_definition(
        {"title": L, "sections": [{"key": "s", "title": L, "items": [{"key": "a", "type": "yes_no", "label": L}]}]}
    )
    with pytest.raises(ValueError, match="from 0 to 1"):
        score(defn, {}, {"a": 1.5})


@pytest.mark.parametrize(
    ("percent", "shown"),
    [
        (None, None),
        (0.0, "0.0"),
        (100.0, "100.0"),
        (89.95, "90.0"),
        (89.94999, "89.9"),
        (0.15, "0.2"),
        (0.05, "0.1"),
        (66.66666666666667, "66.7"),
        (1e-7, "0.0"),
        (99.99, "100.0"),
        # 63.75 % as scoring's sums make it (3 of 4 at weight 1, 3 of 5 at weight 3): a hair below.
        (63.74999999999999, "63.8"),
        (28.749999999999996, "28.8"),
        (63.7499999, "63.7"),
        (-63.74999999999999, "-63.8"),
    ],
)
def test_display_percent_rounds_half_up_to_one_decimal(percent, shown):
    assert display_percent(percent) == shown


# ---- validate_definition: every problem names its field


def good() -> dict:
    # A JSON round trip gives every label its own dict, so blanking one label blanks no other.
    opts = [{"key": "yes", "label": L, "points": 2}, {"key": "no", "label": L, "points": 0}]
    return json.loads(
        json.dumps(
            {
                "title": L,
                "kinds": ["police_station"],
                "sections": [
                    {
                        "key": "front",
                        "title": L,
                        "weight": 2,
                        "items": [
                            {
                                "key": "staffed",
                                "type": "yes_no",
                                "label": L,
                                "help": L,
                                "required": True,
                                "min_photos": 1,
                            },
                            {"key": "wait", "type": "number", "label": L, "min": 0, "max": 15, "unit": "minutes"},
                            {"key": "clean", "type": "scale", "label": L, "max": 5},
                            {"key": "token", "type": "choice", "label": L, "options": opts},
                            {"key": "why", "type": "text", "label": L, "visible_if": {"item": "staffed", "in": ["no"]}},
                        ],
                    },
                    {
                        "key": "back",
                        "title": L,
                        "items": [
                            {"key": "diary", "type": "yes_no", "label": L, "critical": True},
                            {"key": "seen", "type": "multi_choice", "label": L, "options": opts},
                            {"key": "photo", "type": "photo", "label": L},
                            {"key": "visited", "type": "date", "label": L},
                        ],
                    },
                ],
            }
        )
    )


def item(d, s, i):
    return d["sections"][s]["items"][i]


DEFINITION_PROBLEMS = [
    ("duplicate section key", lambda d: d["sections"][1].update(key="front"), "sections[1].key"),
    ("item key reused in another section", lambda d: item(d, 1, 0).update(key="wait"), "sections[1].items[0].key"),
    (
        "visible_if on a later item",
        lambda d: item(d, 0, 4)["visible_if"].update(item="diary"),
        "sections[0].items[4].visible_if.item",
    ),
    (
        "visible_if on itself",
        lambda d: item(d, 0, 4)["visible_if"].update(item="why"),
        "sections[0].items[4].visible_if.item",
    ),
    (
        "visible_if on an unknown item",
        lambda d: item(d, 0, 4)["visible_if"].update(item="nope"),
        "sections[0].items[4].visible_if.item",
    ),
    (
        "visible_if on a photo item",
        lambda d: item(d, 1, 3).update(visible_if={"item": "photo", "equals": "x"}),
        "sections[1].items[3].visible_if.item",
    ),
    (
        "visible_if value that item cannot take",
        lambda d: item(d, 0, 4)["visible_if"].update({"in": ["maybe"]}),
        "sections[0].items[4].visible_if.in[0]",
    ),
    (
        "visible_if unknown option",
        lambda d: item(d, 0, 4).update(visible_if={"item": "token", "equals": "perhaps"}),
        "sections[0].items[4].visible_if.equals",
    ),
    (
        "visible_if scale value above max",
        lambda d: item(d, 0, 3).update(visible_if={"item": "clean", "equals": 6}),
        "sections[0].items[3].visible_if.equals",
    ),
    (
        "visible_if with both equals and in",
        lambda d: item(d, 0, 4)["visible_if"].update(equals="no"),
        "sections[0].items[4].visible_if",
    ),
    (
        "visible_if with neither",
        lambda d: item(d, 0, 4).update(visible_if={"item": "staffed"}),
        "sections[0].items[4].visible_if",
    ),
    (
        "visible_if with an empty list",
        lambda d: item(d, 0, 4)["visible_if"].update({"in": []}),
        "sections[0].items[4].visible_if.in",
    ),
    ("choice without options", lambda d: item(d, 0, 3).pop("options"), "sections[0].items[3].options"),
    ("multi_choice with no options", lambda d: item(d, 1, 1).update(options=[]), "sections[1].items[1].options"),
    (
        "duplicate option keys",
        lambda d: item(d, 0, 3)["options"][1].update(key="yes"),
        "sections[0].items[3].options[1].key",
    ),
    ("no option worth points", lambda d: item(d, 0, 3)["options"][0].update(points=0), "sections[0].items[3].options"),
    (
        "options on a yes_no item",
        lambda d: item(d, 0, 0).update(options=item(d, 0, 3)["options"]),
        "sections[0].items[0].options",
    ),
    ("item weight 0", lambda d: item(d, 0, 0).update(weight=0), "sections[0].items[0].weight"),
    ("item weight negative", lambda d: item(d, 1, 0).update(weight=-1), "sections[1].items[0].weight"),
    ("section weight 0", lambda d: d["sections"][0].update(weight=0), "sections[0].weight"),
    ("number min above max", lambda d: item(d, 0, 1).update(min=20), "sections[0].items[1].min"),
    ("scale without max", lambda d: item(d, 0, 2).pop("max"), "sections[0].items[2].max"),
    ("scale max 0", lambda d: item(d, 0, 2).update(max=0), "sections[0].items[2].max"),
    ("scale max not whole", lambda d: item(d, 0, 2).update(max=2.5), "sections[0].items[2].max"),
    ("min on a scale", lambda d: item(d, 0, 2).update(min=1), "sections[0].items[2].min"),
    ("unit on a scale", lambda d: item(d, 0, 2).update(unit="points"), "sections[0].items[2].unit"),
    ("max on a text item", lambda d: item(d, 0, 4).update(max=3), "sections[0].items[4].max"),
    ("blank English label", lambda d: item(d, 0, 0)["label"].update(en=" "), "sections[0].items[0].label.en"),
    ("blank Urdu title", lambda d: d["title"].update(ur=""), "title.ur"),
    ("blank Urdu section title", lambda d: d["sections"][1]["title"].update(ur="\t"), "sections[1].title.ur"),
    ("blank Urdu help", lambda d: item(d, 0, 0)["help"].update(ur=""), "sections[0].items[0].help.ur"),
    (
        "blank option label",
        lambda d: item(d, 0, 3)["options"][0]["label"].update(en=""),
        "sections[0].items[3].options[0].label.en",
    ),
    ("section without items", lambda d: d["sections"][1].update(items=[]), "sections[1].items"),
    ("no sections", lambda d: d.update(sections=[]), "sections"),
    (
        "bands not descending",
        lambda d: d.update(
            grade_bands=[{"grade": "A", "min": 50}, {"grade": "B", "min": 75}, {"grade": "D", "min": 0}]
        ),
        "grade_bands[1].min",
    ),
    (
        "no band from 0",
        lambda d: d.update(grade_bands=[{"grade": "A", "min": 90}, {"grade": "B", "min": 50}]),
        "grade_bands",
    ),
    (
        "band above 100",
        lambda d: d.update(grade_bands=[{"grade": "A", "min": 101}, {"grade": "D", "min": 0}]),
        "grade_bands[0].min",
    ),
    ("band called fail", lambda d: d.update(grade_bands=[{"grade": "Fail", "min": 0}]), "grade_bands[0].grade"),
    (
        "grade used twice",
        lambda d: d.update(grade_bands=[{"grade": "A", "min": 50}, {"grade": "A", "min": 0}]),
        "grade_bands[1].grade",
    ),
    ("no bands", lambda d: d.update(grade_bands=[]), "grade_bands"),
    ("negative min_photos", lambda d: item(d, 0, 0).update(min_photos=-1), "sections[0].items[0].min_photos"),
    ("critical text", lambda d: item(d, 0, 4).update(critical=True), "sections[0].items[4].critical"),
    ("critical photo", lambda d: item(d, 1, 2).update(critical=True), "sections[1].items[2].critical"),
    ("critical date", lambda d: item(d, 1, 3).update(critical=True), "sections[1].items[3].critical"),
    (
        "critical number without range",
        lambda d: item(d, 0, 1).update(critical=True, min=None, max=None),
        "sections[0].items[1].critical",
    ),
    (
        "critical choice whose every option earns points",
        lambda d: item(d, 0, 3).update(critical=True, options=[{"key": "a", "label": L, "points": 1}]),
        "sections[0].items[3].critical",
    ),
    ("no kinds", lambda d: d.update(kinds=[]), "kinds"),
    ("kind twice", lambda d: d.update(kinds=["other", "other"]), "kinds[1]"),
]


def test_the_good_definition_has_no_problems():
    assert validate_definition(to_definition(good())) == []


@pytest.mark.parametrize(("name", "mutate", "field"), DEFINITION_PROBLEMS, ids=[p[0] for p in DEFINITION_PROBLEMS])
def test_each_definition_problem_names_its_field(name, mutate, field):
    d = good()
    mutate(d)
    errors = validate_definition(to_definition(d))
    assert field in [e.field for e in errors], errors


def test_every_definition_problem_is_listed_at_once():
    d = good()
    d["sections"][1]["key"] = "front"
    d["title"]["ur"] = ""
    item(d, 0, 0)["weight"] = 0
    item(d, 0, 1)["min"] = 99
    item(d, 0, 2)["max"] = 0
    item(d, 0, 4)["visible_if"]["item"] = "why"
    item(d, 1, 3)["critical"] = True
    fields = [e.field for e in validate_definition(to_definition(d))]
    assert fields == [
        "title.ur",
        "sections[0].items[0].weight",
        "sections[0].items[1].min",
        "sections[0].items[2].max",
        "sections[0].items[4].visible_if.item",
        "sections[1].key",
        "sections[1].items[3].critical",
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: item(d, 0, 0).update(colour="red"),
        lambda d: item(d, 0, 0).update(key="Staffed"),
        lambda d: item(d, 0, 0).update(type="slider"),
        lambda d: d.update(kinds=["school"]),
        lambda d: item(d, 0, 0).pop("label"),
        lambda d: item(d, 0, 0).update(key="x" * 65),
    ],
    ids=["unknown field", "key with capitals", "unknown type", "unknown station kind", "no label", "key too long"],
)
def test_shape_errors_are_refused_by_decoding(mutate):
    d = good()
    mutate(d)
    with pytest.raises(msgspec.ValidationError):
        to_definition(d)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(d), type=type(to_definition(good())))


def test_grade_bands_default_to_a_b_c_d():
    bands = to_definition({"title": L}).grade_bands
    assert [(b.grade, b.min) for b in bands] == [("A", 90), ("B", 75), ("C", 60), ("D", 0)]


# ---- validate_answers

PHOTO = "0b9c8f8e-3f0e-4c8e-9a38-6c1c2a4d5e01"


def with_item(s, i, **changes):
    d = good()
    item(d, s, i).update(changes)
    return d


ANSWER_CASES = [
    # (name, definition, answers, submitting, the exact fields expected)
    ("a draft may be empty", good(), {}, False, []),
    ("an answer that is not an object", good(), {"diary": "yes"}, False, ["answers.diary"]),
    ("an unknown item key", good(), {"ghost": {"value": 1}}, False, ["answers.ghost"]),
    ("yes_no outside yes, no, na", good(), {"staffed": {"value": "Y"}}, False, ["answers.staffed.value"]),
    ("scale above max", good(), {"clean": {"value": 6}}, False, ["answers.clean.value"]),
    ("scale below 0", good(), {"clean": {"value": -1}}, False, ["answers.clean.value"]),
    ("scale not whole", good(), {"clean": {"value": 2.5}}, False, ["answers.clean.value"]),
    ("scale given a boolean", good(), {"clean": {"value": True}}, False, ["answers.clean.value"]),
    ("scale whole float", good(), {"clean": {"value": 3.0}}, False, []),
    ("number given as text", good(), {"wait": {"value": "7"}}, False, ["answers.wait.value"]),
    ("number out of range is a valid answer", good(), {"wait": {"value": 99}}, False, []),
    ("choice unknown option", good(), {"token": {"value": "maybe"}}, False, ["answers.token.value"]),
    ("multi_choice not a list", good(), {"seen": {"value": "yes"}}, False, ["answers.seen.value"]),
    ("multi_choice twice", good(), {"seen": {"value": ["yes", "yes"]}}, False, ["answers.seen.value"]),
    ("multi_choice unknown", good(), {"seen": {"value": ["yes", "later"]}}, False, ["answers.seen.value"]),
    ("text too long", good(), {"why": {"value": "x" * 5001}}, False, ["answers.why.value"]),
    ("text at the limit", good(), {"why": {"value": "x" * 5000}}, False, []),
    ("text not a string", good(), {"why": {"value": 5}}, False, ["answers.why.value"]),
    ("date that does not exist", good(), {"visited": {"value": "2026-02-30"}}, False, ["answers.visited.value"]),
    ("date without leading zeros", good(), {"visited": {"value": "2026-1-5"}}, False, ["answers.visited.value"]),
    ("date in basic format", good(), {"visited": {"value": "20261127"}}, False, ["answers.visited.value"]),
    ("date valid", good(), {"visited": {"value": "2028-02-29"}}, False, []),
    ("photo item given a value", good(), {"photo": {"value": "x", "photos": [PHOTO]}}, False, ["answers.photo.value"]),
    ("photos not a list", good(), {"diary": {"value": "yes", "photos": PHOTO}}, False, ["answers.diary.photos"]),
    ("submitting without a required answer", good(), {}, True, ["answers.staffed.value"]),
    (
        "submitting a required answer without its photo",
        good(),
        {"staffed": {"value": "yes"}},
        True,
        ["answers.staffed.photos"],
    ),
    ("submitting n.a. needs no photos", good(), {"staffed": {"value": "na"}}, True, []),
    ("submitting with the photo", good(), {"staffed": {"value": "yes", "photos": [PHOTO]}}, True, []),
    (
        "a required hidden item is not needed",
        with_item(0, 4, required=True),
        {"staffed": {"value": "yes", "photos": [PHOTO]}},
        True,
        [],
    ),
    (
        "a required item shown by visible_if is needed",
        with_item(0, 4, required=True),
        {"staffed": {"value": "no", "photos": [PHOTO]}},
        True,
        ["answers.why.value"],
    ),
    (
        "blank text does not answer a required item",
        with_item(0, 4, required=True),
        {"staffed": {"value": "no", "photos": [PHOTO]}, "why": {"value": "  "}},
        True,
        ["answers.why.value"],
    ),
    (
        "a required photo item needs a photo",
        with_item(1, 2, required=True),
        {"staffed": {"value": "na"}, "photo": {"photos": []}},
        True,
        ["answers.photo.photos"],
    ),
    (
        "min_photos on a photo item",
        with_item(1, 2, min_photos=2),
        {"staffed": {"value": "na"}, "photo": {"photos": [PHOTO]}},
        True,
        ["answers.photo.photos"],
    ),
    (
        "an optional unanswered item needs no photos",
        with_item(0, 2, min_photos=1),
        {"staffed": {"value": "na"}},
        True,
        [],
    ),
    ("min_photos is not checked on a draft", good(), {"staffed": {"value": "yes"}}, False, []),
    (
        "answers to a hidden item are allowed",
        good(),
        {"staffed": {"value": "yes", "photos": [PHOTO]}, "why": {"value": "stale"}},
        True,
        [],
    ),
]


@pytest.mark.parametrize(
    ("name", "definition", "answers", "submitting", "fields"), ANSWER_CASES, ids=[c[0] for c in ANSWER_CASES]
)
def test_validate_answers_names_each_problem(name, definition, answers, submitting, fields):
    errors = validate_answers(to_definition(definition), answers, submitting=submitting)
    assert [e.field for e in errors] == fields, errors


def test_validate_answers_lists_every_problem_at_once():
    answers = {"ghost": {}, "clean": {"value": 9}, "wait": {"value": "x"}}
    fields = [e.field for e in validate_answers(to_definition(good()), answers, submitting=True)]
    assert fields == ["answers.ghost", "answers.clean.value", "answers.wait.value", "answers.staffed.value"]


# ---- properties of the arithmetic, over generated templates and answers

TYPES = ["yes_no", "scale", "choice", "multi_choice", "number", "number_open", "text", "photo", "date"]
weights = st.one_of(st.integers(1, 5), st.floats(min_value=1e-3, max_value=1e6, allow_nan=False))


@st.composite
def inspections(draw):
    """A valid template and answers to it. Conditions never name 'na', so an n.a. shows no item."""
    sections, answers, parents, n = [], {}, [], 0
    for s in range(draw(st.integers(1, 3))):
        items = []
        for _ in range(draw(st.integers(1, 5))):
            key, kind = f"i{n}", draw(st.sampled_from(TYPES))
            n += 1
            it = {"key": key, "type": "number" if kind == "number_open" else kind, "label": L, "weight": draw(weights)}
            values = st.none()
            if kind == "yes_no":
                values = st.sampled_from([None, "yes", "no", "na"])
            elif kind == "scale":
                it["max"] = draw(st.integers(1, 10))
                values = st.one_of(st.none(), st.integers(0, it["max"]))
            elif kind in ("number", "number_open"):
                if kind == "number":
                    it["min"] = draw(st.integers(-5, 5))
                    it["max"] = it["min"] + draw(st.integers(0, 10))
                values = st.one_of(st.none(), st.floats(-20, 20, allow_nan=False))
            elif kind in ("choice", "multi_choice"):
                points = draw(st.lists(st.integers(-3, 5), min_size=1, max_size=4))
                it["options"] = [{"key": f"o{k}", "label": L, "points": p} for k, p in enumerate(points + [1])]
                keys = [o["key"] for o in it["options"]]
                values = (
                    st.one_of(st.none(), st.sampled_from(keys))
                    if kind == "choice"
                    else st.one_of(st.none(), st.lists(st.sampled_from(keys), unique=True))
                )
            elif kind == "text":
                values = st.one_of(st.none(), st.text(max_size=5))
            can_fail = kind != "choice" or any(o["points"] <= 0 for o in it["options"])
            if kind in ("yes_no", "scale", "choice", "multi_choice", "number") and can_fail:
                it["critical"] = draw(st.booleans())
            if parents and draw(st.booleans()):
                parent_key, parent_values = draw(st.sampled_from(parents))
                it["visible_if"] = {
                    "item": parent_key,
                    "in": draw(st.lists(st.sampled_from(parent_values), min_size=1, max_size=2)),
                }
            if kind == "yes_no":
                parents.append((key, ["yes", "no"]))
            elif kind == "choice":
                parents.append((key, [o["key"] for o in it["options"]]))
            value = draw(values)
            if value is not None:
                answers[key] = {"value": value}
            items.append(it)
        sections.append({"key": f"s{s}", "title": L, "weight": draw(weights), "items": items})
    defn = to_definition({"title": L, "sections": sections})
    assert validate_definition(defn) == []
    return defn, answers


def dependents(defn) -> set[str]:
    return {it.visible_if.item for sec in defn.sections for it in sec.items if it.visible_if}


@settings(max_examples=300, deadline=None, database=None)
@given(inspections())
def test_every_percent_is_within_0_and_100(case):
    defn, answers = case
    result = score(defn, answers)
    for p in [result.percent] + [s.percent for s in result.sections]:
        assert p is None or 0 <= p <= 100
    assert all(i.score is None or 0 <= i.score <= 1 for i in result.items.values())


@settings(max_examples=300, deadline=None, database=None)
@given(inspections(), st.data())
def test_adding_an_na_answer_never_changes_the_score(case, data):
    defn, answers = case
    open_yes_no = [it.key for sec in defn.sections for it in sec.items if it.type == "yes_no" and it.key not in answers]
    if not open_yes_no:
        return
    key = data.draw(st.sampled_from(open_yes_no))
    assert score(defn, {**answers, key: {"value": "na"}}) == score(defn, answers)


@settings(max_examples=300, deadline=None, database=None)
@given(inspections(), st.data())
def test_raising_one_answer_never_lowers_its_section_percent(case, data):
    defn, answers = case
    # Raising an item that others depend on may show or hide them, which is a different change.
    free = dependents(defn)
    raisable = [
        (s, it)
        for s, sec in enumerate(defn.sections)
        for it in sec.items
        if it.key not in free
        and it.type in ("yes_no", "scale")
        and (answers.get(it.key) or {}).get("value") in ("no",) + tuple(range(int(it.max or 0)))
    ]
    if not raisable:
        return
    s, it = data.draw(st.sampled_from(raisable))
    before = score(defn, answers).sections[s].percent
    low = answers[it.key]["value"]
    high = "yes" if low == "no" else data.draw(st.integers(low + 1, int(it.max)))
    after = score(defn, {**answers, it.key: {"value": high}}).sections[s].percent
    assert before is None or after >= before


# ---- the fast paths (per-definition tables, no abstract-class checks) agree with the plain rules


def plain_score(defn, answers, overrides=None):
    """The scorer as the module's docstring states it: every item through is_visible and item_score."""
    answers, overrides = answers or {}, overrides or {}
    visible, items, sections = {}, {}, []
    critical_failed, overall, overall_weight = False, 0.0, 0.0
    for section in defn.sections:
        earned = weight = 0.0
        for it in section.items:
            shown = visible[it.key] = is_visible(it, answers, visible)
            s = None
            if shown and is_scored(it):
                s = float(overrides[it.key]) if it.key in overrides else item_score(it, answers.get(it.key))
            if s is not None:
                earned += s * it.weight
                weight += it.weight
                critical_failed = critical_failed or (it.critical and s == 0)
            items[it.key] = ItemScore(score=s, max=it.weight if s is not None else 0.0)
        percent = min(100.0, max(0.0, 100 * earned / weight)) if weight > 0 else None
        sections.append(SectionScore(key=section.key, percent=percent, score=earned, max=weight))
        if percent is not None:
            overall += percent * section.weight
            overall_weight += section.weight
    percent = min(100.0, max(0.0, overall / overall_weight)) if overall_weight > 0 else None
    grade = "fail" if critical_failed else grade_for(defn.grade_bands, percent)
    return Score(percent=percent, grade=grade, critical_failed=critical_failed, sections=sections, items=items)


def plain_problems(defn, answers, submitting):
    """validate_answers as first written: a Mapping check and value_problem for every answer."""
    by_key = {it.key: it for sec in defn.sections for it in sec.items}

    def value(a):
        return a.get("value") if isinstance(a, Mapping) else getattr(a, "value", None)

    def photos(a):
        return (a.get("photos") if isinstance(a, Mapping) else getattr(a, "photos", None)) or []

    errors = []
    for key, answer in answers.items():
        it = by_key.get(key)
        if it is None:
            errors.append((f"answers.{key}", "is not an item of this template"))
        elif not isinstance(answer, Mapping) and not hasattr(answer, "value"):
            errors.append((f"answers.{key}", "must be an object with value, note and photos"))
        else:
            if value(answer) is not None and (problem := value_problem(it, value(answer))):
                errors.append((f"answers.{key}.value", problem))
            if not isinstance(photos(answer), list):
                errors.append((f"answers.{key}.photos", "must be a list of photo ids"))
    if submitting:
        visible = {}
        for sec in defn.sections:
            for it in sec.items:
                visible[it.key] = is_visible(it, answers, visible)
        for key, it in by_key.items():
            if not visible[key]:
                continue
            answer = answers.get(key)
            v = None if answer is None else value(answer)
            p = photos(answer)
            count = len(p) if isinstance(p, list) else 0
            answered = count > 0 if it.type == "photo" else v is not None and not (isinstance(v, str) and not v.strip())
            if it.required and not answered:
                errors.append((f"answers.{key}.{'photos' if it.type == 'photo' else 'value'}", "is required"))
            if answered and not (it.type == "yes_no" and v == "na") and count < it.min_photos:
                errors.append((f"answers.{key}.photos", f"needs at least {it.min_photos} photo(s)"))
    return errors


ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.floats(-20, 20, allow_nan=False),
    st.sampled_from(["yes", "no", "na", "o0", "o1", "o9", "", "  ", "2026-11-27", "x" * 5001]),
    st.lists(st.sampled_from(["o0", "o1", "o1", "o9", 3]), max_size=3),
)


class StructAnswer(msgspec.Struct):
    value: object = None
    note: str | None = None
    photos: object = []


@settings(max_examples=300, deadline=None, database=None)
@given(inspections(), st.data())
def test_the_tabled_scorer_and_checker_give_exactly_what_the_plain_rules_give(case, data):
    defn, answers = case
    # Completeness at submit needs required items and photo minimums, which the scoring cases leave out.
    plain = msgspec.to_builtins(defn)
    for section in plain["sections"]:
        for it in section["items"]:
            it["required"] = data.draw(st.booleans())
            it["min_photos"] = data.draw(st.sampled_from([0, 0, 1, 2]))
    defn = to_definition(plain)
    odd = dict(answers)
    for key in data.draw(
        st.lists(st.sampled_from([it.key for s in defn.sections for it in s.items] + ["ghost"]), max_size=4)
    ):
        odd[key] = {"value": data.draw(ODD_VALUES), "photos": data.draw(st.sampled_from([[], ["p"], "p", None]))}
    if data.draw(st.booleans()):
        odd["stray"] = data.draw(st.sampled_from([None, "text", 3]))
    as_structs = {k: StructAnswer(**a) if isinstance(a, dict) else a for k, a in odd.items()}
    for given_answers in (odd, as_structs):
        for submitting in (False, True):
            problems = validate_answers(defn, given_answers, submitting=submitting)
            assert [(e.field, e.message) for e in problems] == plain_problems(defn, given_answers, submitting)
            # The one-walk form used by the sync: the same problems, and the same score when there are none.
            assert check_and_score(defn, given_answers, submitting=submitting) == (
                problems,
                None if problems else score(defn, given_answers),
            )
    clean = {k: a for k, a in odd.items() if isinstance(a, dict)}
    # Equal to the last bit: msgspec's == on Structs compares the floats exactly.
    assert score(defn, clean) == plain_score(defn, clean)
    assert score(defn, as_structs_of(clean)) == plain_score(defn, clean)


def as_structs_of(answers):
    return {k: StructAnswer(**a) for k, a in answers.items()}


def test_a_definition_is_tabled_once_and_a_new_object_gets_its_own_table():
    defn = to_definition(good())
    assert scoring._plan(defn) is scoring._plan(defn)
    copy = to_definition(good())
    assert scoring._plan(copy) is not scoring._plan(defn) and scoring._plan(copy).definition is copy


def test_the_phone_knows_the_words_of_every_submit_problem_it_translates():
    """The inspector's screen recognises these server messages to say them in Urdu (problemText);
    reworded here alone, an Urdu phone would fall back to a vague "not accepted"."""
    source = (Path(__file__).resolve().parents[1] / "pwa/js/views/inspector/common.js").read_text(encoding="utf-8")
    assert f"e.message === '{scoring.REQUIRED}'" in source
    assert f"e.message === '{scoring.NOT_AN_ITEM}'" in source
    assert "/^" + scoring.MIN_PHOTOS.split("{count}")[0] + "(\\d+) photo/" in source
