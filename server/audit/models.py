from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec


class AuditRow(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor_id: UUID | None
    actor: str | None
    action: str
    entity: str | None
    entity_id: str | None
    data: dict[str, Any]
    ip: str | None
    hash: str


class FullCheck(msgspec.Struct, kw_only=True):
    """A walk of the whole chain, as recorded in it (action audit.verified). `records_ok` and
    `record_problems`: what its check of the inspection records found (null for a check recorded before
    records were checked)."""

    at: datetime
    ok: bool
    checked: int
    first_bad: int | None
    through: int
    records_ok: bool | None = None
    record_problems: int = 0


# What can be wrong with an inspection's record (server/audit/records.py):
# revision_missing: a revision below the current one, or one the trail says was written, is not stored;
# revision_beyond_current: a revision is stored above the inspection's current revision;
# revision_altered: a stored revision's document no longer hashes to its stored body_hash (or does not
#   read as an inspection document at all);
# revision_not_as_audited: a stored revision's body_hash is not the one the trail recorded for it;
# current_differs: the inspection's document, body hash or status is not its current revision's;
# answers_differ: the answer rows are not the answers of the current revision's document;
# score_differs: the score or grade is not the one the trail recorded for the current revision;
# inspection_missing: the trail says the inspection was written, and it is not there at all.
Problem = Literal[
    "inspection_missing",
    "revision_missing",
    "revision_beyond_current",
    "revision_altered",
    "revision_not_as_audited",
    "current_differs",
    "answers_differ",
    "score_differs",
]


class RecordProblem(msgspec.Struct, kw_only=True):
    inspection_id: UUID
    revision: int | None
    problem: Problem


class RecordCheck(msgspec.Struct, kw_only=True):
    """Each inspection's record against its revisions and the trail. `problems` lists the first ones
    found (by inspection id), `problem_count` counts them all."""

    ok: bool
    inspections: int
    problem_count: int
    problems: list[RecordProblem]


class SeqGap(msgspec.Struct, kw_only=True):
    """Entries numbered after `after` and before `next` are not in the trail. Not proof of tampering: a
    transaction that fails while committing, after its entry took a number, leaves one (the number is
    not reused), and so does a database restarted after a crash."""

    after: int
    next: int


class AnchorDiff(msgspec.Struct, kw_only=True):
    """An entry whose hash, kept in the photo store at `at`, is not the database's now: `hash` as kept,
    `found` the database's (null when the entry is gone)."""

    seq: int
    at: datetime
    hash: str
    found: str | None


class AnchorCheck(msgspec.Struct, kw_only=True):
    """The trail against the copies of its head kept in the photo store (server/audit/anchors.py).
    `ok`: every copy matches the database (null: the store could not be read, nothing was compared).
    `kept`: the copies found; `newest_seq`/`newest_at`: the newest of them; `written_seq`: the head this
    check kept (null when it kept none: the chain broken, the store down, or the trail empty).
    `differs`: up to 20 that do not match, oldest first; `differ_count` counts them all. Copies set aside
    after a database restore are not compared (nor counted in `kept`)."""

    ok: bool | None
    kept: int = 0
    newest_seq: int | None = None
    newest_at: datetime | None = None
    written_seq: int | None = None
    differ_count: int = 0
    differs: list[AnchorDiff] = []
    # The entries whose copies this check set aside (`muaina verify-audit --accept-restore`).
    set_aside: list[int] = []


class VerifyResult(msgspec.Struct, kw_only=True):
    """`ok`, `checked` and `first_bad` as DESIGN §7 has them. `after`: the walk began after this
    entry (0: from the first). `through`: the last entry it checked, `head_hash` that entry's hash (hex):
    a line to keep outside the database and compare later. `last_full`: with `since_last_check`, the
    full check the walk went on from (null when it walked from the start). `gaps` (a warning, up to 100)
    and `missing`: numbers missing between the entries walked. `records`: the inspection records checked
    against their revisions and the trail (all of them in a full check; those written since in a quick
    one). `anchors`: the trail against the copies of its head kept outside the database, in the photo
    store. `ok` is false when the chain is broken, a record is not as written, or a kept copy differs."""

    ok: bool
    checked: int
    first_bad: int | None
    after: int = 0
    through: int | None = None
    last_full: FullCheck | None = None
    head_hash: str | None = None
    gaps: list[SeqGap] = []
    missing: int = 0
    records: RecordCheck | None = None
    anchors: AnchorCheck | None = None
