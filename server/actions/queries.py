"""SQL of corrective actions. Scope is in each query's WHERE clause, on the action's station's district."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.actions.models import ActionOut, NoteOut
from server.actions.rules import AUTO_DUE_DAYS, CancelReason
from server.audit import queries as audit
from server.auth.models import COVERS_SQL, SCOPE_SQL, Principal
from server.dashboards.rollup import EFFECTIVE_SCORES, REPORTING_TZ
from server.photos.queries import READABLE_SQL, reader_args
from server.review.models import DistrictRef, LocalName, Person, StationRef

Scope = tuple[bool, list[UUID], list[UUID]]
TODAY = f"(now() AT TIME ZONE '{REPORTING_TZ}')::date"

# The action's item's label in both languages, from template_items (one indexed row per template and
# item key, labelled as the template's newest version has it: what the dashboards call the item too).
# Never from the version's definition: unpacking a definition per listed row cost ~0.3 ms a row.
_ITEM_LABEL_JOIN = """LEFT JOIN template_items ti ON ti.template_id = a.template_id AND ti.item_key = a.item_key"""

# Whether a reviewer's override in force, in the approved inspection the action names, has passed the
# action's item since: the failure that opened the action is then no longer in the record. One probe of
# the overrides' in-force unique index per row. Never on a final action: nothing is left to decide.
_PASSED_BY_OVERRIDE = """a.status NOT IN ('verified', 'cancelled')
              AND EXISTS (SELECT 1 FROM score_overrides o JOIN inspections oi ON oi.id = o.inspection_id
                WHERE o.inspection_id = a.inspection_id AND o.item_key = a.item_key
                  AND o.superseded_at IS NULL AND o.score > 0 AND oi.status = 'approved')"""

# Whether another submitted or approved inspection of the action's station, made since the action was
# opened, also fails its item by the scores in force: the cause is still there, whatever the inspection
# that opened it says now (withdraw_passed leaves such an action open, and the board does not call it
# passed).
_FAILED_SINCE = """EXISTS (
                  SELECT 1 FROM inspections i JOIN answers an ON an.inspection_id = i.id AND an.item_key = a.item_key
                    JOIN template_versions iv ON iv.id = i.template_version_id
                   WHERE i.station_id = a.station_id AND iv.template_id IS NOT DISTINCT FROM a.template_id AND i.id <> a.inspection_id AND i.status IN ('submitted', 'approved')
                     AND i.submitted_at >= a.created_at
                     AND COALESCE((SELECT o.score FROM score_overrides o
                                    WHERE o.inspection_id = i.id AND o.item_key = a.item_key
                                      AND o.superseded_at IS NULL), an.score) = 0)"""

# Whether the inspection that opened this automatic action, submitted again after a return, no longer
# fails its item, with no reviewer's override on it (that is the reviewer's word, above): the inspector
# corrected the answer. Its approval withdraws the action if nobody has worked on it (withdraw_passed);
# until then, and for one someone worked on, this says so. Never on a final action.
_CORRECTED = f"""a.status NOT IN ('verified', 'cancelled') AND a.source = 'submission'
              AND EXISTS (SELECT 1 FROM inspections ci WHERE ci.id = a.inspection_id AND ci.status IN ('submitted', 'approved'))
              AND NOT EXISTS (SELECT 1 FROM answers an
                               WHERE an.inspection_id = a.inspection_id AND an.item_key = a.item_key AND an.score = 0)
              AND NOT EXISTS (SELECT 1 FROM score_overrides o
                               WHERE o.inspection_id = a.inspection_id AND o.item_key = a.item_key
                                 AND o.superseded_at IS NULL)
              AND NOT {_FAILED_SINCE}"""

_COLUMNS = f"""a.id, a.inspection_id, a.template_id, a.item_key, a.source, a.description, a.owner_name, a.owner_user_id,
       a.due_date, a.status, a.evidence_photo_ids, a.created_by, a.verified_by, a.verified_at, a.change_seq,
       a.created_at, a.updated_at, a.status IN ('open', 'in_progress') AND a.due_date < {TODAY} AS overdue,
       s.id AS station_id, s.code AS station_code, s.name_en AS station_en, s.name_ur AS station_ur,
       d.id AS district_id, d.name_en AS district_en, d.name_ur AS district_ur,
       ti.label_en AS item_label_en, ti.label_ur AS item_label_ur,
       a.description_kind, a.owner_kind, a.cancel_reason, {_PASSED_BY_OVERRIDE} AS item_passed_by_override,
       {_CORRECTED} AS item_corrected"""

_FROM = f"""actions a JOIN stations s ON s.id = a.station_id JOIN districts d ON d.id = s.district_id
       {_ITEM_LABEL_JOIN}"""


def action_out(r: Record, notes: list[NoteOut] | None = None) -> ActionOut:
    return ActionOut(
        id=r["id"],
        station=StationRef(
            id=r["station_id"], code=r["station_code"], name=LocalName(en=r["station_en"], ur=r["station_ur"])
        ),
        district=DistrictRef(id=r["district_id"], name=r["district_en"], name_ur=r["district_ur"]),
        inspection_id=r["inspection_id"],
        template_id=r["template_id"],
        item_key=r["item_key"],
        item_label=_item_label(r),
        source=r["source"],
        description_kind=r["description_kind"],
        owner_kind=r["owner_kind"],
        description=r["description"],
        owner_name=r["owner_name"],
        owner_user_id=r["owner_user_id"],
        due_date=r["due_date"],
        status=r["status"],
        overdue=r["overdue"],
        evidence_photo_ids=list(r["evidence_photo_ids"]),
        created_by=r["created_by"],
        verified_by=r["verified_by"],
        verified_at=r["verified_at"],
        change_seq=r["change_seq"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        notes=notes,
        cancel_reason=r["cancel_reason"],
        item_passed_by_override=r["item_passed_by_override"],
        item_corrected=r["item_corrected"],
    )


def _item_label(r: Record) -> LocalName | None:
    return None if r["item_label_en"] is None else LocalName(en=r["item_label_en"], ur=r["item_label_ur"])


async def get_action(conn: Connection, scope: Scope, action_id: UUID, *, lock: bool = False) -> Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.id = $4 AND {SCOPE_SQL}" + (" FOR UPDATE OF a" if lock else ""),
        *scope,
        action_id,
    )


async def notes_of(conn: Connection, action_id: UUID) -> list[NoteOut]:
    rows = await conn.fetch(
        """SELECT n.id, n.at, n.body, n.status_from, n.status_to, u.id AS author_id, u.display_name
             FROM action_notes n LEFT JOIN users u ON u.id = n.author_id
            WHERE n.action_id = $1 ORDER BY n.at, n.id""",
        action_id,
    )
    return [
        NoteOut(
            id=r["id"],
            at=r["at"],
            body=r["body"],
            status_from=r["status_from"],
            status_to=r["status_to"],
            author=Person(id=r["author_id"], display_name=r["display_name"]) if r["author_id"] else None,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ActionFilters:
    """What a list of actions is narrowed to, besides the caller's scope (None: any)."""

    station_id: UUID | None = None
    district_id: UUID | None = None
    inspection_id: UUID | None = None
    status: str | None = None
    open_only: bool = False  # unverified and not cancelled (an inspector's list)
    overdue: bool = False

    def args(self) -> tuple[object, ...]:
        return (self.station_id, self.district_id, self.inspection_id, self.status, self.open_only, self.overdue)


# ActionFilters as $4 to $9, after the scope's three.
_LIST_WHERE = f"""{SCOPE_SQL}
               AND ($4::uuid IS NULL OR a.station_id = $4) AND ($5::uuid IS NULL OR d.id = $5)
               AND ($6::uuid IS NULL OR a.inspection_id = $6) AND ($7::text IS NULL OR a.status = $7)
               AND (NOT $8::bool OR a.status NOT IN ('verified', 'cancelled'))
               AND (NOT $9::bool OR (a.status IN ('open', 'in_progress') AND a.due_date < {TODAY}))"""


async def list_actions(
    conn: Connection, scope: Scope, filters: ActionFilters, *, after: tuple[date, UUID] | None, limit: int
) -> list[Record]:
    """Soonest due first, keyset-paginated on (due_date, id)."""
    after_due, after_id = after or (None, None)
    return await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
             WHERE {_LIST_WHERE}
               AND ($10::date IS NULL OR (a.due_date, a.id) > ($10, $11::uuid))
             ORDER BY a.due_date, a.id
             LIMIT $12""",
        *scope,
        *filters.args(),
        after_due,
        after_id,
        limit,
    )


async def count_actions(conn: Connection, scope: Scope, filters: ActionFilters) -> int:
    """How many actions list_actions would page through with these filters."""
    return await conn.fetchval(f"SELECT count(*) FROM {_FROM} WHERE {_LIST_WHERE}", *scope, *filters.args())


async def overdue_actions(
    conn: Connection, scope: Scope, limit: int, *, region_id: UUID | None = None, district_id: UUID | None = None
) -> list[Record]:
    """Most overdue first, in one region or district if given; the partial index on open actions' due
    dates keeps this a small scan."""
    return await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
             WHERE {SCOPE_SQL} AND a.status IN ('open', 'in_progress') AND a.due_date < {TODAY}
               AND ($5::uuid IS NULL OR d.region_id = $5) AND ($6::uuid IS NULL OR d.id = $6)
             ORDER BY a.due_date, a.id LIMIT $4""",
        *scope,
        limit,
        region_id,
        district_id,
    )


async def station_in_scope(conn: Connection, scope: Scope, station_id: UUID) -> bool:
    return bool(
        await conn.fetchval(
            f"SELECT true FROM stations s JOIN districts d ON d.id = s.district_id WHERE s.id = $4 AND {SCOPE_SQL}",
            *scope,
            station_id,
        )
    )


async def owner_covers_station(conn: Connection, user_id: UUID, station_id: UUID) -> bool:
    """Whether the user exists, is active and works where the station is (an admin works everywhere)."""
    return bool(
        await conn.fetchval(
            f"""SELECT true FROM users u, stations s JOIN districts d ON d.id = s.district_id
                WHERE u.id = $1 AND s.id = $2 AND u.active AND (u.role = 'admin' OR {COVERS_SQL})""",
            user_id,
            station_id,
        )
    )


async def inspection_item(
    conn: Connection, inspection_id: UUID, station_id: UUID, item_key: str | None
) -> tuple[bool, bool, UUID | None]:
    """(the inspection is of this station, the item is in its version or no item was named, its template)."""
    row = await conn.fetchrow(
        """SELECT i.station_id = $2 AS same_station, tv.template_id,
                  ($3::text IS NULL OR EXISTS (
                      SELECT 1 FROM jsonb_array_elements(tv.definition -> 'sections') sec,
                                    jsonb_array_elements(sec -> 'items') it
                       WHERE it ->> 'key' = $3)) AS has_item
             FROM inspections i JOIN template_versions tv ON tv.id = i.template_version_id
            WHERE i.id = $1""",
        inspection_id,
        station_id,
        item_key,
    )
    return (bool(row["same_station"]), bool(row["has_item"]), row["template_id"]) if row else (False, False, None)


async def templates_with_item(conn: Connection, station_id: UUID, item_key: str) -> list[Record]:
    """The published templates that have an item with this key (template_items: keys repeat across them),
    the likeliest meant first: the one the station was inspected with last, then the newest published.
    Each row says whether the template is archived and which kinds of station its newest version is for
    (NULL: every kind), beside the station's kind, as POST /assignments judges a template."""
    return await conn.fetch(
        """SELECT ti.template_id, t.archived_at IS NOT NULL AS archived, v.kinds, s.kind AS station_kind
             FROM template_items ti
             JOIN templates t ON t.id = ti.template_id
             LEFT JOIN LATERAL latest_version(ti.template_id) v ON true
             LEFT JOIN stations s ON s.id = $1
            WHERE ti.item_key = $2
            ORDER BY (SELECT max(i.created_at) FROM inspections i
                        JOIN template_versions iv ON iv.id = i.template_version_id
                       WHERE i.station_id = $1 AND iv.template_id = ti.template_id) DESC NULLS LAST,
                     (SELECT max(v.published_at) FROM template_versions v WHERE v.template_id = ti.template_id) DESC
                     NULLS LAST, ti.template_id""",
        station_id,
        item_key,
    )


async def open_action_for(conn: Connection, station_id: UUID, template_id: UUID | None, item_key: str) -> UUID | None:
    return await conn.fetchval(
        """SELECT id FROM actions
            WHERE station_id = $1 AND template_id IS NOT DISTINCT FROM $2 AND item_key = $3
              AND status NOT IN ('verified', 'cancelled')""",
        station_id,
        template_id,
        item_key,
    )


# The one unfinished action per station, checklist and item (schema 0031's actions_one_open_idx).
_ONE_OPEN = (
    """(station_id, template_id, item_key) WHERE status NOT IN ('verified', 'cancelled') AND item_key IS NOT NULL"""
)


async def insert_action(conn: Connection, values: dict[str, Any]) -> UUID | None:
    """None when an unfinished action for the same station and item exists already."""
    return await conn.fetchval(
        f"""INSERT INTO actions (station_id, inspection_id, template_id, item_key, source, description, owner_name,
                                 owner_user_id, due_date, created_by)
            VALUES ($1, $2, $3, $4, 'reviewer', $5, $6, $7, $8, $9)
            ON CONFLICT {_ONE_OPEN} DO NOTHING
            RETURNING id""",
        values["station_id"],
        values["inspection_id"],
        values["template_id"],
        values["item_key"],
        values["description"],
        values["owner_name"],
        values["owner_user_id"],
        values["due_date"],
        values["created_by"],
    )


_WORDED_BY_KIND = {"description": "description_kind", "owner_name": "owner_kind"}


async def update_action(conn: Connection, action_id: UUID, changes: dict[str, Any], actor_id: UUID) -> None:
    """Apply `changes` (column -> value; the columns come from a fixed list in the routes).

    The sync stamp trigger gives the row a new change_seq, so phones pick the change up.
    """
    params: list[Any] = [action_id, *changes.values()]
    sets = [f"{column} = ${n}" for n, column in enumerate(changes, start=2)]
    # Text a person rewrote is theirs: shown as typed from now on, never worded anew by the app.
    sets += [f"{kind} = NULL" for column, kind in _WORDED_BY_KIND.items() if column in changes]
    if changes.get("status") == "verified":
        params.append(actor_id)
        sets += [f"verified_by = ${len(params)}", "verified_at = now()"]
    await conn.execute(f"UPDATE actions SET {', '.join(sets)}, updated_at = now() WHERE id = $1", *params)


async def add_note(
    conn: Connection,
    action_id: UUID,
    author_id: UUID | None,
    body: str,
    status_from: str | None = None,
    status_to: str | None = None,
    note_id: UUID | None = None,
) -> bool:
    """Append a note; False when a note with this id was stored before (a replayed request)."""
    return (
        await conn.fetchval(
            """INSERT INTO action_notes (id, action_id, author_id, body, status_from, status_to)
           VALUES (COALESCE($1, gen_random_uuid()), $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
            note_id,
            action_id,
            author_id,
            body,
            status_from,
            status_to,
        )
        is not None
    )


async def evidence_photos(
    conn: Connection, user: Principal, station_id: UUID, photo_ids: Sequence[UUID]
) -> dict[UUID, bool]:
    """Of these photo ids, the stored photos the user may read (READABLE_SQL, as for GET /photos: scope,
    or for an inspector their own inspections'), each with whether its inspection is of the station."""
    rows = await conn.fetch(
        f"""SELECT p.id, i.station_id = $6 AS same_station
              FROM photos p JOIN inspections i ON i.id = p.inspection_id
              JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
             WHERE p.id = ANY($1::uuid[]) AND {READABLE_SQL}""",
        list(photo_ids),
        *reader_args(user),
        station_id,
    )
    return {r["id"]: r["same_station"] for r in rows}


async def note_action(conn: Connection, note_id: UUID | None) -> UUID | None:
    """The action a stored note belongs to."""
    return await conn.fetchval("SELECT action_id FROM action_notes WHERE id = $1", note_id)


# Created by a submission ---------------------------------------------------------------------------


# An item's English label in a published definition, by key (labels are {en, ur} objects there).
_LABEL_OF = """jsonb_path_query_first(h.definition, '$.sections[*].items[*] ? (@.key == $key).label.en',
                                        jsonb_build_object('key', f.item_key)) #>> '{}'"""
# Whether an item is critical in that definition: for a score with no answer row (a reviewer's override
# of an item the inspector left unanswered); an answer row carries its own.
_CRITICAL_IN = """jsonb_path_exists(h.definition, '$.sections[*].items[*] ? (@.key == $key && @.critical == true)',
                                   jsonb_build_object('key', e.item_key))"""


async def create_for_critical_failures(conn: Connection, inspection_id: UUID) -> list[UUID]:
    """Open an action for every failed critical item of the inspection, unless one is open already.

    Runs inside the submit transaction (and after a review, where an override may fail an item). The
    partial unique index on (station, template, item) of unfinished actions makes a resubmission, or the next
    inspection finding the same fault, join the action already open; an action marked done but failing
    again is reopened, since the fix did not hold. "Again" means in an inspection made after the action
    was marked done: an approval with overrides, or a resubmission after a return, reads again the
    failures of an inspection made before the fix, which say nothing about the fix; nor does one
    finished on a phone before the fix and sent after it, days later. When it was made is its `made_at`
    (schema 0016: when the phone says it was finished, if its clock could have been right; otherwise when
    its first submission reached the server). Nor does it open again a failure a person has closed
    since the inspection was made (verified, or cancelled by a reviewer). It is due AUTO_DUE_DAYS after
    the day it is opened: after the submission, or after a late approval whose override failed the item
    (counted from the submission, such an action was born overdue). One
    statement finds the failed items, the inspection's station, inspector and due date, and each item's
    label in the version the inspection was made with, and writes the actions: a round trip inside the
    submit transaction, not three.
    """
    rows = await conn.fetch(
        f"""WITH head AS (
                SELECT i.station_id, i.inspector_id, s.name_en, tv.definition, tv.template_id,
                       (greatest(COALESCE(i.submitted_at, now()), now()) AT TIME ZONE '{REPORTING_TZ}')::date
                           + {AUTO_DUE_DAYS} AS due,
                       COALESCE(i.made_at, now()) AS made_at
                  FROM inspections i JOIN stations s ON s.id = i.station_id
                  JOIN template_versions tv ON tv.id = i.template_version_id
                 WHERE i.id = $1
            ), failed AS (
                SELECT e.item_key FROM ({EFFECTIVE_SCORES}) e CROSS JOIN head h
                  LEFT JOIN answers a ON a.inspection_id = $1 AND a.item_key = e.item_key
                 WHERE e.s = 0 AND COALESCE(a.critical, {_CRITICAL_IN})
                   -- Nor a failure a person has closed already: an action this inspection opened, or one
                   -- closed after it was made. A fix was seen (verified), or a reviewer cancelled it, since;
                   -- read again by a later approval or resubmission, the failure says nothing new. One the
                   -- server cancelled itself (cancel_reason: the item passed) is no such word: the item
                   -- failing again, by an override or a corrected answer, is news.
                   AND NOT EXISTS (
                       SELECT 1 FROM actions c
                        WHERE c.station_id = h.station_id AND c.template_id = h.template_id
                          AND c.item_key = e.item_key AND c.status IN ('verified', 'cancelled')
                          AND c.cancel_reason IS NULL
                          AND (c.inspection_id = $1 OR c.updated_at >= h.made_at)))
            , prior AS (
                -- The inspection a reopened action named before (the statement's snapshot: before the update).
                SELECT p.id, p.inspection_id FROM actions p, head h
                 WHERE p.station_id = h.station_id AND p.template_id = h.template_id
                   AND p.item_key IN (SELECT item_key FROM failed) AND p.status = 'done')
            INSERT INTO actions AS x (station_id, inspection_id, template_id, item_key, source, description,
                                      owner_name, due_date, created_by, description_kind, owner_kind)
            SELECT h.station_id, $1, h.template_id, f.item_key, 'submission',
                   'Critical item failed: ' || COALESCE({_LABEL_OF}, f.item_key), 'SHO, ' || h.name_en, h.due,
                   h.inspector_id, 'critical_item_failed', 'station_sho'
              FROM failed f CROSS JOIN head h
             ORDER BY f.item_key
            ON CONFLICT {_ONE_OPEN}
            DO UPDATE SET status = 'open', inspection_id = EXCLUDED.inspection_id, updated_at = now()
                    WHERE x.status = 'done'
                      AND COALESCE((SELECT max(n.at) FROM action_notes n
                                     WHERE n.action_id = x.id AND n.status_to = 'done'), '-infinity')
                          < (SELECT h.made_at FROM head h)
            RETURNING x.id, (xmax = 0) AS created, x.station_id, x.item_key, x.due_date,
                      (SELECT p.inspection_id FROM prior p WHERE p.id = x.id) AS reopened_from""",
        inspection_id,
    )
    for r in rows:
        if not r["created"]:
            await add_note(
                conn, r["id"], None, f"Failed again in inspection {inspection_id}; reopened.", "done", "open"
            )
        await _audit_automatic(conn, inspection_id, r)
    return [r["id"] for r in rows]


async def _audit_automatic(conn: Connection, inspection_id: UUID, r: Record) -> None:
    """The audit entry of an action the server opened or reopened, in the caller's transaction.

    No actor: no person asked for it. The rule did, on the submission or the approval whose own entry
    (inspection.submit, review.approve) carries who sent it, commits with this one and sits next to it
    in the trail; `inspection_id` names the inspection that failed the item. Naming the inspector would
    list under them, on the audit page's filter by person, actions they never chose to open, and on an
    approval it is the reviewer's override that failed the item, not the inspector."""
    common = {"inspection_id": str(inspection_id), "station_id": str(r["station_id"]), "item_key": r["item_key"]}
    if r["created"]:
        action = "action.create"
        data = {**common, "source": "submission", "due_date": r["due_date"].isoformat()}
    else:
        previous = str(r["reopened_from"]) if r["reopened_from"] else None
        action = "action.update"
        data = {
            **common,
            "source": "submission",
            "changes": ["inspection_id", "status"],
            "values": {"inspection_id": [previous, str(inspection_id)], "status": ["done", "open"]},
            "status_from": "done",
            "status_to": "open",
            "notes": 1,
        }
    await audit.record(conn, action, entity="action", entity_id=r["id"], data=data)


# This inspection's own automatic actions still open (read through the station's actions,
# actions_station_idx).
_OWN_OPEN_AUTO = """FROM inspections i JOIN actions a ON a.station_id = i.station_id AND a.inspection_id = i.id
            WHERE i.id = $1 AND a.source = 'submission' AND a.status = 'open'"""


async def has_open_auto(conn: Connection, inspection_id: UUID) -> bool:
    """Whether this inspection opened automatic actions that are still open (its approval may withdraw them)."""
    return await conn.fetchval(f"SELECT EXISTS (SELECT 1 {_OWN_OPEN_AUTO})", inspection_id)


async def corrected_items(conn: Connection, inspection_id: UUID) -> list[str]:
    """The items of this inspection's own automatic actions, still open, that it no longer fails by the
    scores in force (EFFECTIVE_SCORES): its inspector corrected the answer after a return (the item now
    passes, or a changed answer hides it), or a reviewer's override passed it."""
    rows = await conn.fetch(
        f"""SELECT a.item_key {_OWN_OPEN_AUTO}
              AND NOT EXISTS (SELECT 1 FROM ({EFFECTIVE_SCORES}) e WHERE e.item_key = a.item_key AND e.s = 0)""",
        inspection_id,
    )
    return [r["item_key"] for r in rows]


async def withdraw_passed(
    conn: Connection, inspection_id: UUID, item_keys: Sequence[str], author_id: UUID | None, reason: CancelReason
) -> list[Record]:
    """Cancel the automatic actions of these items that this inspection opened and nobody has touched,
    now that the approved inspection passes the items (`reason`: a reviewer's override passed them, or
    the inspector's answer corrected after a return does); returns (id, item_key, cancel_reason) of
    those cancelled, each with a note by the approving reviewer, `author_id`.

    Runs in the approval's transaction, after the overrides are stored: the reviewer who approves the
    corrected inspection is who decides, as cancelling is a reviewer's move. Untouched means as the server
    wrote it: still open, no note, no evidence, no owner named, its words not rewritten and the row never
    updated since it was made (a new due date leaves no note, but moves updated_at). An action someone
    has worked on is left for a person to decide; its row says the item was passed since
    (item_passed_by_override). So is one whose failure another submitted or approved inspection of the
    station, made since the action was opened, also found and still stands by: the cause is still there.
    """
    # The rows first, then the decision, in a statement of its own: its snapshot then sees what a person
    # committed while this waited for the rows. A note added meanwhile locks the row but leaves it as it
    # was, and the UPDATE's own re-check after a wait looks only at the row, not at its notes.
    await conn.execute(
        """SELECT 1 FROM actions
            WHERE inspection_id = $1 AND item_key = ANY($2::text[]) AND source = 'submission' AND status = 'open'
              FOR UPDATE""",
        inspection_id,
        list(item_keys),
    )
    rows = await conn.fetch(
        f"""UPDATE actions a SET status = 'cancelled', cancel_reason = $3, updated_at = now()
            WHERE a.inspection_id = $1 AND a.item_key = ANY($2::text[]) AND a.source = 'submission'
              AND a.status = 'open' AND a.evidence_photo_ids = '{{}}' AND a.owner_user_id IS NULL
              AND a.description_kind IS NOT NULL AND a.owner_kind IS NOT NULL AND a.updated_at = a.created_at
              AND NOT EXISTS (SELECT 1 FROM action_notes n WHERE n.action_id = a.id)
              AND NOT {_FAILED_SINCE}
            RETURNING a.id, a.item_key, a.cancel_reason""",
        inspection_id,
        list(item_keys),
        reason,
    )
    for r in rows:
        await add_note(
            conn,
            r["id"],
            author_id,
            # No words of its own: the action's cancel_reason says why, in the reader's language, and the
            # audit row names the review or the inspection.
            "",
            "open",
            "cancelled",
        )
    return list(rows)


# For the offline bundle ----------------------------------------------------------------------------


async def open_actions_for_bundle(conn: Connection, station_ids: Sequence[UUID], since: int) -> list[dict]:
    """The corrective actions of these stations that changed after cursor `since`, for the bundle.

    With since = 0 (a first download) only unfinished actions are sent. With a cursor, every action
    that changed after it is sent, verified and cancelled ones included, so the phone learns to drop them.
    Each row: {id, station_id, inspection_id, template_id, item_key, item_label, source, description, description_kind,
    owner_name, owner_kind, due_date, status, overdue, change_seq}, in change_seq order (the fields mean
    what they mean in ActionOut). The caller scopes `station_ids` to the inspector.
    """
    rows = await conn.fetch(
        f"""SELECT a.id, a.station_id, a.inspection_id, a.template_id, a.item_key,
                   CASE WHEN ti.item_key IS NOT NULL THEN jsonb_build_object('en', ti.label_en, 'ur', ti.label_ur)
                   END AS item_label,
                   a.source, a.description, a.description_kind, a.owner_name, a.owner_kind, a.due_date,
                   a.status, a.status IN ('open', 'in_progress') AND a.due_date < {TODAY} AS overdue, a.change_seq
              FROM actions a {_ITEM_LABEL_JOIN}
             WHERE a.station_id = ANY($1::uuid[]) AND a.change_seq > $2
               AND ($2 > 0 OR a.status NOT IN ('verified', 'cancelled'))
             ORDER BY a.change_seq""",
        list(station_ids),
        since,
    )
    return [dict(r) for r in rows]
