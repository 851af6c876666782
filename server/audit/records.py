"""The inspection record checked against its revisions and the audit trail: the second half of a full
check of the trail (queries.verify_and_record), after the chain itself.

The chain proves the trail was not altered; this proves the record an investigator reads was not
either. For each inspection: its revisions are numbered 1..n with none missing (n its current revision,
or a higher one the trail says was written); each revision's document still hashes to its stored
body_hash, by the same function that made it (inspections.rules.canonical and body_hash); that hash is
the one the trail recorded for the revision (rows written before the trail recorded hashes have none,
and are passed over); the inspection's document, body hash, status and answer rows are its current
revision's; and its score and grade are the ones the trail recorded for that revision.

Inspections are walked in pages by id (a keyset), each page's reads in one snapshot, so a write that
commits during the walk is seen whole or not at all, and memory holds one page at a time.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.audit.models import Problem, RecordCheck, RecordProblem
from server.inspections import rules

PAGE = 100
LISTED = 100

# The audit rows that make a revision, and which of their fields name it and its score.
_MAKES = ("inspection.create", "inspection.update", "inspection.submit", "review.approve", "review.return")

# The answer rows and the answers of the current revision's document, each as one object of item key ->
# [value, note, photos], compared in the database: answers are written from the document exactly so
# (an unanswered value as NULL, photos in the document's order).
_HEADS = """
SELECT i.id, i.revision, i.score_percent, i.grade,
       r.revision IS NOT NULL AND r.body_hash = i.body_hash AND r.status = i.status
           AND r.document = i.document AS current_agrees,
       CASE WHEN r.revision IS NULL THEN true
            WHEN jsonb_typeof(COALESCE(r.document -> 'answers', '{}')) <> 'object' THEN false
            ELSE COALESCE((SELECT jsonb_object_agg(a.item_key, jsonb_build_array(a.value, a.note, to_jsonb(a.photo_ids)))
                             FROM answers a WHERE a.inspection_id = i.id), '{}')
                 = COALESCE((SELECT jsonb_object_agg(d.key, jsonb_build_array(NULLIF(d.value -> 'value', 'null'),
                                                                               d.value ->> 'note',
                                                                               COALESCE(d.value -> 'photos', '[]')))
                               FROM jsonb_each(COALESCE(r.document -> 'answers', '{}')) d), '{}')
       END AS answers_agree
  FROM inspections i LEFT JOIN inspection_revisions r ON r.inspection_id = i.id AND r.revision = i.revision"""

_REVISIONS = """
SELECT inspection_id, revision, body_hash, document::text AS document
  FROM inspection_revisions WHERE inspection_id = ANY($1::uuid[]) ORDER BY inspection_id, revision"""

_AUDITED = f"""
SELECT seq, entity_id,
       CASE WHEN action LIKE 'review.%' THEN data -> 'new_revision' ELSE data -> 'revision' END AS made,
       data ->> 'body_hash' AS body_hash,
       CASE WHEN action LIKE 'review.%' THEN data ? 'percent_after' ELSE data ? 'score_percent' END AS has_percent,
       CASE WHEN action LIKE 'review.%' THEN data -> 'percent_after' ELSE data -> 'score_percent' END AS percent,
       data ? 'grade' AS has_grade, data ->> 'grade' AS grade
  FROM audit_log
 WHERE entity = 'inspection' AND entity_id = ANY($1::text[])
   AND action IN ({", ".join(f"'{a}'" for a in _MAKES)})
 ORDER BY seq"""


class _Tally:
    def __init__(self) -> None:
        self.inspections = 0
        self.count = 0
        self.listed: list[RecordProblem] = []

    def add(self, inspection_id: UUID, revision: int | None, problem: Problem) -> None:
        self.count += 1
        if len(self.listed) < LISTED:
            self.listed.append(RecordProblem(inspection_id=inspection_id, revision=revision, problem=problem))

    def result(self) -> RecordCheck:
        return RecordCheck(
            ok=self.count == 0, inspections=self.inspections, problem_count=self.count, problems=self.listed
        )


# Inspections the trail says were written that are not there at all (deleted with their revisions
# and answers): among `$1` when given, else every one the trail names. Muaina deletes none.
_GONE = f"""
SELECT DISTINCT a.entity_id::uuid AS id
  FROM audit_log a
 WHERE a.entity = 'inspection' AND a.action IN ({", ".join(f"'{a}'" for a in _MAKES)})
   AND ($1::text[] IS NULL OR a.entity_id = ANY($1::text[]))
   AND NOT EXISTS (SELECT 1 FROM inspections i WHERE i.id = a.entity_id::uuid)
 ORDER BY 1"""


async def check_all(conn: Connection) -> RecordCheck:
    """Every inspection, in pages by id, and every one the trail names that is gone."""
    tally = _Tally()
    heads = await _read_page(conn, f"{_HEADS} ORDER BY i.id LIMIT $1", PAGE, tally)
    while heads:
        heads = await _read_page(
            conn, f"{_HEADS} WHERE i.id > $1 ORDER BY i.id LIMIT $2", (heads[-1]["id"], PAGE), tally
        )
    await _gone(conn, None, tally)
    return tally.result()


async def _gone(conn: Connection, ids: list[str] | None, tally: _Tally) -> None:
    for row in await conn.fetch(_GONE, ids):
        tally.inspections += 1
        tally.add(row["id"], None, "inspection_missing")


async def check_some(conn: Connection, inspection_ids: Iterable[UUID]) -> RecordCheck:
    """The inspections named (the quick check: those the trail says were written since the last full
    check), in pages."""
    tally = _Tally()
    ids = sorted(set(inspection_ids))
    found: set[UUID] = set()
    for start in range(0, len(ids), PAGE):
        heads = await _read_page(
            conn, f"{_HEADS} WHERE i.id = ANY($1::uuid[]) ORDER BY i.id", ids[start : start + PAGE], tally
        )
        found.update(h["id"] for h in heads)
    if len(found) < len(ids):
        await _gone(conn, [str(i) for i in ids if i not in found], tally)
    return tally.result()


async def _read_page(conn: Connection, heads_sql: str, args: Any, tally: _Tally) -> list[Record]:
    """Read one page of inspections with their revisions and audit rows in one snapshot, check it, and
    return its inspections."""
    params = args if isinstance(args, tuple) else (args,)
    # Outside a transaction, one of its own that sees one snapshot; inside the caller's, a savepoint.
    snapshot = (
        conn.transaction() if conn.is_in_transaction() else conn.transaction(isolation="repeatable_read", readonly=True)
    )
    async with snapshot:
        heads = await conn.fetch(heads_sql, *params)
        if not heads:
            return heads
        ids = [h["id"] for h in heads]
        revisions = await conn.fetch(_REVISIONS, ids)
        audited = await conn.fetch(_AUDITED, [str(i) for i in ids])
    by_inspection: dict[UUID, list[Record]] = defaultdict(list)
    for r in revisions:
        by_inspection[r["inspection_id"]].append(r)
    audit_rows: dict[str, list[Record]] = defaultdict(list)
    for a in audited:
        audit_rows[a["entity_id"]].append(a)
    for head in heads:
        tally.inspections += 1
        _check(head, by_inspection[head["id"]], audit_rows[str(head["id"])], tally)
    return heads


def _check(head: Record, revisions: list[Record], audited: list[Record], tally: _Tally) -> None:
    inspection_id, current = head["id"], head["revision"]
    stored = {r["revision"]: bytes(r["body_hash"]) for r in revisions}
    made = {a["made"]: a for a in audited if type(a["made"]) is int}  # the newest row per revision wins
    top = max([current, *made])
    present = sorted(k for k in stored if 0 < k <= top)
    missing = itertools.islice(_missing(present, top), _MISSING_LISTED)
    for revision in missing:
        tally.add(inspection_id, revision, "revision_missing")
    # Counted, not listed, past the first few: a number written over can make millions.
    tally.count += max(0, top - len(present) - _MISSING_LISTED)
    for r in revisions:
        revision, body_hash = r["revision"], stored[r["revision"]]
        if revision > current:
            tally.add(inspection_id, revision, "revision_beyond_current")
        if not hashes_to(r["document"], body_hash):
            tally.add(inspection_id, revision, "revision_altered")
        recorded = [a["body_hash"] for a in audited if a["made"] == revision and a["body_hash"] is not None]
        if any(h != body_hash.hex() for h in recorded):
            tally.add(inspection_id, revision, "revision_not_as_audited")
    if current in stored and not head["current_agrees"]:
        tally.add(inspection_id, current, "current_differs")
    if head["answers_agree"] is False:
        tally.add(inspection_id, current, "answers_differ")
    scored = made.get(current)
    if scored is not None and (
        (scored["has_percent"] and scored["percent"] != head["score_percent"])
        or (scored["has_grade"] and scored["grade"] != head["grade"])
    ):
        tally.add(inspection_id, current, "score_differs")


_MISSING_LISTED = 10


def _missing(present: list[int], top: int) -> Iterator[int]:
    """The numbers 1..top not in `present` (sorted, each within 1..top), lazily."""
    prev = 0
    for k in [*present, top + 1]:
        yield from range(prev + 1, k)
        prev = k


# A float zero in canonical JSON, as a value of an object or an array.
_ZERO = re.compile(rb"(?<=[:,\[])0\.0(?=[,\]}])")
_ZEROS_TRIED = 8


def hashes_to(document: str, body_hash: bytes) -> bool:
    """Whether a stored document (jsonb's text) hashes to `body_hash` as the write hashed it: made
    canonical again (rules.canonical, rules.body_hash).

    jsonb keeps numbers as numeric, which has no negative zero, so a document sent with a -0.0 (a
    coordinate, say) comes back with 0.0 and hashes otherwise: when the plain form does not match, the
    forms with some of its (few) zeros negative are tried, which can only match a document that differs
    from the stored one by the sign of a zero."""
    try:
        # Decoded as plain JSON, not as today's InspectionDoc: the stored document is the canonical text
        # that was hashed (sorted keys, every field of the shape it had then), so encoding it again
        # sorted gives those bytes back whatever fields the document has gained or lost since.
        text = rules.canonical(msgspec.json.decode(document))
    except msgspec.DecodeError:
        return False
    if rules.body_hash(text) == body_hash:
        return True
    zeros = [m.start() for m in _ZERO.finditer(text)]
    if not zeros or len(zeros) > _ZEROS_TRIED:
        return False
    for signs in itertools.product((False, True), repeat=len(zeros)):
        if not any(signs):
            continue
        parts, last = [], 0
        for at, negative in zip(zeros, signs, strict=True):
            parts += [text[last:at], b"-" if negative else b""]
            last = at
        if rules.body_hash(b"".join(parts) + text[last:]) == body_hash:
            return True
    return False
