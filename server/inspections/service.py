"""PUT /api/v1/inspections/{id}: the idempotent, optimistic sync of one whole inspection document.

The decision, in order (DESIGN §5, §9):
1. The id exists and this exact body produced its current revision → a replay: 200, the current reply,
   nothing written, nothing audited. The body produced an *earlier* revision (a late duplicate of a
   send the device already had acknowledged, overtaken by its own next edit) → also a replay, answered
   with the current reply: the device's work is all in, so a 409 would only alarm it.
2. A new id → INSERT … ON CONFLICT DO NOTHING; if a concurrent send won the race, decide again.
3. An existing id edited from its current revision → UPDATE … WHERE revision = base: a new revision.
4. Otherwise 409 with `server_copy`: a stale base (another device got in first) or an inspection that
   is read-only to its inspector (submitted, approved). The refused body is kept in sync_conflicts.

Only the inspection's own inspector writes it. Another inspector who can see the station gets 403 (the
id is taken and will never be theirs); one who cannot see it gets 404, as for anything out of scope.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.assignments.queries import complete_found
from server.audit import queries as audit
from server.auth.models import Principal
from server.auth.queries import signed_in
from server.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, Unauthorized
from server.inspections import hooks, queries, rules
from server.inspections.models import InspectionDoc, InspectionOut, Location, Presence, ScoreSummary
from server.inspections.queries import Written
from server.structs import inspection_clock_off
from server.templates.models import Definition, Score
from server.templates.scoring import check_and_score

# Concurrent sends to one id resolve in at most two rounds (the loser of a race sees the winner's row);
# a third covers a write landing between the lock and the decision. Beyond that, ask the device to retry.
_ATTEMPTS = 3

# The body this process last applied or answered for an inspection, by the inspection's id: its exact
# bytes, the hash of its canonical form and its part of the reply, encoded. The last two are functions of
# the bytes alone, so an entry is never stale; whether a body is a replay is still decided by the
# database, every time. A phone resends the very bytes it sent until it hears back, so its retries are
# answered from here without decoding, hashing the canonical form or encoding the answers again. A
# lookup compares the bytes themselves, a memcmp: hashing 30 KB to find the entry cost more than the
# rest of the lookup. Bounded in bytes, not entries: a 300-answer inspection is about 50 KB, but one
# with a long note on every item nears the 2 MiB body limit, and 256 of those held 650 MB a process.
# A body over _SEEN_ENTRY_MAX is not kept (its replay decodes and hashes, as any first send does).
_SEEN: OrderedDict[UUID, tuple[bytes, bytes, bytes]] = OrderedDict()
_SEEN_BUDGET = 32 * 1024 * 1024
_SEEN_ENTRY_MAX = 512 * 1024
_seen_bytes = 0

# Published versions never change, so a decoded definition is good for the life of the process.
_TEMPLATES: OrderedDict[UUID, rules.TemplateInfo] = OrderedDict()
_TEMPLATES_MAX = 64


async def template_info(conn: Connection, version_id: UUID) -> rules.TemplateInfo:
    info = _TEMPLATES.get(version_id)
    if info is None:
        text = await queries.definition_text(conn, version_id)
        if text is None:
            raise NotFound("no such template version")
        info = rules.template_info(msgspec.json.decode(text, type=Definition))
        _TEMPLATES[version_id] = info
        if len(_TEMPLATES) > _TEMPLATES_MAX:
            _TEMPLATES.popitem(last=False)
    else:
        _TEMPLATES.move_to_end(version_id)
    return info


async def sync_inspection(
    conn: Connection, user: Principal, inspection_id: UUID, doc: InspectionDoc, *, radius_m: float, ip: str | None
) -> tuple[bool, InspectionOut]:
    """Apply one PUT; returns (created, reply)."""
    user.require("inspector")
    text = rules.canonical(doc)
    digest = rules.body_hash(text)
    return await _sync(conn, user, inspection_id, doc, text, digest, None, radius_m, ip)


async def sync_inspection_as(
    conn: Connection,
    token_hash: bytes,
    inspection_id: UUID,
    doc: InspectionDoc,
    *,
    radius_m: float,
    ip: str | None,
    raw: bytes | None = None,
) -> tuple[bool, InspectionOut]:
    """sync_inspection for the caller of a session token, checked in the same round trip as the first
    read of the inspection's state: a replay costs that one round trip. Unauthorized without a valid
    session, as the `user` dependency would answer. With `raw`, the body's exact bytes, a successful
    write or replay is remembered for replay_bytes."""
    text = rules.canonical(doc)
    digest = rules.body_hash(text)
    state = await queries.load_state_as(
        conn, token_hash, inspection_id, doc.station_id, doc.template_version_id, digest, doc.base_revision
    )
    if state is None:
        raise Unauthorized("the session has expired or was revoked; sign in again")
    user = (await signed_in(conn, token_hash, state, prefix="p_")).require("inspector")
    result = await _sync(conn, user, inspection_id, doc, text, digest, state, radius_m, ip)
    if raw is not None:
        remember(inspection_id, raw, digest, doc)
    return result


async def replay_bytes(conn: Connection, token_hash: bytes, inspection_id: UUID, raw: bytes) -> bytes | None:
    """The reply (JSON bytes) when `raw` is exactly a body this process has seen and it produced the
    inspection's current revision; None when that cannot be told without decoding the body (then
    sync_inspection_as decides). One round trip: the caller and the inspection in one statement."""
    seen = _SEEN.get(inspection_id)
    if seen is None or seen[0] != raw:
        return None
    _, digest, document_part = seen
    row = await queries.replay_state(conn, token_hash, inspection_id)
    if row is None:
        raise Unauthorized("the session has expired or was revoked; sign in again")
    user = (await signed_in(conn, token_hash, row, prefix="p_")).require("inspector")
    if row["id"] is None or row["inspector_id"] != user.id or row["body_hash"] != digest:
        return None
    return rules.spliced_reply(row, document_part)


def remember(inspection_id: UUID, raw: bytes, digest: bytes, doc: InspectionDoc) -> None:
    """Keep what a replay of these exact bytes to this inspection needs (see _SEEN)."""
    global _seen_bytes
    seen = _SEEN.get(inspection_id)
    if seen is not None and seen[0] == raw:
        _SEEN.move_to_end(inspection_id)
        return
    if seen is not None:
        del _SEEN[inspection_id]
        _seen_bytes -= _entry_size(seen)
    if len(raw) > _SEEN_ENTRY_MAX:
        return
    entry = (raw, digest, rules.document_part(doc))
    _SEEN[inspection_id] = entry
    _seen_bytes += _entry_size(entry)
    while _seen_bytes > _SEEN_BUDGET:
        _, old = _SEEN.popitem(last=False)
        _seen_bytes -= _entry_size(old)


def _entry_size(entry: tuple[bytes, bytes, bytes]) -> int:
    return sum(len(part) for part in entry)


async def _sync(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    state: Record | None,
    radius_m: float,
    ip: str | None,
) -> tuple[bool, InspectionOut]:
    for _ in range(_ATTEMPTS):
        if state is None:
            state = await queries.load_state(
                conn, user, inspection_id, doc.station_id, doc.template_version_id, digest, doc.base_revision
            )
        if state["id"] is None:
            if state["taken"]:
                raise NotFound("no inspection with this id in your scope")
            result = await _create(conn, user, inspection_id, doc, text, digest, state, radius_m, ip)
        else:
            result = await _change(conn, user, inspection_id, doc, text, digest, state, radius_m, ip)
        if result is not None:
            return result
        state = None  # a concurrent write got in between: read the state again
    raise Conflict("the inspection kept changing while this request was applied; send it again")


async def _create(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    state: Record,
    radius_m: float,
    ip: str | None,
) -> tuple[bool, InspectionOut] | None:
    if state["s_id"] is None:
        raise NotFound("no station with this id in your scope")
    errors = _version_problems(state)
    if doc.base_revision != 0:
        errors.append(
            FieldError(field="base_revision", message="must be 0: the server has no inspection with this id yet")
        )
    if errors:
        raise Invalid("the inspection cannot be created as sent", errors=errors)
    rules.inspector_transition(None, doc.status)
    w, where = await _prepare(conn, user, inspection_id, doc, text, digest, state, radius_m, "create", ip)
    if w.status == "submitted":
        async with conn.transaction():
            row = await queries.insert_inspection(conn, w)
            if row is not None:
                await _after_write(conn, w, row, radius_m, created=True)
    else:
        # A new draft is one statement (the inspection, its revision, answers and audit row), atomic on
        # its own: no BEGIN and COMMIT round trips around it.
        row = await queries.insert_inspection(conn, w)
    if row is None:
        return None  # a concurrent send of this id committed first: decide again against its row
    missing = sorted(UUID(p) for p in w.answers.photo_ids)
    return True, _reply(row, doc, w.score, missing, where)


async def _change(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    state: Record,
    radius_m: float,
    ip: str | None,
) -> tuple[bool, InspectionOut] | None:
    if state["inspector_id"] != user.id:
        raise Forbidden("this inspection belongs to another inspector")
    if state["body_hash"] == digest:
        return False, stored_reply(state, doc)
    if state["replayed_earlier"]:
        # An acknowledgement, like every PUT reply: without the review (see InspectionOut.review).
        return False, await current_reply(conn, user, inspection_id, with_review=False)
    errors = [
        FieldError(field=name, message="cannot change once the inspection exists")
        for name, sent in (("station_id", doc.station_id), ("template_version_id", doc.template_version_id))
        if sent != state[name]
    ]
    if errors:
        raise Invalid("the inspection cannot be changed as sent", errors=errors)
    try:
        rules.inspector_transition(state["status"], doc.status)
    except Conflict as refused:
        await _refuse(conn, user, inspection_id, doc, text, digest, state, "read_only", refused.detail, ip)
    if doc.base_revision != state["revision"]:
        detail = (
            f"this inspection is at revision {state['revision']} on the server, and the document was "
            f"edited from revision {doc.base_revision}; merge with server_copy and send again"
        )
        await _refuse(conn, user, inspection_id, doc, text, digest, state, "stale", detail, ip)
    # Checked once the write could go ahead: a stale or read-only copy is answered with the server's
    # copy to merge with first (409), which carries the place the inspection keeps.
    stored = (
        Location(lat=state["i_lat"], lon=state["i_lon"], accuracy_m=state["i_accuracy_m"])
        if state["i_lat"] is not None
        else None
    )
    if errors := rules.place_problems(doc.location, stored, state["submitted_once"]):
        # `kept_location` says which place the inspection keeps (null: none), so that a phone whose copy
        # came by another (an older app added a fix to a returned inspection that had none) can take
        # it and send again rather than be refused for good (pwa/js/outbox.js keptPlace).
        raise Invalid(
            "the inspection cannot be changed as sent",
            errors=errors,
            extra={"kept_location": None if stored is None else msgspec.to_builtins(stored)},
        )
    w, where = await _prepare(conn, user, inspection_id, doc, text, digest, state, radius_m, "update", ip)
    async with conn.transaction():
        locked = await queries.lock_inspection(conn, inspection_id)
        if locked is None or locked["revision"] != doc.base_revision or locked["status"] != state["status"]:
            return None  # changed since it was read: decide again against the new row
        row = await queries.update_inspection(conn, inspection_id, doc.base_revision, w)
        if row is None:
            return None
        if locked["status"] == "returned":
            # Only a returned inspection has overrides in force that its inspector can write over (an
            # approved one is read-only to them): the new revision is scored afresh, draft or not.
            await queries.supersede_overrides(conn, inspection_id)
        await _after_write(conn, w, row, radius_m, created=False)
    return False, _reply(row, doc, w.score, list(row["missing_photos"]), where)


def _version_problems(state: Record) -> list[FieldError]:
    if state["tv_id"] is None:
        return [FieldError(field="template_version_id", message="is not a published template version")]
    if not state["tv_applies"]:
        return [
            FieldError(
                field="template_version_id",
                message=f"does not apply to this station (a {state['s_kind'].replace('_', ' ')})",
            )
        ]
    return []


async def _prepare(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    state: Record,
    radius_m: float,
    kind: str,
    ip: str | None,
) -> tuple[Written, Presence]:
    """Validate and score outside the transaction, so the transaction holds its locks only for SQL.

    Types and keys are checked on every write; completeness (required items, min_photos) at submit.
    Drafts are scored too: harmless, and a reviewer's tools can show progress. `kind` (create or
    update) names the write in its audit row, which the write's statement queues itself.
    """
    info = await template_info(conn, doc.template_version_id)
    problems, result = check_and_score(info.definition, doc.answers, submitting=doc.status == "submitted")
    problems = rules.time_problems(doc, datetime.now(UTC)) + problems
    if problems:
        raise Invalid(f"{len(problems)} problem(s) with the inspection; each is listed in errors", errors=problems)
    assert result is not None
    where = rules.presence(doc.location, state["s_lat"], state["s_lon"], radius_m)
    return written(
        user, inspection_id, doc, text, digest, info, result, where, state["tv_template_id"], kind, ip
    ), where


def written(
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    info: rules.TemplateInfo,
    result: Score,
    where: Presence,
    template_id: UUID,
    kind: str,
    ip: str | None,
) -> Written:
    """The columns a valid, scored document writes (`text` its canonical form, `digest` its hash)."""
    loc = doc.location
    summary = rules.score_summary(result)
    return Written(
        id=inspection_id,
        station_id=doc.station_id,
        template_version_id=doc.template_version_id,
        inspector_id=user.id,
        status=doc.status,
        body_hash=digest,
        document=text.decode(),
        started_at=doc.started_at,
        finished_at=doc.finished_at,
        lat=loc.lat if loc else None,
        lon=loc.lon if loc else None,
        accuracy_m=loc.accuracy_m if loc else None,
        distance_m=where.distance_m,
        far_from_station=where.far_from_station,
        score=summary,
        answers=rules.answer_columns(info, doc.answers, result),
        template_id=template_id,
        # The revision the write makes: its statement writes only when the base is still current.
        audit=write_audit(user, inspection_id, doc, doc.base_revision + 1, digest, summary, kind, ip),
    )


def write_audit(
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    revision: int,
    digest: bytes,
    score: ScoreSummary,
    kind: str,
    ip: str | None,
) -> audit.AuditValues:
    """The audit row of an inspection write (create or update) that makes `revision`.

    The revision's body hash and score travel in the chained row, so the full check of the trail
    (server/audit/records.py) can tell the stored revision, and the score beside it, from one edited
    in the database afterwards.
    """
    return audit.queued(
        "inspection.submit" if doc.status == "submitted" else f"inspection.{kind}",
        actor=user,
        entity="inspection",
        entity_id=inspection_id,
        data={
            "revision": revision,
            "status": doc.status,
            "station_id": str(doc.station_id),
            "body_hash": digest.hex(),
            "score_percent": score.percent,
            "grade": score.grade,
        },
        ip=ip,
    )


async def _after_write(conn: Connection, w: Written, row: Record, radius_m: float, *, created: bool) -> None:
    """Inside the write's transaction, after its statement (which also queued the audit row and, for a
    submission, found and locked the open assignment it completes): for a submission, completing that
    assignment if there is one, and the submission hooks.

    Every statement here is a round trip inside the transaction, and under load each one also waits
    for the event loop, busy with other requests: the transaction stays open for all of it, and the
    rows it has written or locked (the rollups' shared rows above all) wait with it. That is why the
    audit row and the assignment lookup travel with the write itself rather than as statements of
    their own, and why the hooks are told what the submission already knows (hooks.Submission):
    whether the inspection is new and whether a critical item failed, so that they can skip
    statements that would find nothing. The submission hooks come last because the rollups they
    update are rows every submission in the district and region shares, locked until commit
    (rollup.LOCK_ORDER).
    """
    if w.status == "submitted":
        await complete_found(conn, row["assignment_id"], row["assignment_schedule_id"], w.id)
        await hooks.on_submitted(
            conn,
            hooks.Submission(
                w.id,
                created=created,
                critical_failed=w.score.critical_failed,
                radius_m=radius_m,
                accuracy_m=w.accuracy_m if w.lat is not None else None,
            ),
        )


async def _refuse(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    doc: InspectionDoc,
    text: bytes,
    digest: bytes,
    state: Record,
    reason: str,
    detail: str,
    ip: str | None,
) -> None:
    """Keep the refused body (once), then answer 409 with the server's copy to merge with."""
    async with conn.transaction():
        if await queries.record_conflict(
            conn, inspection_id, reason, doc.base_revision, state["revision"], digest, text.decode(), user.id
        ):
            await audit.record(
                conn,
                "inspection.conflict",
                actor=user,
                entity="inspection",
                entity_id=inspection_id,
                data={"reason": reason, "base_revision": doc.base_revision, "server_revision": state["revision"]},
                ip=ip,
            )
    raise Conflict(detail, extra={"reason": reason, "server_copy": await current_reply(conn, user, inspection_id)})


async def current_reply(
    conn: Connection, user: Principal, inspection_id: UUID, *, with_review: bool = True
) -> InspectionOut:
    """The stored inspection as `user` may read it (404 outside their scope), with its latest review
    unless `with_review` is False (a PUT acknowledgement; see InspectionOut.review)."""
    row = await queries.get_inspection(conn, user, inspection_id)
    if row is None:
        raise NotFound("no inspection with this id in your scope")
    doc = msgspec.json.decode(row["document"], type=InspectionDoc)
    reply = stored_reply(row, doc)
    if with_review:
        reply.review = await hooks.latest_review(conn, inspection_id)
        reply.phone_clock_off = inspection_clock_off(
            doc.started_at, doc.finished_at, row["created_at"], row["submitted_at"], row["updated_at"]
        )
    return reply


def stored_reply(row: Record, doc: InspectionDoc) -> InspectionOut:
    """The reply for a stored inspection: its row (as _REPLY selects it) and its document."""
    summary = msgspec.convert(row["score"], ScoreSummary) if row["score"] is not None else None
    where = Presence(
        distance_m=row["distance_m"], far_from_station=row["far_from_station"], location_missing=row["location_missing"]
    )
    return _reply(row, doc, summary, list(row["missing_photos"]), where)


def _reply(
    row: Record, doc: InspectionDoc, summary: ScoreSummary | None, missing: list[UUID], where: Presence
) -> InspectionOut:
    return InspectionOut(
        id=row["id"],
        inspector_id=row["inspector_id"],
        station_id=row["station_id"],
        template_version_id=row["template_version_id"],
        revision=row["revision"],
        status=row["status"],
        started_at=doc.started_at,
        finished_at=doc.finished_at,
        location=doc.location,
        answers=doc.answers,
        score=summary,
        missing_photos=missing,
        presence=where,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
    )
