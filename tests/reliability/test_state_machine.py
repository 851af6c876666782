"""The inspection state machine driven through the API by hypothesis (DESIGN §5, §7, issue 8 item 7).

Hypothesis chooses a sequence of what the two sides of an inspection do: the inspector saves a
draft, submits, writes on a stale base, or sends the last body again (a replay); the reviewer
returns, approves (with or without a score override) or decides on a stale revision. A model
says what each must answer, and after every step the server is held to these invariants:

- the status is one of draft, submitted, returned, approved, and every change of it is a legal
  transition of rules.py's machine;
- the revision grows by exactly one with each accepted change, and never on a replay, a refusal or a
  conflict; a replay answers the current revision;
- an approved inspection is final: every later write and review is refused and changes nothing;
- the answer rows in the database are exactly the answers of the last accepted document;
- and, at the end of each run, the audit chain verifies.

The app runs in-process (Litestar's TestClient) on a fresh copy of the seeded demo database, as
the demo's inspector and Lahore's reviewer. Examples are bounded so the test stays quick.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from litestar.testing import TestClient

from server import db
from server.app import create_app
from tests.conftest import make_settings
from tests.reliability.conftest import ADMIN, INSPECTOR, REVIEWER, SIPS_KEY, soak_only
from tests.reliability.outbox_client import complete_answers, document, items, valid_value

STATUSES = {"draft", "submitted", "returned", "approved"}
EDITABLE = (None, "draft", "returned")
LEGAL = {
    (None, "draft"),
    (None, "submitted"),
    ("draft", "draft"),
    ("draft", "submitted"),
    ("returned", "draft"),
    ("returned", "submitted"),
    ("submitted", "returned"),
    ("submitted", "approved"),
}
# A scored item no visible_if depends on or hides, so an override of it is always valid; and a critical one.
OVERRIDABLE = ("fd_system_working", "fir_no_tampering")


class World:
    """What every run shares: the signed-in client, the demo template and a station, a DB connection."""

    def __init__(self, http: TestClient, database_url: str, loop: asyncio.AbstractEventLoop):
        self.http = http
        self.loop = loop
        # What the runs did, to show (and check) that the interesting paths were really taken.
        self.seen: Counter[str] = Counter()
        self.tokens = {
            role: self._login(who) for role, who in (("inspector", INSPECTOR), ("reviewer", REVIEWER), ("admin", ADMIN))
        }
        bundle = self.call("GET", "/api/v1/sync/bundle", "inspector").json()
        template = next(t for t in bundle["templates"] if t["key"] == SIPS_KEY)
        self.version_id, self.definition = template["id"], template["definition"]
        self.station = next(
            s for s in bundle["stations"] if s["kind"] in (template["definition"].get("kinds") or [s["kind"]])
        )
        self.conn = loop.run_until_complete(db.connect(database_url))

    def _login(self, who: tuple[str, str]) -> str:
        response = self.http.post("/api/v1/auth/login", json={"username": who[0], "password": who[1]})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def call(self, method: str, path: str, role: str, **kwargs: Any) -> Any:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kwargs)

    def answer_rows(self, inspection_id: uuid.UUID) -> dict[str, Any]:
        rows = self.loop.run_until_complete(
            self.conn.fetch(
                "SELECT item_key, value, note, photo_ids FROM answers WHERE inspection_id = $1", inspection_id
            )
        )
        return {
            r["item_key"]: (r["value"], r["note"] or "", sorted(str(p) for p in r["photo_ids"] or [])) for r in rows
        }


def machine_for(world: World) -> type[RuleBasedStateMachine]:
    class InspectionLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.id = uuid.uuid4()
            self.status: str | None = None
            self.revision = 0
            self.accepted: dict[str, Any] | None = None  # the last document the server accepted
            self.sent = 0

        # What the inspector does -------------------------------------------------------------------

        def doc(self, status: str, seed: int, *, complete: bool, base: int | None = None) -> dict[str, Any]:
            rng = random.Random(seed)
            if complete:
                slots = [i for i in items(world.definition) if i.get("min_photos") or i["type"] == "photo"]
                photos = {
                    i["key"]: [uuid.uuid5(self.id, f"{i['key']}{n}") for n in range(max(i.get("min_photos", 0), 1))]
                    for i in slots
                }
                answers = complete_answers(world.definition, photos, rng)
            else:
                chosen = rng.sample([i for i in items(world.definition) if i["type"] != "photo"], rng.randint(1, 12))
                answers = {i["key"]: {"value": valid_value(i, rng), "note": "", "photos": []} for i in chosen}
            # Every body is different from every other: a replay is only ever a deliberate one.
            self.sent += 1
            first = next(iter(answers))
            answers[first] = {**answers[first], "note": f"visit note {self.sent}"}
            return document(
                world.station["id"],
                world.version_id,
                answers,
                status=status,
                base=self.revision if base is None else base,
            )

        def put(self, body: dict[str, Any]) -> Any:
            return world.call("PUT", f"/api/v1/inspections/{self.id}", "inspector", json=body)

        def accept_write(self, body: dict[str, Any]) -> None:
            response = self.put(body)
            if self.status in (None, "draft", "returned"):
                assert response.status_code == (201 if self.status is None else 200), response.text
                reply = response.json()
                assert (self.status, reply["status"]) in LEGAL
                assert reply["revision"] == self.revision + 1, "an accepted change moves the revision by one"
                world.seen[f"inspector: {self.status} -> {reply['status']}"] += 1
                self.status, self.revision, self.accepted = reply["status"], reply["revision"], body
            else:
                # Submitted (read-only until returned) or approved (final): refused, nothing changes.
                assert response.status_code == 409, response.text
                assert response.json()["reason"] == "read_only"
                assert response.json()["server_copy"]["revision"] == self.revision
                world.seen[f"inspector refused: {self.status} is read-only"] += 1

        @precondition(lambda self: self.status in EDITABLE)
        @rule(seed=st.integers(0, 2**32))
        def save_draft(self, seed: int) -> None:
            self.accept_write(self.doc("draft", seed, complete=False))

        @precondition(lambda self: self.status in EDITABLE)
        @rule(seed=st.integers(0, 2**32))
        def submit(self, seed: int) -> None:
            self.accept_write(self.doc("submitted", seed, complete=True))

        @precondition(lambda self: self.status not in EDITABLE)
        @rule(seed=st.integers(0, 2**32), status=st.sampled_from(["draft", "submitted"]))
        def edit_a_locked_inspection(self, seed: int, status: str) -> None:
            self.accept_write(self.doc(status, seed, complete=status == "submitted"))

        @precondition(lambda self: self.revision >= 2)
        @rule(seed=st.integers(0, 2**32), data=st.data())
        def write_on_a_stale_base(self, seed: int, data: st.DataObject) -> None:
            base = data.draw(st.integers(1, self.revision - 1), label="stale base")
            response = self.put(self.doc("draft", seed, complete=False, base=base))
            assert response.status_code == 409, response.text
            # A locked inspection says so first; an editable one says the base is stale.
            reason = "stale" if self.status in EDITABLE else "read_only"
            assert response.json()["reason"] == reason
            assert response.json()["server_copy"]["revision"] == self.revision
            world.seen[f"stale write refused ({reason})"] += 1

        @precondition(lambda self: self.accepted is not None)
        @rule()
        def replay_the_last_body(self) -> None:
            response = self.put(self.accepted)
            assert response.status_code == 200, response.text
            assert response.json()["revision"] == self.revision, "a replay answers the current revision"
            assert response.json()["status"] == self.status, "a replay changes nothing"
            world.seen[f"replay while {self.status}"] += 1

        # What the reviewer does --------------------------------------------------------------------

        def review(self, decision: str, revision: int, overrides: dict[str, Any] | None = None) -> Any:
            return world.call(
                "POST",
                f"/api/v1/inspections/{self.id}/review",
                "reviewer",
                json={
                    "decision": decision,
                    "revision": revision,
                    "comment": "checked on the visit",
                    "score_overrides": overrides or {},
                },
            )

        def decide(self, decision: str, overrides: dict[str, Any] | None = None) -> None:
            response = self.review(decision, max(self.revision, 1), overrides)
            if self.status is None:
                assert response.status_code == 404, response.text
            elif self.status == "submitted":
                assert response.status_code == 200, response.text
                reply = response.json()
                new = "approved" if decision == "approve" else "returned"
                assert reply["status"] == new and (self.status, new) in LEGAL
                assert reply["revision"] == self.revision + 1
                # Counted with and without an override, so that the paths the runs must take do not
                # depend on which of the two a seed happens to draw.
                world.seen[f"reviewer: submitted -> {new}"] += 1
                if overrides:
                    world.seen[f"reviewer: submitted -> {new} with an override"] += 1
                self.status, self.revision = new, reply["revision"]
            else:
                assert response.status_code == 409, response.text

        @precondition(lambda self: self.status == "submitted")
        @rule(
            decision=st.sampled_from(["approve", "return"]),
            override=st.none() | st.tuples(st.sampled_from(OVERRIDABLE), st.sampled_from([0.0, 0.5, 1.0])),
        )
        def reviewer_decides(self, decision: str, override: tuple[str, float] | None) -> None:
            self.decide(
                decision,
                {override[0]: {"score": override[1], "reason": "the register shows otherwise"}} if override else None,
            )

        @precondition(lambda self: self.status != "submitted")
        @rule(decision=st.sampled_from(["approve", "return"]))
        def reviewer_decides_too_early_or_too_late(self, decision: str) -> None:
            self.decide(decision)

        @precondition(lambda self: self.revision >= 2)
        @rule()
        def reviewer_decides_on_a_stale_revision(self) -> None:
            response = self.review("approve", self.revision - 1)
            assert response.status_code == 409, response.text

        # Invariants ----------------------------------------------------------------------------------

        @invariant()
        def the_server_agrees_with_the_model(self) -> None:
            response = world.call("GET", f"/api/v1/inspections/{self.id}", "inspector")
            if self.status is None:
                assert response.status_code == 404
                return
            held = response.json()
            assert held["status"] in STATUSES
            assert (held["status"], held["revision"]) == (self.status, self.revision)

        @invariant()
        def the_answer_rows_are_the_last_accepted_document(self) -> None:
            rows = world.answer_rows(self.id)
            if self.accepted is None:
                assert rows == {}
                return
            expected = {
                key: (answer.get("value"), answer.get("note") or "", sorted(answer.get("photos", [])))
                for key, answer in self.accepted["answers"].items()
            }
            assert rows == expected

        def teardown(self) -> None:
            verify = world.call("GET", "/api/v1/audit/verify", "admin")
            assert verify.status_code == 200 and verify.json()["ok"], verify.text

    return InspectionLifecycle


# The paths a run must have taken for its verdict to mean something.
MUST_SEE = (
    "inspector: None -> draft",
    "inspector: draft -> submitted",
    "reviewer: submitted -> approved",
    "reviewer: submitted -> returned",
    "inspector: returned -> submitted",
    "inspector refused: approved is read-only",
    "inspector refused: submitted is read-only",
    "stale write refused (stale)",
)


def run_machine(
    database_url: str,
    tmp_path: Path,
    executor: ProcessPoolExecutor,
    artifacts: Path,
    batches: int = 1,
    **limits: Any,
) -> None:
    """Run the machine; with `batches` > 1, run further batches (each with fresh random runs) only while
    some path of MUST_SEE has not been taken yet. Every run of every batch checks every invariant."""
    app = create_app(make_settings(database_url, tmp_path / "var"), executor=executor, run_migrations=False)
    loop = asyncio.new_event_loop()
    with TestClient(app, raise_server_exceptions=False) as http:
        world = World(http, database_url, loop)
        try:
            for batch in range(batches):
                if batch and all(world.seen[what] for what in MUST_SEE):
                    break
                run_state_machine_as_test(
                    machine_for(world),
                    settings=settings(
                        deadline=None,
                        database=None,
                        suppress_health_check=[HealthCheck.too_slow],
                        **{**limits, **({"derandomize": False} if batch else {})},
                    ),
                )
        finally:
            loop.run_until_complete(world.conn.close())
            loop.close()
    text = "\n".join(f"{what}: {n}" for what, n in sorted(world.seen.items()))
    print("\ninspection state machine, steps taken\n" + text)
    (artifacts / "state-machine.txt").write_text(text + "\n")
    missed = [what for what in MUST_SEE if not world.seen[what]]
    assert not missed, f"the runs never took these paths: {missed}"


def test_the_inspection_state_machine_holds_its_invariants_through_the_api(
    demo_database_url: str, tmp_path: Path, executor: ProcessPoolExecutor, artifacts: Path
):
    # A derandomized batch first. Which runs Hypothesis derives from it still changes with the checkout
    # (the same commit took every path in one clone and missed one in another), so the check that the
    # runs took every path of MUST_SEE cannot rest on one batch: up to three more batches of fresh
    # random runs are made while a path is missing. 80 runs of 20 steps took every path for 8 of 8
    # random seeds; 15 of 12 missed one for a third of them.
    run_machine(
        demo_database_url,
        tmp_path,
        executor,
        artifacts,
        batches=4,
        max_examples=80,
        stateful_step_count=20,
        derandomize=True,
    )


@pytest.mark.slow
@soak_only
def test_the_state_machine_holds_over_many_random_runs(
    demo_database_url: str, tmp_path: Path, executor: ProcessPoolExecutor, artifacts: Path
):
    run_machine(demo_database_url, tmp_path, executor, artifacts, max_examples=300, stateful_step_count=30)
