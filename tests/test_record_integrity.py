"""The full check of the trail also checks the inspection record an investigator relies on: revisions,
answers, document and score changed in the database behind Muaina's back are named by inspection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from subprocess import PIPE
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from server import db
from server.audit import queries as audit
from server.inspections import rules
from server.inspections.models import InspectionDoc
from tests.conftest import ROOT
from tests.review_fixtures import answers, make_ctx


async def _story(ctx) -> dict[str, uuid.UUID]:
    """Inspections as real use leaves them: one approved (with an override), one returned and made
    again from its draft, one a draft edited twice."""
    approved, rev = await ctx.submit()
    over = {"f_clean": {"score": 1, "reason": "The photos show a clean front desk"}}
    assert (await ctx.review(approved, "approve", rev, score_overrides=over)).status_code == 200
    returned, rev = await ctx.submit(values=answers(diary="no"))
    assert (await ctx.review(returned, "return", rev, comment="Check the diary")).status_code == 200
    await ctx.put(returned, status="draft", base=rev + 1, values=answers(diary="yes"))
    await ctx.put(returned, status="submitted", base=rev + 2, values=answers(diary="yes"))
    assert (await ctx.review(returned, "approve", rev + 3)).status_code == 200
    draft = uuid.uuid4()
    await ctx.put(draft, status="draft", values=answers(clean=1))
    await ctx.put(draft, status="draft", base=1, values=answers(clean=3))
    return {"approved": approved, "returned": returned, "draft": draft}


async def _verify(ctx, **params: Any) -> dict[str, Any]:
    reply = await ctx.client.get("/api/v1/audit/verify", await ctx.token("admin"), params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _found(reply: dict[str, Any]) -> set[tuple[str, int | None, str]]:
    return {(p["inspection_id"], p["revision"], p["problem"]) for p in reply["records"]["problems"]}


async def test_an_untouched_record_verifies_and_the_trail_holds_each_revisions_hash_and_score(client, conn):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    reply = await _verify(ctx)
    assert reply["ok"] is True and reply["first_bad"] is None, reply
    assert reply["records"] == {"ok": True, "inspections": 3, "problem_count": 0, "problems": []}
    assert reply["gaps"] == [] and reply["missing"] == 0
    head = await conn.fetchrow("SELECT seq, hash FROM audit_log WHERE seq = $1", reply["through"])
    assert reply["head_hash"] == head["hash"].hex()

    # Every revision's stored hash is in the row of the trail that made it, and so is the score.
    made = await conn.fetch(
        """SELECT r.inspection_id, r.revision, r.body_hash, a.data
             FROM inspection_revisions r JOIN audit_log a
               ON a.entity_id = r.inspection_id::text
              AND (a.data -> 'revision' = to_jsonb(r.revision) AND a.action LIKE 'inspection.%'
                   OR a.data -> 'new_revision' = to_jsonb(r.revision) AND a.action LIKE 'review.%')"""
    )
    assert len(made) == await conn.fetchval("SELECT count(*) FROM inspection_revisions") == 9
    assert all(m["data"]["body_hash"] == m["body_hash"].hex() for m in made)
    approved = await conn.fetchrow("SELECT score_percent, grade FROM inspections WHERE id = $1", ids["approved"])
    review = next(m["data"] for m in made if m["inspection_id"] == ids["approved"] and m["revision"] == 2)
    assert (review["percent_after"], review["grade"]) == (approved["score_percent"], approved["grade"])
    first = next(m["data"] for m in made if m["inspection_id"] == ids["approved"] and m["revision"] == 1)
    assert first["score_percent"] == review["percent_before"] != review["percent_after"]


async def _untriggered(conn, *statements: tuple[str, Any]) -> None:
    """Someone with the database's credentials, as the audit did: the revisions' guard switched off."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE inspection_revisions DISABLE TRIGGER ALL")
        for sql, *args in statements:
            await conn.execute(sql, *args)
        await conn.execute("ALTER TABLE inspection_revisions ENABLE TRIGGER ALL")


def _rehashed(document: dict[str, Any]) -> bytes:
    return rules.body_hash(rules.canonical(msgspec.convert(document, InspectionDoc)))


async def _revision_made_consistent(conn, inspection_id: uuid.UUID) -> None:
    """Revision 1 edited, and its hash recomputed so it agrees with its new document."""
    doc = await conn.fetchval(
        "SELECT document FROM inspection_revisions WHERE inspection_id = $1 AND revision = 1", inspection_id
    )
    doc["answers"]["l_diary"] = {"value": "yes", "note": None, "photos": []}
    await _untriggered(
        conn,
        (
            "UPDATE inspection_revisions SET document = $2, body_hash = $3 WHERE inspection_id = $1 AND revision = 1",
            inspection_id,
            doc,
            _rehashed(doc),
        ),
    )


# Each tampering as the audit did it, and what the check must name: (inspection, revision, problem).
TAMPERING = [
    pytest.param(
        [("UPDATE answers SET value = '\"no\"' WHERE inspection_id = $1 AND item_key = 'l_diary'",)],
        [("approved", 2, "answers_differ")],
        id="an approved inspection's answer rows",
    ),
    pytest.param(
        [("UPDATE inspections SET score_percent = 99.5, grade = 'A' WHERE id = $1",)],
        [("approved", 2, "score_differs")],
        id="an approved inspection's score and grade",
    ),
    pytest.param(
        [("UPDATE inspections SET document = jsonb_set(document, '{answers,l_diary,value}', '\"no\"') WHERE id = $1",)],
        [("approved", 2, "current_differs")],
        id="an approved inspection's document",
    ),
    pytest.param(
        [
            ("UPDATE answers SET value = '\"no\"' WHERE inspection_id = $1 AND item_key = 'l_diary'",),
            (
                "UPDATE inspections SET document = jsonb_set(document, '{answers,l_diary,value}', '\"no\"') WHERE id = $1",
            ),
        ],
        [("approved", 2, "answers_differ"), ("approved", 2, "current_differs")],
        id="answers and document together",
    ),
]


@pytest.mark.parametrize(("statements", "expected"), TAMPERING)
async def test_an_inspection_changed_in_the_database_is_named_by_the_full_check(client, conn, statements, expected):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    async with conn.transaction():
        for (sql,) in statements:
            await conn.execute(sql, ids["approved"])
    reply = await _verify(ctx)
    assert (reply["ok"], reply["first_bad"]) == (False, None)  # the chain is intact; the record is not
    assert _found(reply) == {(str(ids[name]), revision, problem) for name, revision, problem in expected}
    assert reply["records"]["problem_count"] == len(expected)


async def test_a_revision_edited_or_deleted_with_the_guard_switched_off_is_named(client, conn):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    approved, returned, draft = ids["approved"], ids["returned"], ids["draft"]
    await _untriggered(
        conn,
        # A document edited, its hash left as it was.
        (
            """UPDATE inspection_revisions SET document = jsonb_set(document, '{answers,f_clean,value}', '5')
                WHERE inspection_id = $1 AND revision = 1""",
            approved,
        ),
        # A middle revision (the return) deleted.
        ("DELETE FROM inspection_revisions WHERE inspection_id = $1 AND revision = 2", returned),
        # The newest revision deleted and the inspection put back to the one before: nothing left in the
        # tables says revision 2 ever was; the trail does.
        ("DELETE FROM inspection_revisions WHERE inspection_id = $1 AND revision = 2", draft),
        (
            """UPDATE inspections i SET revision = 1, document = r.document, body_hash = r.body_hash
                 FROM inspection_revisions r WHERE i.id = $1 AND r.inspection_id = i.id AND r.revision = 1""",
            draft,
        ),
        ("DELETE FROM answers WHERE inspection_id = $1", draft),
        (
            """INSERT INTO answers (inspection_id, item_key, section_key, value, note, photo_ids)
               SELECT $1, d.key, 'front', NULLIF(d.value -> 'value', 'null'), d.value ->> 'note', '{}'
                 FROM inspections i, jsonb_each(i.document -> 'answers') d WHERE i.id = $1""",
            draft,
        ),
    )
    reply = await _verify(ctx)
    found = _found(reply)
    assert reply["ok"] is False and reply["first_bad"] is None
    assert (str(approved), 1, "revision_altered") in found
    assert (str(returned), 2, "revision_missing") in found
    assert (str(draft), 2, "revision_missing") in found
    # The rolled-back draft's score is the first revision's, and its trail row says another.
    assert {p for p in found if p[0] == str(draft)} <= {
        (str(draft), 2, "revision_missing"),
        (str(draft), 1, "score_differs"),
    }


async def test_a_revision_edited_with_its_hash_recomputed_is_named_by_the_hash_the_trail_kept(client, conn):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    await _revision_made_consistent(conn, ids["returned"])
    reply = await _verify(ctx)
    assert reply["ok"] is False
    assert _found(reply) == {(str(ids["returned"]), 1, "revision_not_as_audited")}


async def test_the_quick_check_names_a_record_written_since_and_carries_the_full_checks_finding(client, conn):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    assert (await _verify(ctx))["ok"] is True
    # Written since the full check, then altered: the quick check looks at it.
    later, rev = await ctx.submit()
    await conn.execute("UPDATE inspections SET score_percent = 100 WHERE id = $1", later)
    quick = await _verify(ctx, since_last_check="true")
    assert quick["ok"] is False and quick["last_full"]["records_ok"] is True
    assert _found(quick) == {(str(later), rev, "score_differs")} and quick["records"]["inspections"] == 1
    # Altered before: only the next full check sees it, and from then on the quick check says so.
    await conn.execute("UPDATE inspections SET score_percent = 100 WHERE id = $1", later)
    await conn.execute(
        "UPDATE inspections SET grade = CASE WHEN grade = 'A' THEN 'D' ELSE 'A' END WHERE id = $1", ids["approved"]
    )
    full = await _verify(ctx)
    assert full["ok"] is False and (str(ids["approved"]), 2, "score_differs") in _found(full)
    quick = await _verify(ctx, since_last_check="true")
    assert quick["ok"] is False and quick["first_bad"] is None
    assert (quick["last_full"]["records_ok"], quick["last_full"]["record_problems"]) == (False, 2)


async def _deleted_outright(conn, inspection_id: uuid.UUID) -> None:
    """The inspection, its revisions and answers deleted with the guards switched off."""
    async with conn.transaction():
        for table in ("inspections", "inspection_revisions", "answers"):
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        await conn.execute("DELETE FROM answers WHERE inspection_id = $1", inspection_id)
        await conn.execute("DELETE FROM inspection_revisions WHERE inspection_id = $1", inspection_id)
        await conn.execute("DELETE FROM inspections WHERE id = $1", inspection_id)
        for table in ("inspections", "inspection_revisions", "answers"):
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


async def test_an_inspection_deleted_outright_is_named_by_the_full_and_the_quick_check(client, conn):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    await _deleted_outright(conn, ids["returned"])
    full = await _verify(ctx)
    assert full["ok"] is False and _found(full) == {(str(ids["returned"]), None, "inspection_missing")}
    # Written since that check and then deleted: the quick check, which looks at what was written since.
    later, _ = await ctx.submit()
    await _deleted_outright(conn, later)
    quick = await _verify(ctx, since_last_check="true")
    assert quick["ok"] is False and _found(quick) == {(str(later), None, "inspection_missing")}


async def test_a_check_recorded_by_anyone_but_an_admin_or_the_command_line_is_not_gone_on_from(client, conn):
    ctx = await make_ctx(client)
    await _story(ctx)
    oldest = await conn.fetchval("SELECT min(seq) FROM audit_log")
    async with conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET ip = '10.9.9.9' WHERE seq = $1", oldest)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    head = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    forged = {"ok": True, "checked": head["seq"], "first_bad": None, "through": head["seq"], "hash": head["hash"].hex()}
    reviewer = SimpleNamespace(id=ctx.world.users["reviewer_a"], username="reviewer_a")
    async with conn.transaction():
        await audit.record(conn, audit.VERIFIED, actor=reviewer, data=forged)
    quick = await _verify(ctx, since_last_check="true")
    assert (quick["ok"], quick["first_bad"], quick["after"], quick["last_full"]) == (False, oldest, 0, None)
    # An admin's record of the same is gone on from (what the quick check is for).
    admin = SimpleNamespace(id=ctx.world.users["admin"], username="admin")
    async with conn.transaction():
        await audit.record(conn, audit.VERIFIED, actor=admin, data={**forged, "through": head["seq"] + 1})
    assert (await audit.last_full_check(conn))[0].through == head["seq"] + 1


def test_a_deleted_entry_hidden_by_relinking_is_reported_as_a_gap_and_the_head_is_printed(database_url, tmp_path):
    async def write_and_relink() -> tuple[int, str]:
        conn = await db.connect(database_url)
        try:
            for i in range(5):
                async with conn.transaction():
                    await audit.record(conn, "test.write", data={"i": i})
            rows = await conn.fetch("SELECT * FROM audit_log ORDER BY seq")
            gone = rows[2]["seq"]
            prev = rows[1]["hash"]
            async with conn.transaction():
                await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
                await conn.execute("DELETE FROM audit_log WHERE seq = $1", gone)
                for r in rows[3:]:
                    content = audit.canonical(
                        r["seq"], r["at"], r["actor_id"], r["actor"], r["action"], r["entity"], r["entity_id"],
                        r["data"], r["ip"],
                    )  # fmt: skip
                    relinked = audit.chain_hash(prev, content)
                    await conn.execute(
                        "UPDATE audit_log SET prev_hash = $2, hash = $3 WHERE seq = $1", r["seq"], prev, relinked
                    )
                    prev = relinked
                await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
            return gone, prev.hex()
        finally:
            await conn.close()

    gone, head_hash = asyncio.run(write_and_relink())
    (tmp_path / "photos").mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "server", "verify-audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr  # a gap is a warning: failed commits leave them too
    lines = done.stdout.splitlines()
    assert lines[0] == "the audit trail is intact: 4 entries checked"
    assert lines[1].startswith(f"head: entry #5 sha256 {head_hash} ")
    assert lines[2].startswith(f"warning: 1 entry number(s) are not in the trail (#{gone}..#{gone})")
    assert lines[3] == "the inspection records match the trail: 0 inspections checked"


async def test_the_command_names_an_altered_inspection_and_fails(client, conn, tmp_path):
    ctx = await make_ctx(client)
    ids = await _story(ctx)
    await conn.execute(
        "UPDATE answers SET value = '\"no\"' WHERE inspection_id = $1 AND item_key = 'l_diary'", ids["approved"]
    )
    (tmp_path / "photos").mkdir()
    env = {**os.environ, "DATABASE_URL": client.database_url, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "verify-audit", cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = (text.decode() for text in await command.communicate())
    assert command.returncode == 1 and "Traceback" not in err, err
    assert out.startswith("the audit trail is intact: ")
    assert f"inspection {ids['approved']} revision 2: the answer rows are not" in err
    recorded = await conn.fetchval("SELECT data FROM audit_log WHERE action = 'audit.verified'")
    assert (recorded["ok"], recorded["records_ok"], recorded["record_problems"]) == (True, False, 1)


async def test_a_negative_zero_in_a_document_does_not_make_its_revision_look_altered(client, conn):
    from server.audit.records import hashes_to

    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit(location={"lat": -0.0, "lon": -0.0, "accuracy_m": 0.0})
    stored = await conn.fetchrow(
        "SELECT document::text AS document, body_hash FROM inspection_revisions WHERE inspection_id = $1",
        inspection_id,
    )
    assert '"lat": 0.0' in stored["document"]  # jsonb dropped the sign
    assert hashes_to(stored["document"], bytes(stored["body_hash"]))
    assert not hashes_to(stored["document"].replace('"accuracy_m": 0.0', '"accuracy_m": 1.0'), stored["body_hash"])
    assert (await _verify(ctx))["records"]["ok"] is True


async def test_a_revision_written_in_an_older_shape_of_the_document_is_not_called_altered(client, conn):
    """The check hashes the stored text as it was written, not as today's InspectionDoc would write it:
    the day the document gains or loses a field, every older revision would otherwise look altered."""
    from server.audit.records import hashes_to

    ctx = await make_ctx(client)
    inspection_id, _ = await ctx.submit()
    stored = await conn.fetchval(
        "SELECT document::text FROM inspection_revisions WHERE inspection_id = $1", inspection_id
    )
    # As a revision written by a version whose document had a field this one does not (and lacked
    # one it has), stored with the hash that version gave it.
    older = msgspec.json.decode(stored)
    older["device_note"] = "written by an older app"
    del older["finished_at"]
    older_text = rules.canonical(older)
    assert hashes_to(older_text.decode(), rules.body_hash(older_text))
    assert not hashes_to(older_text.decode().replace("older app", "other app"), rules.body_hash(older_text))
