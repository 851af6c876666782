"""SQL for inspections: one function per statement, each taking the connection.

Scope is always in the WHERE clause, in the form Principal.scope_args() documents, on the district `d`
of the inspection's station. An inspector reads and writes only their own inspections, wherever their
stations now are (auth.models.readable_inspection_sql); a new one needs its station in their scope,
or their open visit there (_state).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from asyncpg import Connection, Record

from server.assignments.queries import open_assignment_sql
from server.audit.queries import AuditValues, queue_sql
from server.auth.models import Principal, readable_inspection_sql
from server.auth.queries import SESSION_PRINCIPAL
from server.inspections.models import ScoreSummary
from server.inspections.rules import AnswerColumns

# The columns every reply is built from. missing_photos is worked out only when the counter says
# something is missing, so the common case (all photos stored) costs no extra lookups.
_REPLY = """i.id, i.inspector_id, i.station_id, i.template_version_id, i.revision, i.status, i.score,
       i.distance_m, i.far_from_station, i.lat IS NULL AS location_missing, i.created_at, i.updated_at,
       i.submitted_at,
       CASE WHEN i.photos_missing > 0 THEN ARRAY(
           SELECT DISTINCT p FROM answers a, unnest(a.photo_ids) AS p
            WHERE a.inspection_id = i.id
              AND NOT EXISTS (SELECT 1 FROM photos f WHERE f.id = p AND f.inspection_id = i.id)
            ORDER BY p) ELSE '{}'::uuid[] END AS missing_photos"""


def _scope(alias: str, first: int) -> str:
    return (
        f"(${first}::bool OR {alias}.id = ANY(${first + 1}::uuid[]) OR {alias}.region_id = ANY(${first + 2}::uuid[]))"
    )


# Whether the caller may read inspection `i` (station district `d`): $2..$4 scope_args(), $5 own_id().
_READABLE = readable_inspection_sql(2)


def _state(
    source: str,
    scope: Callable[[str], str],
    caller: str,
    iid: str,
    station: str,
    version: str,
    digest: str,
    base: str,
) -> str:
    """The select list and joins of load_state, over placeholders and a scope condition given as SQL.

    The inspector's own inspection is theirs to write wherever its station now is, and its station
    with it (see readable_inspection_sql). A new inspection needs its station in their scope, or their
    open visit there of its template: a visit planned before the station moved away (or before the
    inspector was transferred) stays theirs (assignments.queries SERVES, needs_inspector), and the
    inspection a phone began for it offline must still arrive and complete it. Nothing records when a
    station or an inspector's districts changed, so the visit is the only proof that the inspector
    could have begun it there; a station where they hold none stays closed to new work. The visit
    lookup is one probe of assignments_one_open_idx, made only when the scope test fails."""
    return f"""s.id AS s_id, s.lat AS s_lat, s.lon AS s_lon, s.kind AS s_kind,
                   tv.id AS tv_id, tv.template_id AS tv_template_id,
                   (tv.kinds IS NULL OR s.kind = ANY (tv.kinds)) AS tv_applies,
                   EXISTS (SELECT 1 FROM inspections x WHERE x.id = {iid}) AS taken,
                   i.body_hash, i.lat AS i_lat, i.lon AS i_lon, i.accuracy_m AS i_accuracy_m,
                   (i.status <> 'draft' OR i.made_at IS NOT NULL) AS submitted_once,
                   (i.id IS NOT NULL AND EXISTS (
                       SELECT 1 FROM inspection_revisions r
                        WHERE r.inspection_id = i.id AND r.revision = {base} + 1 AND r.body_hash = {digest}))
                     AS replayed_earlier,
                   {_REPLY}
              {source}
              LEFT JOIN (stations s JOIN districts d ON d.id = s.district_id)
                     ON s.id = {station}
                    AND ({scope("d")}
                         OR EXISTS (SELECT 1 FROM inspections o
                                     WHERE o.id = {iid} AND o.station_id = s.id AND o.inspector_id = {caller})
                         OR EXISTS (SELECT 1 FROM assignments a JOIN template_versions av ON av.template_id = a.template_id
                                     WHERE av.id = {version} AND a.station_id = {station} AND a.status = 'open'
                                       AND a.inspector_id = {caller}))
              LEFT JOIN template_versions tv ON tv.id = {version}
              LEFT JOIN (inspections i JOIN stations si ON si.id = i.station_id
                                       JOIN districts di ON di.id = si.district_id)
                     ON i.id = {iid} AND ({scope("di")} OR i.inspector_id = {caller})"""


_LOAD_STATE = "SELECT " + _state(
    "FROM (SELECT) AS one", lambda alias: _scope(alias, 2), "$9", "$1", "$5", "$6", "$7", "$8"
)

# The same read for the caller of a session token: the session check of server.auth is the CTE
# `caller`, and the scope comes from its row. No row at all means no valid session.
_LOAD_STATE_AS = f"""WITH caller AS ({SESSION_PRINCIPAL})
    SELECT c.id AS p_id, c.username AS p_username, c.display_name AS p_display_name, c.role AS p_role,
           c.region_ids AS p_region_ids, c.district_ids AS p_district_ids, c.stale AS p_stale,
           """ + _state(
    "FROM caller c",
    lambda a: f"(c.role = 'admin' OR {a}.id = ANY (c.district_ids) OR {a}.region_id = ANY (c.region_ids))",
    "c.id",
    "$2",
    "$3",
    "$4",
    "$5",
    "$6",
)


# A replay's read: the caller, and the stored inspection they may write (in scope, or their own), nothing else.
_REPLAY_STATE = f"""WITH caller AS ({SESSION_PRINCIPAL})
    SELECT c.id AS p_id, c.username AS p_username, c.display_name AS p_display_name, c.role AS p_role,
           c.region_ids AS p_region_ids, c.district_ids AS p_district_ids, c.stale AS p_stale,
           i.body_hash, {_REPLY}
      FROM caller c
      LEFT JOIN (inspections i JOIN stations si ON si.id = i.station_id
                               JOIN districts di ON di.id = si.district_id)
             ON i.id = $2
            AND (c.role = 'admin' OR di.id = ANY (c.district_ids) OR di.region_id = ANY (c.region_ids)
                 OR i.inspector_id = c.id)"""


async def load_state(
    conn: Connection,
    user: Principal,
    inspection_id: UUID,
    station_id: UUID,
    version_id: UUID,
    digest: bytes,
    base_revision: int,
) -> Record:
    """Everything a PUT decides on, in one round trip; always one row.

    s_* is the document's station when in the caller's scope (or that of their own stored inspection,
    or one where they hold an open visit of the document's template: see _state);
    tv_* its template version; the reply columns describe the stored inspection when the caller may
    write it (in scope, or their own), i_lat, i_lon and i_accuracy_m its stored location, and
    `submitted_once` whether it was ever submitted (made_at is set by the first submission and kept
    through returns). `taken` says whether the id exists at all, so an id that is out of scope answers
    404 instead of looking free. `replayed_earlier` is true when this exact body already produced revision base + 1 (a late duplicate of an acknowledged write).
    """
    return await conn.fetchrow(
        _LOAD_STATE, inspection_id, *user.scope_args(), station_id, version_id, digest, base_revision, user.id
    )


async def load_state_as(
    conn: Connection,
    token_hash: bytes,
    inspection_id: UUID,
    station_id: UUID,
    version_id: UUID,
    digest: bytes,
    base_revision: int,
) -> Record | None:
    """load_state for the caller of a session token, with the caller (p_* columns, for
    server.auth.queries.signed_in with prefix "p_") in the same round trip; None without a valid session."""
    return await conn.fetchrow(_LOAD_STATE_AS, token_hash, inspection_id, station_id, version_id, digest, base_revision)


async def replay_state(conn: Connection, token_hash: bytes, inspection_id: UUID) -> Record | None:
    """The caller of a session token (p_* columns) and the inspection with its body_hash and reply
    columns when the caller may write it (in scope, or their own; else NULLs); None without a valid session."""
    return await conn.fetchrow(_REPLAY_STATE, token_hash, inspection_id)


async def definition_text(conn: Connection, version_id: UUID) -> str | None:
    return await conn.fetchval("SELECT definition::text FROM template_versions WHERE id = $1", version_id)


@dataclass(frozen=True, slots=True)
class Written:
    """The columns a write stores, worked out before the transaction starts."""

    id: UUID
    station_id: UUID
    template_version_id: UUID
    inspector_id: UUID
    status: str
    body_hash: bytes
    document: str
    started_at: datetime | None
    finished_at: datetime | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None
    far_from_station: bool
    score: ScoreSummary
    answers: AnswerColumns
    # The audit row of the write (audit.queued), queued by the write's own statement.
    audit: AuditValues
    # The template's id (not the version's): a submission looks up the assignment it completes.
    template_id: UUID

    def header(self) -> tuple[Any, ...]:
        s = self.score
        return (
            self.status,
            self.body_hash,
            self.document,
            self.started_at,
            self.finished_at,
            self.lat,
            self.lon,
            self.accuracy_m,
            self.distance_m,
            self.far_from_station,
            s.percent,
            s.grade,
            s.critical_failed,
            s,
            _quoted(self.answers.photo_ids),
        )

    def rows(self) -> tuple[Any, ...]:
        a = self.answers
        return (
            _quoted(a.keys),
            _quoted(a.sections),
            a.values,
            _texts(a.notes),
            _plain(a.scores),
            _plain(a.maxes),
            _plain(a.critical),
            _quoted(a.photos),
        )


# The answer columns travel as array literals in text parameters, cast in SQL ($n::text::float8[]).
# asyncpg's binary array encoder checks every element against abstract collection classes first, which
# for the eight 300-element arrays of one inspection cost about 1 ms of the app's CPU per write; these
# literals cost a few joins. Each literal is exactly what the array input function reads back.
_JSON = msgspec.json.Encoder()
# A JSON escape of a control character: a backslash before b, f, n, r, t, u or a slash. (An escaped
# backslash that a text follows with one of those letters matches too, which only costs the slow way.)
_JSON_CONTROL_ESCAPE = re.compile(rb"\\[bfnrtu/]")


def _plain(values: list[Any]) -> str:
    """Numbers, booleans and NULLs, whose JSON spelling array input reads as they are (finite numbers in
    the shortest form that reads back as the same double; scores and weights are always finite)."""
    return "{" + _JSON.encode(values)[1:-1].decode() + "}"


def _quoted(values: list[str]) -> str:
    """Texts with nothing to escape (keys, uuids, uuid[] literals), each quoted so that "null" stays text."""
    if not values:
        return "{}"
    every = "".join(values)
    if '"' in every or "\\" in every:
        return _texts(values)
    return '{"' + '","'.join(values) + '"}'


def _texts(values: list[str | None]) -> str:
    """Any texts and NULLs: inside double quotes only a backslash and a double quote need escaping.

    JSON escapes those two the same way, so a JSON array is the literal as it stands unless JSON also
    escaped a control character (a newline, say), which array input would read differently: then each
    text is escaped here.
    """
    encoded = _JSON.encode(values)
    if _JSON_CONTROL_ESCAPE.search(encoded) is None:
        return "{" + encoded[1:-1].decode() + "}"
    return (
        "{"
        + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


# A submission's write statement also finds (and locks) the open assignment it completes, if any:
# assignment_id and assignment_schedule_id in its row, NULL for a draft or when there is none.
_ASSIGNMENT = (
    "asg AS ("
    + open_assignment_sql(
        "{station}", "{template}", "$1", "{status} = 'submitted' AND EXISTS (SELECT 1 FROM w)", "{started}"
    )
    + ")"
)
_ASSIGNMENT_COLUMNS = (
    "(SELECT asg.id FROM asg) AS assignment_id, (SELECT asg.schedule_id FROM asg) AS assignment_schedule_id"
)

_WRITTEN = "id, inspector_id, station_id, template_version_id, revision, status, created_at, updated_at, submitted_at"

_REVISION = """rev AS (
    INSERT INTO inspection_revisions (inspection_id, revision, status, body_hash, document, actor_id)
    SELECT id, revision, status, body_hash, document, inspector_id FROM w)"""


def _answers_from(first: int) -> str:
    # ROWS FROM zips the arrays row by row; the values arrive as one JSON array (see AnswerColumns).
    return f"""SELECT w.id, a.k, a.s, NULLIF(a.v, 'null'::jsonb), a.n, a.sc, a.mx, a.c, a.p::uuid[]
      FROM w, ROWS FROM (unnest(${first}::text::text[]), unnest(${first + 1}::text::text[]),
                         jsonb_array_elements(${first + 2}::text::jsonb), unnest(${first + 3}::text::text[]),
                         unnest(${first + 4}::text::float8[]), unnest(${first + 5}::text::float8[]),
                         unnest(${first + 6}::text::bool[]), unnest(${first + 7}::text::text[]))
              AS a (k, s, v, n, sc, mx, c, p)"""


async def insert_inspection(conn: Connection, w: Written) -> Record | None:
    """Create revision 1, its history row, its answer rows and its audit row in one statement, which for
    a submission also finds and locks the open assignment it completes (_ASSIGNMENT); None if the id
    exists.

    INSERT … ON CONFLICT DO NOTHING is what makes concurrent first sends safe: the loser waits for the
    winner's commit and inserts nothing, and the rows that hang off the inspection are inserted only
    from what the header INSERT returned. No photo can be stored before its inspection exists (the
    photos row references it), so every referenced photo is missing at creation.
    """
    return await conn.fetchrow(
        f"""WITH w AS (
                INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                         body_hash, document, started_at, finished_at, submitted_at, lat, lon,
                                         accuracy_m, distance_m, far_from_station, score_percent, grade,
                                         critical_failed, score, photos_expected, photos_missing)
                VALUES ($1, $2, $3, $4, $5, 1, $6, $7::text::jsonb, $8, $9,
                        CASE WHEN $5 = 'submitted' THEN now() END, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                        cardinality($19::text::uuid[]), cardinality($19::text::uuid[]))
                ON CONFLICT (id) DO NOTHING
                RETURNING {_WRITTEN}, body_hash, document
            ), {_REVISION}, ans AS (
                INSERT INTO answers (inspection_id, item_key, section_key, value, note, score, max, critical,
                                     photo_ids)
                {_answers_from(20)}
            ), aud AS ({queue_sql(28, "w")}),
            {_ASSIGNMENT.format(station="$2", template="$37", status="$5", started="$8")}
            SELECT {_WRITTEN}, {_ASSIGNMENT_COLUMNS} FROM w""",
        w.id,
        w.station_id,
        w.template_version_id,
        w.inspector_id,
        *w.header(),
        *w.rows(),
        *w.audit,
        w.template_id,
    )


async def lock_inspection(conn: Connection, inspection_id: UUID) -> Record | None:
    """Lock the row before an update, so the update's later statements see every committed photo.

    FOR NO KEY UPDATE is the lock an UPDATE takes anyway; unlike FOR UPDATE it lets a photo upload's
    foreign-key check through, and it queues behind refresh_missing_photos, which takes the same lock.
    """
    return await conn.fetchrow(
        "SELECT revision, status FROM inspections WHERE id = $1 FOR NO KEY UPDATE", inspection_id
    )


async def supersede_overrides(conn: Connection, inspection_id: UUID) -> None:
    """The reviewer's overrides in force stop applying: the inspector has written a new revision.

    An override judged the answers of the revision the reviewer reviewed. A returned inspection the
    inspector saves again (as a draft or resubmitted) carries new answers, scored afresh, so the score
    stored with that revision is the inspector's own; an override left in force beside it would make
    the inspection say `score_overridden` next to a score that includes no override. The rows stay,
    with superseded_at, in the review history.
    """
    await conn.execute(
        "UPDATE score_overrides SET superseded_at = now() WHERE inspection_id = $1 AND superseded_at IS NULL",
        inspection_id,
    )


async def update_inspection(conn: Connection, inspection_id: UUID, base_revision: int, w: Written) -> Record | None:
    """Make revision base + 1 from `w`: header, history row, answer rows and the audit row, and for a
    submission find and lock the open assignment it completes (_ASSIGNMENT); None if base is stale.

    `WHERE revision = base` is the optimistic check, in SQL. Answer rows are upserted and only rows
    whose content changed are rewritten (a draft saved again mostly repeats itself); rows for items no
    longer answered are deleted. The two touch disjoint keys, so they are safe in one statement. The
    delete looks each stored row's key up in one object of the sent keys: `item_key <> ALL (keys)`
    compared every row with every key in the generic plan a pooled connection keeps (90,000
    comparisons, about 1.1 ms, for each edit of a 300-item inspection: a corrected resubmission from
    the phone, or an API client that saves drafts as it goes).
    """
    return await conn.fetchrow(
        f"""WITH w AS (
                UPDATE inspections
                   SET status = $2, revision = revision + 1, body_hash = $3, document = $4::text::jsonb,
                       started_at = $5, finished_at = $6, submitted_at = CASE WHEN $2 = 'submitted' THEN now() END,
                       lat = $7, lon = $8, accuracy_m = $9, distance_m = $10, far_from_station = $11,
                       score_percent = $12, grade = $13, critical_failed = $14, score = $15,
                       photos_expected = cardinality($16::text::uuid[]),
                       photos_missing = (SELECT count(*) FROM unnest($16::text::uuid[]) AS p
                                          WHERE NOT EXISTS (SELECT 1 FROM photos f
                                                             WHERE f.id = p AND f.inspection_id = $1)),
                       updated_at = now()
                 WHERE id = $1 AND revision = $25
             RETURNING {_WRITTEN}, body_hash, document
            ), {_REVISION}, gone AS (
                DELETE FROM answers
                 WHERE inspection_id = $1 AND EXISTS (SELECT 1 FROM w)
                   AND NOT (SELECT COALESCE(jsonb_object_agg(k, true), '{{}}') FROM unnest($17::text::text[]) k)
                           ? item_key
            ), ans AS (
                INSERT INTO answers AS o (inspection_id, item_key, section_key, value, note, score, max,
                                          critical, photo_ids)
                {_answers_from(17)}
                ON CONFLICT (inspection_id, item_key) DO UPDATE
                   SET section_key = EXCLUDED.section_key, value = EXCLUDED.value, note = EXCLUDED.note,
                       score = EXCLUDED.score, max = EXCLUDED.max, critical = EXCLUDED.critical,
                       photo_ids = EXCLUDED.photo_ids
                 WHERE (o.section_key, o.value, o.note, o.score, o.max, o.critical, o.photo_ids)
                       IS DISTINCT FROM (EXCLUDED.section_key, EXCLUDED.value, EXCLUDED.note, EXCLUDED.score,
                                         EXCLUDED.max, EXCLUDED.critical, EXCLUDED.photo_ids)
            ), aud AS ({queue_sql(26, "w")}),
            {_ASSIGNMENT.format(station="(SELECT station_id FROM w)", template="$35", status="$2", started="$5")}
            SELECT {_WRITTEN}, {_ASSIGNMENT_COLUMNS},
                   ARRAY(SELECT p FROM unnest($16::text::uuid[]) AS p
                          WHERE NOT EXISTS (SELECT 1 FROM photos f WHERE f.id = p AND f.inspection_id = $1)
                          ORDER BY p) AS missing_photos
              FROM w""",
        inspection_id,
        *w.header(),
        *w.rows(),
        base_revision,
        *w.audit,
        w.template_id,
    )


async def record_conflict(
    conn: Connection,
    inspection_id: UUID,
    reason: str,
    base_revision: int,
    server_revision: int,
    digest: bytes,
    document: str,
    actor_id: UUID,
) -> bool:
    """Keep a refused body; False when this very body was kept before (a retry of the same send)."""
    return (
        await conn.fetchval(
            """INSERT INTO sync_conflicts (inspection_id, reason, base_revision, server_revision, body_hash,
                                       document, actor_id)
           VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7)
           ON CONFLICT (inspection_id, body_hash) DO NOTHING
           RETURNING true""",
            inspection_id,
            reason,
            base_revision,
            server_revision,
            digest,
            document,
            actor_id,
        )
        is not None
    )


async def get_inspection(conn: Connection, user: Principal, inspection_id: UUID) -> Record | None:
    """The stored inspection with its document as JSON text, when the caller may read it."""
    return await conn.fetchrow(
        f"""SELECT {_REPLY}, i.document::text AS document
              FROM inspections i JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
             WHERE i.id = $1 AND {_READABLE}""",
        inspection_id,
        *user.scope_args(),
        user.own_id(),
    )


async def readable(conn: Connection, user: Principal, inspection_id: UUID) -> bool:
    return await conn.fetchval(
        f"""SELECT EXISTS (
                SELECT 1 FROM inspections i JOIN stations s ON s.id = i.station_id
                             JOIN districts d ON d.id = s.district_id
                 WHERE i.id = $1 AND {_READABLE})""",
        inspection_id,
        *user.scope_args(),
        user.own_id(),
    )


async def returned_for(conn: Connection, user: Principal) -> list[Record]:
    """The caller's own inspections a reviewer has returned for correction (for the offline bundle),
    wherever their stations now are (readable_inspection_sql): one returned after a transfer is theirs
    to correct. The same set sync.queries.etag_inputs fingerprints."""
    return await conn.fetch(
        f"""SELECT {_REPLY}, i.document::text AS document
              FROM inspections i
             WHERE i.inspector_id = $1 AND i.status = 'returned'
             ORDER BY i.created_at, i.id""",
        user.id,
    )


# Whether a reviewer's score override is in force on the inspection row `i`: its score is then the
# reviewer's, not the one its answers make. Every reader that shows a score shows this beside it.
OVERRIDDEN_SQL = """EXISTS (SELECT 1 FROM score_overrides o
                WHERE o.inspection_id = i.id AND o.superseded_at IS NULL) AS score_overridden"""


async def list_inspections(
    conn: Connection,
    user: Principal,
    *,
    station_id: UUID | None,
    status: str | None,
    inspector_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Record]:
    """Newest first, keyset-paginated on (created_at, id): a page costs the same however deep it is."""
    before_at, before_id = before or (None, None)
    return await conn.fetch(
        f"""SELECT i.id, i.station_id, s.code AS station_code, s.name_en, s.name_ur, i.inspector_id,
                   u.display_name AS inspector_name, i.template_version_id, i.status, i.revision,
                   i.score_percent, i.grade, i.critical_failed, {OVERRIDDEN_SQL}, i.photos_expected,
                   i.photos_missing, i.far_from_station, i.distance_m, i.created_at, i.updated_at, i.submitted_at
              FROM inspections i JOIN stations s ON s.id = i.station_id JOIN districts d ON d.id = s.district_id
                   JOIN users u ON u.id = i.inspector_id
             WHERE {readable_inspection_sql(1)} AND ($5::uuid IS NULL OR i.inspector_id = $5)
               AND ($6::uuid IS NULL OR i.station_id = $6) AND ($7::text IS NULL OR i.status = $7)
               AND ($8::timestamptz IS NULL OR i.created_at >= $8)
               AND ($9::timestamptz IS NULL OR i.created_at < $9)
               AND ($10::timestamptz IS NULL OR (i.created_at, i.id) < ($10, $11::uuid))
             ORDER BY i.created_at DESC, i.id DESC
             LIMIT $12""",
        *user.scope_args(),
        user.own_id(),
        inspector_id,
        station_id,
        status,
        since,
        until,
        before_at,
        before_id,
        limit,
    )


async def revisions(conn: Connection, inspection_id: UUID, *, documents: bool = True) -> list[Record]:
    return await conn.fetch(
        """SELECT r.revision, r.status, r.actor_id, u.username AS actor, r.at, CASE WHEN $2 THEN r.document END AS document
             FROM inspection_revisions r LEFT JOIN users u ON u.id = r.actor_id
            WHERE r.inspection_id = $1 ORDER BY r.revision""",
        inspection_id,
        documents,
    )


async def conflicts(conn: Connection, inspection_id: UUID, *, documents: bool = True) -> list[Record]:
    return await conn.fetch(
        """SELECT c.id, c.reason, c.base_revision, c.server_revision, c.actor_id, u.username AS actor, c.at,
                  CASE WHEN $2 THEN c.document END AS document
             FROM sync_conflicts c LEFT JOIN users u ON u.id = c.actor_id
            WHERE c.inspection_id = $1 ORDER BY c.id""",
        inspection_id,
        documents,
    )


async def refresh_missing_photos(conn: Connection, inspection_id: UUID) -> int:
    """Recount the inspection's referenced photos not yet stored; returns the new count.

    For the photo upload: call it in the upload's transaction, after the photos row is inserted. It
    locks the inspection row first and counts in a second statement, whose snapshot is taken after the
    lock: an inspection update committed meanwhile is then seen, and an update that starts later waits
    for this transaction and sees the photo. Counting in the UPDATE itself would read a snapshot from
    before the wait and could leave the counter one photo wrong.
    """
    await conn.execute("SELECT 1 FROM inspections WHERE id = $1 FOR NO KEY UPDATE", inspection_id)
    return (
        await conn.fetchval(
            """UPDATE inspections i
              SET photos_missing = (
                  SELECT count(DISTINCT p) FROM answers a, unnest(a.photo_ids) AS p
                   WHERE a.inspection_id = i.id
                     AND NOT EXISTS (SELECT 1 FROM photos f WHERE f.id = p AND f.inspection_id = i.id))
            WHERE i.id = $1
        RETURNING photos_missing""",
            inspection_id,
        )
        or 0
    )
