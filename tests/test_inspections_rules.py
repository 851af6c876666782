"""The pure rules of an inspection, without a database: status machine, presence, body hash, answer rows."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from server.errors import Conflict
from server.inspections import rules
from server.inspections.models import Answer, InspectionDoc, Location
from server.templates.models import to_definition
from server.templates.scoring import score
from tests.inspection_fixtures import DEFINITION, complete_answers, document

# (current status, requested status) -> the status after the write, or None when refused with 409.
INSPECTOR_MOVES = [
    (None, "draft", "draft"),
    (None, "submitted", "submitted"),
    ("draft", "draft", "draft"),
    ("draft", "submitted", "submitted"),
    ("returned", "draft", "draft"),
    ("returned", "submitted", "submitted"),
    ("submitted", "draft", None),
    ("submitted", "submitted", None),
    ("approved", "draft", None),
    ("approved", "submitted", None),
]


@pytest.mark.parametrize("current, requested, after", INSPECTOR_MOVES)
def test_an_inspector_edits_only_drafts_and_returned_inspections(current, requested, after):
    if after is None:
        with pytest.raises(Conflict) as refused:
            rules.inspector_transition(current, requested)
        assert ("read-only" if current == "submitted" else "approved") in refused.value.detail
    else:
        assert rules.inspector_transition(current, requested) == after


@pytest.mark.parametrize(
    "current, decision, after",
    [
        ("submitted", "approve", "approved"),
        ("submitted", "return", "returned"),
        ("draft", "approve", None),
        ("returned", "return", None),
        ("approved", "return", None),
    ],
)
def test_a_reviewer_decides_only_on_a_submitted_inspection(current, decision, after):
    if after is None:
        with pytest.raises(Conflict):
            rules.reviewer_transition(current, decision)
    else:
        assert rules.reviewer_transition(current, decision) == after


def test_the_haversine_distance_matches_known_distances():
    assert rules.distance_m(31.5, 74.35, 31.5, 74.35) == 0
    # One degree of latitude is about 111.2 km; Lahore to Karachi is about 1,030 km as the crow flies.
    assert rules.distance_m(31.0, 74.0, 32.0, 74.0) == pytest.approx(111_195, rel=1e-3)
    assert rules.distance_m(31.5497, 74.3436, 24.8608, 67.0104) == pytest.approx(1_030_000, rel=0.01)
    assert rules.distance_m(0, 179.9, 0, -179.9) == pytest.approx(22_239, rel=1e-3)  # across the date line


@pytest.mark.parametrize(
    "location, station, far, missing, distance",
    [
        (Location(lat=31.5, lon=74.35), (31.5, 74.35), False, False, 0.0),
        (Location(lat=31.5026, lon=74.35), (31.5, 74.35), False, False, pytest.approx(289, rel=0.01)),
        (Location(lat=31.5028, lon=74.35), (31.5, 74.35), True, False, pytest.approx(311, rel=0.01)),
        (None, (31.5, 74.35), True, True, None),
        (Location(lat=31.5, lon=74.35), (None, None), False, False, None),
    ],
)
def test_presence_flags_a_fix_beyond_the_radius_or_no_fix_at_all(location, station, far, missing, distance):
    p = rules.presence(location, *station, radius_m=300)
    assert (p.far_from_station, p.location_missing, p.distance_m) == (far, missing, distance)


def _doc(**kw) -> InspectionDoc:
    # One start for every document here: what is hashed must differ only where a test says.
    kw.setdefault("started_at", "2026-11-27T09:00:00Z")
    return msgspec.convert(document(uuid.UUID(int=1), uuid.UUID(int=2), **kw), InspectionDoc)


def test_the_body_hash_ignores_key_order_and_time_notation_but_not_content_or_base():
    one = _doc(answers={"a1": {"value": "yes"}, "b2": {"value": 3}})
    reordered = _doc(answers={"b2": {"value": 3}, "a1": {"value": "yes"}})
    reordered.started_at = reordered.started_at.astimezone()  # the same instant in another notation
    digest = rules.body_hash(rules.canonical(one))
    assert rules.body_hash(rules.canonical(reordered)) == digest
    assert rules.body_hash(rules.canonical(_doc(answers={"a1": {"value": "no"}, "b2": {"value": 3}}))) != digest
    assert (
        rules.body_hash(rules.canonical(_doc(base=1, answers={"a1": {"value": "yes"}, "b2": {"value": 3}}))) != digest
    )


def test_answer_columns_carry_each_answer_with_its_section_score_and_photos():
    info = rules.template_info(to_definition(DEFINITION))
    photo = uuid.uuid4()
    answers = {k: msgspec.convert(v, Answer) for k, v in complete_answers(photo).items()}
    answers["fd_clean"] = Answer(value=4, photos=[photo])
    result = score(info.definition, answers)
    cols = rules.answer_columns(info, answers, result)
    assert cols.keys == list(answers)
    at = cols.keys.index("lk_diary")
    values = msgspec.json.decode(cols.values)
    assert (cols.sections[at], cols.critical[at], values[at], cols.scores[at], cols.maxes[at]) == (
        "lockup",
        True,
        "yes",
        1.0,
        1.0,
    )
    at = cols.keys.index("fd_clean")
    assert (values[at], cols.scores[at], cols.photos[at]) == (4, 0.8, "{" + str(photo) + "}")
    assert cols.photos[cols.keys.index("fd_wait")] == "{}"
    assert cols.photo_ids == [str(photo)]  # referenced twice, expected once
    assert cols.notes[cols.keys.index("fd_staffed")] == "two officers"


def test_the_score_summary_keeps_the_engines_figures():
    result = score(to_definition(DEFINITION), complete_answers())
    summary = rules.score_summary(result)
    assert (summary.percent, summary.grade, summary.critical_failed) == (result.percent, result.grade, False)
    assert [(s.key, s.percent) for s in summary.sections] == [(s.key, s.percent) for s in result.sections]
