"""A review decision as one transaction: lock, check, take out of the rollups, decide, put back, audit."""

from __future__ import annotations

from uuid import UUID

from asyncpg import Connection

from server.actions import queries as actions
from server.audit import queries as audit
from server.auth.models import Principal
from server.dashboards import rollup
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.inspections import service as inspections
from server.review import queries
from server.review.models import ReviewIn, ReviewResult
from server.review.rules import NEXT_STATUS, check_review, conflict_reason, may_review, overridden_score, stored_score
from server.templates.models import to_definition


async def review(
    conn: Connection, user: Principal, inspection_id: UUID, body: ReviewIn, ip: str | None
) -> ReviewResult:
    if user.role not in ("reviewer", "admin"):
        raise Forbidden("only reviewers and administrators review inspections")
    async with conn.transaction():
        row = await queries.lock_inspection(conn, user.scope_args(), inspection_id)
        if row is None:
            raise NotFound("inspection not found")
        if problem := may_review(user.role, user.id, row["inspector_id"]):
            raise Forbidden(problem)
        if problem := conflict_reason(row["status"], row["revision"], body.revision):
            # The current inspection travels with the 409, so the reviewer's screen can show what changed.
            current = await inspections.current_reply(conn, user, inspection_id)
            raise Conflict(problem, extra={"inspection": current})
        defn = to_definition(row["definition"])
        answers = (row["document"] or {}).get("answers") or {}
        if errors := check_review(defn, answers, body):
            raise Invalid(
                "the review is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors=errors
            )

        # An approval may open an action (with overrides) or withdraw one its inspection opened, both of
        # which stamp sync_state, after the rollups below have locked their rows: take sync_state first
        # (rollup.LOCK_ORDER).
        approving = NEXT_STATUS[body.decision] == "approved"
        withdraws = approving and await actions.has_open_auto(conn, inspection_id)
        if approving and (body.score_overrides or withdraws):
            await rollup.take_sync_state(conn)
        # Take the inspection out of the rollups before anything about it changes; put it back after.
        await rollup.apply_inspection(conn, inspection_id, -1)
        status = NEXT_STATUS[body.decision]
        new_revision = row["revision"] + 1
        percent, grade, critical, score_doc = (row["score_percent"], row["grade"], row["critical_failed"], row["score"])
        override_rows: list[tuple[str, float | None, float, str]] = []
        if body.score_overrides:
            wanted = {key: o.score for key, o in body.score_overrides.items()}
            plain, new = overridden_score(defn, answers, wanted)
            override_rows = [
                (key, plain.items[key].score, o.score, o.reason.strip())
                for key, o in sorted(body.score_overrides.items())
            ]
            shown = {
                key: {"original": original, "score": value, "reason": reason, "reviewer_id": str(user.id)}
                for key, original, value, reason in override_rows
            }
            percent, grade, critical = new.percent, new.grade, new.critical_failed
            score_doc = stored_score(new, row["score"], shown)
        saved = await queries.insert_review(
            conn,
            inspection_id=inspection_id,
            reviewer_id=user.id,
            decision=body.decision,
            revision=row["revision"],
            new_revision=new_revision,
            comment=body.comment.strip(),
            item_comments={k: v for k, v in body.item_comments.items() if v.strip()},
            percent_before=row["score_percent"],
            percent_after=percent,
        )
        if override_rows:
            await queries.insert_overrides(
                conn, review_id=saved["id"], inspection_id=inspection_id, reviewer_id=user.id, rows=override_rows
            )
        await queries.apply_decision(
            conn,
            inspection_id=inspection_id,
            status=status,
            revision=new_revision,
            percent=percent,
            grade=grade,
            critical_failed=critical,
            score=score_doc,
            body_hash=row["body_hash"],
            document=row["document"],
            actor_id=user.id,
        )
        await rollup.apply_inspection(conn, inspection_id, +1)
        withdrawn = []
        if override_rows and status == "approved":
            # An override can fail a critical item the inspector passed: that needs an action too.
            await actions.create_for_critical_failures(conn, inspection_id)
            # And it can pass a critical item the inspector failed: the action that failure opened has
            # lost its cause, and is withdrawn if nobody has worked on it yet (else a person decides).
            passed = [key for key, _, value, _ in override_rows if value > 0]
            if passed:
                withdrawn = await actions.withdraw_passed(conn, inspection_id, passed, user.id, "override_passed")
        if withdraws:
            # So has one whose failure the inspector corrected after a return (a mis-tapped "no"): the
            # approval of the corrected inspection withdraws it likewise. Nothing was fixed at the
            # station; the failure is no longer in the record.
            corrected = await actions.corrected_items(conn, inspection_id)
            if corrected:
                withdrawn += await actions.withdraw_passed(conn, inspection_id, corrected, user.id, "answer_corrected")

        for key, original, value, reason in override_rows:
            await audit.record(
                conn,
                "review.override",
                actor=user,
                entity="inspection",
                entity_id=inspection_id,
                data={
                    "review_id": str(saved["id"]),
                    "item_key": key,
                    "original": original,
                    "score": value,
                    "reason": reason,
                },
                ip=ip,
            )
        for action in withdrawn:
            await audit.record(
                conn,
                "action.cancel",
                actor=user,
                entity="action",
                entity_id=action["id"],
                data={
                    "status_from": "open",
                    "status_to": "cancelled",
                    "cancel_reason": action["cancel_reason"],
                    "inspection_id": str(inspection_id),
                    "item_key": action["item_key"],
                    "review_id": str(saved["id"]),
                },
                ip=ip,
            )
        await audit.record(
            conn,
            f"review.{body.decision}",
            actor=user,
            entity="inspection",
            entity_id=inspection_id,
            data={
                "review_id": str(saved["id"]),
                "revision": row["revision"],
                "new_revision": new_revision,
                "comment": body.comment,
                "item_comments": sorted(body.item_comments),
                "overrides": len(override_rows),
                "percent_before": row["score_percent"],
                "percent_after": percent,
                # What the new revision holds, for the full check of the trail (server/audit/records.py).
                "body_hash": bytes(row["body_hash"]).hex(),
                "grade": grade,
            },
            ip=ip,
        )
        result = await queries.get_review(conn, saved["id"])
    return ReviewResult(
        review=result,
        inspection_id=inspection_id,
        status=status,
        revision=new_revision,
        score_percent=percent,
        grade=grade,
        critical_failed=critical,
    )
