"""Cursor and ETag rules of the offline bundle: pure functions, no I/O.

A cursor is "<change counter>.<scope fingerprint>". The fingerprint makes a cursor handed out under one
scope useless under another: when an admin moves an inspector to another district, rows of the new
district did not change after the old cursor, so a delta would never send them; a full bundle does.
The same holds the other way round when a station leaves the scope (it or its district moved): a
delta, read in the current scope, would not even name it as removed. So the fingerprint also counts
such moves (sync_state.moves, schema 0009), and a move anywhere makes the next bundle a full one.
It also carries the bundle's shape (BUNDLE_SHAPE): rows a phone got before a field was added (a
template version's `retired`) are not resent by a delta, so a new shape makes old cursors get a full
bundle once.

And it carries the database's timeline: the cluster, the timeline of its history and the database
(etag_inputs). A database restored from a backup counts its changes again from the backup's number:
a phone's cursor from before the restore lies ahead of it at first (a full bundle), but once the
restored database has counted as far, the same number names other changes, and a delta from it would
leave out what differs between the two histories (an assignment cancelled after the backup, open
again now). A restore by archive recovery (pgBackRest, WAL) ends on a new timeline, and one by
pg_restore makes a new database: either way the fingerprint changes, and every phone gets a full bundle
once. So does a failover to a standby (it promotes to a new timeline): one full bundle too many, never
one too few. A restore of a disk snapshot keeps all three; `muaina verify-audit --accept-restore`, part
of the restore procedure, then counts as a move (sync_state.moves) and has the same effect.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from server.auth.models import Principal

# Raise when a bundle row gains a field a phone must have on the rows it already holds.
# 2: template versions carry `retired`; open actions carry `source`, `item_label` and the kinds that let
#    the phone word an automatic action in the reader's language.
# 3: a reviewer's or admin's bundle carries no assignments and no returned inspections. A delta sends no
#    removals for them either, so a phone that got them under shape 2 (a demoted inspector's) must be
#    given a full bundle, which replaces what it holds.
BUNDLE_SHAPE = 3


def own_work_of(user: Principal) -> UUID | None:
    """Whose assignments, returned inspections and pinned versions the bundle carries: the caller's when
    they are an inspector, nobody's otherwise.

    Reviewers and admins call the bundle too (their screens use its stations and templates), but work
    is done only by inspectors: a user who was one and changed role keeps open visits and returned
    inspections under their name (they wait for a reviewer to reassign them), and those must not reach
    a phone on which nobody may do them any more.
    """
    return user.own_id()


def scope_fingerprint(user: Principal, moves: int, timeline: str) -> str:
    """The user's scope, how many times stations have moved between districts or regions, the bundle's
    shape, and the database's timeline (see above)."""
    parts = [user.role, *sorted(map(str, user.region_ids)), "/", *sorted(map(str, user.district_ids)), f"#{moves}"]
    parts += [f"@{BUNDLE_SHAPE}", f"~{timeline}"]
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:12]


def make_cursor(seq: int, fingerprint: str) -> str:
    return f"{seq}.{fingerprint}"


def since_seq(since: str | None, fingerprint: str, current: int) -> int | None:
    """The change counter to send a delta from, or None for a full bundle.

    A cursor that cannot be read, was made under another scope, or lies ahead of the server (a database
    restored from a backup) gets a full bundle: always a correct answer, and a phone is never stuck.
    """
    if not since:
        return None
    seq_text, _, fp = since.partition(".")
    # ASCII digits only: str.isdigit() also holds for "²" and "۱۲", which int() refuses or reads.
    if fp != fingerprint or not (seq_text.isascii() and seq_text.isdigit()) or len(seq_text) > 18:
        return None
    seq = int(seq_text)
    return seq if seq <= current else None


def etag(user_id: UUID, fingerprint: str, current: int, since: int | None, returned: str | None) -> str:
    """A strong ETag from what the bundle depends on, computed without building the bundle.

    `current` is the commit-ordered change counter of every synced table; `returned` fingerprints the
    user's returned inspections, which live in a table written far too often to share that counter.
    """
    key = f"v1|{user_id}|{fingerprint}|{current}|{since}|{returned or ''}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
