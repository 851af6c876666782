"""Building and caching the offline bundle.

Revalidation is the common request (a phone asks on every start and every `online` event), so the ETag
comes from one cheap query (the commit-ordered change counter and a fingerprint of the user's returned
inspections) and never from the bundle itself. A built body is kept in a small in-process LRU keyed by
its ETag: when anything it depends on changes, the ETag changes, so the cache needs no invalidation.
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec
from asyncpg import Connection

from server.auth.models import Principal
from server.inspections import queries as inspections
from server.inspections.models import InspectionDoc
from server.inspections.service import stored_reply
from server.review.queries import latest_reviews
from server.sync import parts, queries, rules
from server.sync.models import Bundle, BundleAssignment, BundleStation, BundleTemplate, Removed, StationName

_CACHE: OrderedDict[str, bytes] = OrderedDict()
_CACHE_BUDGET = 32 * 1024 * 1024
_cache_bytes = 0


def cached(tag: str) -> bytes | None:
    body = _CACHE.get(tag)
    if body is not None:
        _CACHE.move_to_end(tag)
    return body


def _remember(tag: str, body: bytes) -> None:
    global _cache_bytes
    if tag in _CACHE or len(body) > _CACHE_BUDGET // 4:
        return
    _CACHE[tag] = body
    _cache_bytes += len(body)
    while _cache_bytes > _CACHE_BUDGET:
        _, old = _CACHE.popitem(last=False)
        _cache_bytes -= len(old)


async def current_etag(conn: Connection, user: Principal, since: str | None) -> str:
    inputs = await queries.etag_inputs(conn, user)
    fingerprint = rules.scope_fingerprint(user, inputs["moves"], inputs["timeline"])
    delta_from = rules.since_seq(since, fingerprint, inputs["seq"])
    return rules.etag(user.id, fingerprint, inputs["seq"], delta_from, inputs["returned"])


async def build(conn: Connection, user: Principal, since: str | None) -> tuple[str, bytes]:
    """The bundle as of one snapshot, so its cursor and its rows describe the same moment."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        inputs = await queries.etag_inputs(conn, user)
        fingerprint = rules.scope_fingerprint(user, inputs["moves"], inputs["timeline"])
        seq = inputs["seq"]
        delta_from = rules.since_seq(since, fingerprint, seq)
        tag = rules.etag(user.id, fingerprint, seq, delta_from, inputs["returned"])
        body = cached(tag)
        if body is not None:
            return tag, body
        station_rows = await queries.stations(conn, user, delta_from)
        assignment_rows = await queries.assignments(conn, user, delta_from)
        # A changed station (its kind) or assignment can make another template needed, so any such
        # change resends every needed template; otherwise only versions new since the cursor travel.
        resend_all = delta_from is None or bool(station_rows) or bool(assignment_rows)
        template_rows = await queries.templates(conn, user, None if resend_all else delta_from)
        archived = await queries.archived_templates(conn, delta_from) if delta_from is not None else []
        # Only an inspector's own returned inspections travel: a user who was one and changed role may
        # still have some under their name, waiting for a reviewer to reassign the work.
        returned_rows = await inspections.returned_for(conn, user) if rules.own_work_of(user) else []
        # A returned inspection travels with the review that returned it, so the phone can show the
        # reviewer's comments on the items they concern while the inspector corrects it offline.
        reviews = await latest_reviews(conn, [r["id"] for r in returned_rows])
        # A returned inspection at a station the bundle leaves out (out of scope now, or deactivated)
        # brings that station along, retired: the phone names it, and offers nothing new there.
        away = await queries.stations_away(conn, user, sorted({r["station_id"] for r in returned_rows}))
        away_ids = {r["id"] for r in away}
        actions = await parts.load_actions(conn, user, delta_from)
    bundle = Bundle(
        cursor=rules.make_cursor(seq, fingerprint),
        full=delta_from is None,
        templates=[
            BundleTemplate(
                id=r["id"],
                template_id=r["template_id"],
                key=r["key"],
                version=r["version"],
                definition=msgspec.Raw(r["definition"].encode()),
                retired=r["retired"],
            )
            for r in template_rows
        ],
        stations=[_station(r) for r in station_rows if r["active"]] + [_station(r, retired=True) for r in away],
        assignments=[_assignment(r) for r in assignment_rows if r["mine_open"]],
        actions=actions,
        returned=[
            msgspec.structs.replace(
                stored_reply(r, msgspec.json.decode(r["document"], type=InspectionDoc)), review=reviews.get(r["id"])
            )
            for r in returned_rows
        ],
        removed=Removed(
            stations=[r["id"] for r in station_rows if not r["active"] and r["id"] not in away_ids],
            templates=archived,
            assignments=[r["id"] for r in assignment_rows if not r["mine_open"]],
        ),
    )
    body = msgspec.json.encode(bundle)
    _remember(tag, body)
    return tag, body


def _station(r, *, retired: bool = False) -> BundleStation:
    return BundleStation(
        retired=retired,
        id=r["id"],
        code=r["code"],
        name=StationName(en=r["name_en"], ur=r["name_ur"]),
        district_id=r["district_id"],
        circle_id=r["circle_id"],
        lat=r["lat"],
        lon=r["lon"],
        kind=r["kind"],
        sips=r["sips"],
    )


def _assignment(r) -> BundleAssignment:
    return BundleAssignment(
        id=r["id"],
        station_id=r["station_id"],
        template_id=r["template_id"],
        due_date=r["due_date"],
        status=r["status"],
        inspection_id=r["inspection_id"],
    )
