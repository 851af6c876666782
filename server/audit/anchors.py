"""Copies of the audit trail's head kept outside the database, in the photo store ("anchors").

The hash chain proves that no entry was changed *unless* whoever changed it recomputed every hash after
it, which the database's owner can do (the app's own role cannot: server/approle.py). A copy of the head
kept where the database's owner cannot write closes that: each check of the chain (the admin's audit page,
`muaina verify-audit`) keeps the entry number and hash it reached as an object in the photo store (MinIO
or the directory store, with credentials of its own), and compares every copy kept there with the
database. A trail rewritten from entry N on no longer matches any copy of an entry at or after N, and one
cut short no longer has the entries that copies name. Only what was written after the newest copy can
go unseen, which is why every check keeps one.

One object per copy, never overwritten: its key says everything (entry number, when, hash), so the
comparison lists keys and reads no object; the body repeats it for a person reading the bucket. A copy
of a rewritten trail, should one ever be kept, sits beside the true one and does not hide it. For
retention, give the prefix an object lock (MinIO/S3 "compliance" mode) or back the bucket up; the photo
sweeper never touches it (server/photos/sweeper.py deletes only keys it made).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import msgspec
from asyncpg import Connection

from server.audit.models import AnchorCheck, AnchorDiff
from server.errors import Unavailable
from server.storage import PhotoStore

log = logging.getLogger("muaina.audit.anchors")

PREFIX = "audit-anchors/"
# Markers of copies set aside after a database restore (set_aside): the copy's own key under this prefix.
SET_ASIDE = "audit-anchors-set-aside/"
_KEY = re.compile(r"audit-anchors/(\d{20})-(\d{8}T\d{12}Z)-([0-9a-f]{64})")
_AT = "%Y%m%dT%H%M%S%fZ"
# Listed in a result; past these they are only counted.
DIFFS_LISTED = 20
# A quick check (the audit page as it opens) keeps a copy when the newest is at least this old: a new
# copy every time an admin opens the page would grow the listing every check reads, for little.
QUICK_EVERY = timedelta(minutes=10)


class Anchor(msgspec.Struct, frozen=True):
    seq: int
    at: datetime
    hash: str


def key_of(anchor: Anchor) -> str:
    return f"{PREFIX}{anchor.seq:020d}-{anchor.at.astimezone(UTC).strftime(_AT)}-{anchor.hash}"


def parse(key: str) -> Anchor | None:
    """The copy a key names; None for any other key under the prefix (an operator's, say)."""
    m = _KEY.fullmatch(key)
    if m is None:
        return None
    return Anchor(int(m[1]), datetime.strptime(m[2], _AT).replace(tzinfo=UTC), m[3])


async def kept(store: PhotoStore) -> list[Anchor]:
    """Every copy in the store that was not set aside (set_aside), oldest entry first."""
    aside = {key[len(SET_ASIDE) :] async for key in store.list_keys(SET_ASIDE)}
    found = [
        a async for key in store.list_keys(PREFIX) if key[len(PREFIX) :] not in aside and (a := parse(key)) is not None
    ]
    return sorted(found, key=lambda a: (a.seq, a.at))


async def set_aside(store: PhotoStore, copies: list[Anchor], *, at: datetime, reason: str) -> None:
    """Mark `copies` as no longer compared: a marker object each, beside them; nothing is deleted, so an
    object lock on the copies is no obstacle, and the copies stay for anyone to look at."""
    for anchor in copies:
        body = msgspec.json.encode({"seq": anchor.seq, "hash": anchor.hash, "set_aside_at": at, "reason": reason})
        await store.put(SET_ASIDE + key_of(anchor)[len(PREFIX) :], body, "application/json")


async def compare(conn: Connection, copies: list[Anchor]) -> tuple[list[Anchor], dict[int, str]]:
    """The copies that differ from the database's entries now, and the database's hash of each entry
    they name (absent: the entry is gone)."""
    if not copies:
        return [], {}
    rows = await conn.fetch(
        "SELECT seq, hash FROM audit_log WHERE seq = ANY($1::bigint[])", sorted({a.seq for a in copies})
    )
    now = {r["seq"]: bytes(r["hash"]).hex() for r in rows}
    return [a for a in copies if now.get(a.seq) != a.hash], now


async def check_and_keep(
    conn: Connection,
    store: PhotoStore,
    head: tuple[int, bytes] | None,
    *,
    quick: bool = False,
    accept_restore: bool = False,
    now: datetime | None = None,
) -> AnchorCheck:
    """Compare every kept copy with the database, then keep `head` (the entry a walk that found the chain
    intact reached, and its hash; None after a broken walk) unless it is kept already, or, for a quick
    check, the newest copy is under QUICK_EVERY old. A head is kept even while older copies differ: they
    go on saying so, and what is written from now on is covered. With `accept_restore` (an operator who
    has checked that a database restore explains the differences), the copies that differ are set aside
    (`set_aside` in the result) and no longer compared. A store that cannot be read or written is a
    warning (ok null, or nothing kept), never a failure of the check itself."""
    at = now or datetime.now(UTC)
    try:
        copies = await kept(store)
        differing, found = await compare(conn, copies)
        if accept_restore and differing:
            await set_aside(
                store, differing, at=at, reason="database restored from a backup (verify-audit --accept-restore)"
            )
            aside = {(a.seq, a.at, a.hash) for a in differing}
            copies = [a for a in copies if (a.seq, a.at, a.hash) not in aside]
            set_aside_seqs, differing = [a.seq for a in differing], []
        else:
            set_aside_seqs = []
    except (Unavailable, OSError) as exc:
        log.warning("could not read or mark the audit trail's kept heads: %s", exc)
        return AnchorCheck(ok=None)
    newest = max(copies, key=lambda a: (a.seq, a.at), default=None)
    latest = max(copies, key=lambda a: a.at, default=None)
    result = AnchorCheck(
        ok=not differing,
        kept=len(copies),
        newest_seq=newest.seq if newest else None,
        newest_at=newest.at if newest else None,
        differ_count=len(differing),
        differs=[AnchorDiff(seq=a.seq, at=a.at, hash=a.hash, found=found.get(a.seq)) for a in differing[:DIFFS_LISTED]],
        set_aside=set_aside_seqs,
    )
    if head is None or head[0] <= 0:
        return result
    if any(a.seq == head[0] and a.hash == head[1].hex() for a in copies):
        return result
    if quick and latest is not None and at - latest.at < QUICK_EVERY:
        return result
    anchor = Anchor(head[0], at, head[1].hex())
    body = msgspec.json.encode({"seq": anchor.seq, "at": anchor.at, "hash": anchor.hash})
    try:
        await store.put(key_of(anchor), body, "application/json")
    except (Unavailable, OSError) as exc:
        log.warning("could not keep the audit trail's head (entry %d): %s", head[0], exc)
        return result
    return msgspec.structs.replace(result, written_seq=anchor.seq)
