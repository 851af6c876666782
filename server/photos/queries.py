"""SQL of the photo API: one function per statement, each taking the connection.

Who may read a photo is decided here, in the WHERE clause: admins everything, reviewers their
regions and districts, inspectors their own inspections (READABLE_SQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.auth.models import Principal, readable_inspection_sql

# Any constant works if every replica uses the same one. It serialises the reuse check of photo
# uploads (see lock_reuse_check); "phot" in ASCII.
REUSE_LOCK_ID = 0x70686F74

_PHOTO_COLUMNS = """p.id, p.inspection_id, p.item_key, p.uploaded_by, p.sha256, p.phash, p.size_bytes, p.format,
       p.width, p.height, p.original_key, p.display_key, p.thumb_key, p.exif_taken_at, p.exif_lat, p.exif_lon,
       p.device_taken_at, p.device_lat, p.device_lon, p.device_accuracy_m, p.distance_m, p.source, p.created_at"""

# Who may read a photo (of inspection i, station district d): $2..$4 are Principal.scope_args(), $5 the
# inspector's own id (see reader_args). Corrective actions check their evidence photos with it too.
READABLE_SQL = readable_inspection_sql(2)


def reader_args(user: Principal) -> tuple[bool, list[UUID], list[UUID], UUID | None]:
    return (*user.scope_args(), user.own_id())


def _takes_photo(photo_id: str) -> str:
    """Whether inspection `i` takes the photo whose id is the parameter `photo_id`: until it is approved;
    after that, only a photo its answers name (one still on its way) or one already stored there (a
    resend)."""
    return f"""(i.status <> 'approved'
                OR EXISTS (SELECT 1 FROM answers a WHERE a.inspection_id = i.id AND {photo_id} = ANY(a.photo_ids))
                OR EXISTS (SELECT 1 FROM photos p WHERE p.id = {photo_id} AND p.inspection_id = i.id))"""


async def upload_target(
    conn: Connection, user: Principal, inspection_id: UUID, item_key: str, photo_id: UUID
) -> Record | None:
    """The inspection an inspector may add a photo to, its station's position, whether the item is
    one of its pinned template version's items, and whether the inspection takes this photo
    (_takes_photo; lock_inspections asks again when the photo is written).

    A submitted inspection still takes any photo of its own: the phone's queue may hold the photo of
    an edit made before the Submit (one taken and then removed), and refusing it would only park it
    on the phone as needing attention. An approved one is final."""
    return await conn.fetchrow(
        f"""SELECT i.id, s.lat AS station_lat, s.lon AS station_lon,
                   EXISTS (SELECT 1
                             FROM jsonb_array_elements(tv.definition -> 'sections') AS sec,
                                  jsonb_array_elements(sec -> 'items') AS item
                            WHERE item ->> 'key' = $6) AS item_ok,
                   {_takes_photo("$7")} AS takes_photo
              FROM inspections i
              JOIN stations s ON s.id = i.station_id
              JOIN districts d ON d.id = s.district_id
              JOIN template_versions tv ON tv.id = i.template_version_id
             WHERE i.id = $1 AND {READABLE_SQL}""",
        inspection_id,
        *reader_args(user),
        item_key,
        photo_id,
    )


async def photo_by_id(conn: Connection, photo_id: UUID) -> Record | None:
    """Any photo with this id, whoever owns it: only for the idempotency check of an upload."""
    return await conn.fetchrow(f"SELECT {_PHOTO_COLUMNS} FROM photos p WHERE p.id = $1", photo_id)


async def readable_photo(conn: Connection, user: Principal, photo_id: UUID) -> Record | None:
    return await conn.fetchrow(
        f"""SELECT {_PHOTO_COLUMNS}
              FROM photos p
              JOIN inspections i ON i.id = p.inspection_id
              JOIN stations s ON s.id = i.station_id
              JOIN districts d ON d.id = s.district_id
             WHERE p.id = $1 AND {READABLE_SQL}""",
        photo_id,
        *reader_args(user),
    )


# How many earlier photos a new one is recorded as reusing, at most: enough for a reviewer to follow the
# trail (each of those names its own), bounded however often one picture comes back.
MATCHES_KEPT = 20


async def lock_reuse_check(conn: Connection) -> None:
    # Two uploads of the same picture at the same moment would each miss the other's uncommitted
    # row. Holding this lock from before the insert until commit orders them: the second one's
    # search starts after the first has committed, and records the pair for both.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", REUSE_LOCK_ID)


async def lock_inspections(
    conn: Connection, inspection_id: UUID, photo_id: UUID, others: Iterable[UUID], *, wait: bool = False
) -> tuple[UUID | None, bool]:
    """Lock the rows of the inspection and of the `others` whose photos the new one copies, all of them
    or none: (None, whether the inspection still takes this photo, as upload_target asks) once every row
    is held, or (the first row another transaction holds, False) while one is held elsewhere.

    Nothing waits here (SKIP LOCKED): the caller rolls back, letting go of the rows it did get, and
    waits for the busy one holding nothing (wait_for_inspection), then tries again. No order of ids would
    do: a submission holds its own row, whatever its id, while its trigger marks the visits that overlap
    it (schema 0022). An upload that never waits while it holds a row cannot close a cycle with it.

    Locking the inspection's row before counting makes the count's statement see every change committed
    to it before ours, including a document replaced by a concurrent sync. And a review that approved the
    inspection while the photo was being processed (upload_target was checked before the body was read)
    has committed by now, or waits for ours: the photo lands on an inspection that takes it, or not at
    all.

    With `wait`, the rows are locked in id order, waiting for each as long as it takes (busy is then
    always None): the upload's last try (service._insert)."""
    ids = sorted({inspection_id, *others})
    mode = "ORDER BY i.id FOR NO KEY UPDATE OF i" if wait else "FOR NO KEY UPDATE OF i SKIP LOCKED"
    row = await conn.fetchrow(
        f"""WITH locked AS MATERIALIZED (
                SELECT i.id, {_takes_photo("$3")} AS takes_photo
                  FROM inspections i
                 WHERE i.id = ANY($1::uuid[])
                 {mode})
            SELECT (SELECT x.id FROM unnest($1::uuid[]) AS x (id)
                     WHERE NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = x.id)
                     ORDER BY x.id LIMIT 1) AS busy,
                   COALESCE((SELECT takes_photo FROM locked WHERE id = $2), false) AS takes_photo""",
        ids,
        inspection_id,
        photo_id,
    )
    return row["busy"], row["takes_photo"]


async def wait_for_inspection(conn: Connection, inspection_id: UUID) -> None:
    """Wait, outside any transaction, until the transaction holding the inspection's row ends: the row is
    locked and let go in the same statement, so this holds nothing while it waits."""
    if conn.is_in_transaction():
        raise RuntimeError("wait_for_inspection must wait holding nothing, outside a transaction")
    await conn.execute("SELECT 1 FROM inspections WHERE id = $1 FOR NO KEY UPDATE", inspection_id)


async def insert_photo(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert unless the id exists; True when this call created the row."""
    created = await conn.fetchval(
        """INSERT INTO photos (id, inspection_id, item_key, uploaded_by, sha256, phash, size_bytes, format, width,
                               height, original_key, display_key, thumb_key, exif_taken_at, exif_lat, exif_lon,
                               device_taken_at, device_lat, device_lon, device_accuracy_m, distance_m, phash_centre,
                               source)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                   $22, $23)
           ON CONFLICT (id) DO NOTHING
           RETURNING true""",
        values["id"],
        values["inspection_id"],
        values["item_key"],
        values["uploaded_by"],
        values["sha256"],
        values["phash"],
        values["size_bytes"],
        values["format"],
        values["width"],
        values["height"],
        values["original_key"],
        values["display_key"],
        values["thumb_key"],
        values["exif_taken_at"],
        values["exif_lat"],
        values["exif_lon"],
        values["device_taken_at"],
        values["device_lat"],
        values["device_lon"],
        values["device_accuracy_m"],
        values["distance_m"],
        values.get("phash_centre"),
        values.get("source"),
    )
    return bool(created)


async def find_near_duplicates(
    conn: Connection,
    *,
    phash: int,
    mirrored: int,
    sha256: str,
    inspection_id: UUID,
    probes: Sequence[Sequence[int]],
    max_distance: int,
) -> list[Record]:
    """Photos of other inspections within max_distance bits of phash or of its mirror image's hash
    (`mirrored`, pipeline.reuse_hashes), or with identical bytes: the closest MATCHES_KEPT of them, the
    first uploaded first among equals. `probes` must cover the bands of both hashes (rules.band_probes).

    The band conditions only narrow the search to index probes (see 0004_photos.sql); the exact
    distance is what decides. Bounded: a picture uploaded again and again (a placeholder from the
    gallery, a client's bug) matched every earlier copy, and each upload wrote two reuse rows per copy
    and recounted every inspection holding one, under the lock every upload takes.
    """
    return await conn.fetch(
        """SELECT p.id, p.inspection_id, d.distance, p.sha256 = $2 AS same_bytes
             FROM photos p,
                  LATERAL (SELECT LEAST(bit_count((p.phash # $1)::bit(64)),
                                        bit_count((p.phash # $10)::bit(64)))::int AS distance) d
            WHERE (p.phash_band0 = ANY($3::int[]) OR p.phash_band1 = ANY($4::int[])
                   OR p.phash_band2 = ANY($5::int[]) OR p.phash_band3 = ANY($6::int[]) OR p.sha256 = $2)
              AND p.inspection_id <> $7
              AND (d.distance <= $8 OR p.sha256 = $2)
            ORDER BY same_bytes DESC, distance, p.created_at, p.id
            LIMIT $9""",
        phash,
        sha256,
        *(list(band) for band in probes),
        inspection_id,
        max_distance,
        MATCHES_KEPT,
        mirrored,
    )


async def record_reuse(conn: Connection, photo_id: UUID, matches: Iterable[Record]) -> None:
    pairs = [(photo_id, m["id"], m["distance"], m["same_bytes"]) for m in matches]
    pairs += [(other, mine, distance, same) for mine, other, distance, same in pairs]
    if not pairs:
        return
    await conn.execute(
        """INSERT INTO photo_reuse (photo_id, other_id, distance, same_bytes)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::smallint[], $4::bool[])
           ON CONFLICT DO NOTHING""",
        *(list(column) for column in zip(*pairs, strict=True)),
    )


async def recount_reused(conn: Connection, inspection_ids: Iterable[UUID]) -> None:
    """Count again how many photos each inspection's answers name that also appear in another inspection
    (reused_photo_count, 0021_photo_reuse_hashes.sql; a trigger on answers does the same when they change).

    The caller holds every one of these rows locked already (lock_inspections), so the count sees each
    inspection as committed, not from a snapshot taken before a wait for its lock."""
    await conn.execute(
        """UPDATE inspections i
              SET reused_photos = c.n
             FROM (SELECT x.id, reused_photo_count(x.id) AS n FROM unnest($1::uuid[]) AS x (id)) AS c
            WHERE i.id = c.id AND i.reused_photos <> c.n""",
        sorted(set(inspection_ids)),
    )


_REUSE_FROM = """FROM photo_reuse r
              JOIN photos p ON p.id = r.other_id
              JOIN inspections i ON i.id = p.inspection_id
              JOIN stations s ON s.id = i.station_id
              JOIN districts d ON d.id = s.district_id"""


async def reuse_in_scope(conn: Connection, user: Principal, photo_id: UUID, limit: int = 100) -> list[Record]:
    return await conn.fetch(
        f"""SELECT p.id AS photo_id, p.inspection_id, p.item_key, s.id AS station_id, s.code AS station_code,
                   s.name_en AS station_name, r.distance, r.same_bytes, p.created_at AS uploaded_at
              {_REUSE_FROM}
             WHERE r.photo_id = $1 AND {READABLE_SQL}
             ORDER BY r.distance, p.created_at
             LIMIT $6""",
        photo_id,
        *reader_args(user),
        limit,
    )


async def reuse_out_of_scope(conn: Connection, user: Principal, photo_id: UUID) -> int:
    return await conn.fetchval(
        f"""SELECT count(*) {_REUSE_FROM}
             WHERE r.photo_id = $1 AND NOT ({READABLE_SQL})""",
        photo_id,
        *reader_args(user),
    )


async def awaited_photos(conn: Connection, photo_ids: Iterable[UUID] | None = None) -> list[Record]:
    """Photos an inspection still waits for: its answers name the id and no photo row holds it (after a
    database restore, their objects may be all that is left). One row per photo id (photo_id,
    inspection_id, item_key, inspector_id); only these ids when given. Only inspections missing photos
    are read, through their partial index (schema 0013). For the orphan sweeper and recovery.py."""
    return await conn.fetch(
        """SELECT DISTINCT ON (p) p AS photo_id, a.inspection_id, a.item_key, i.inspector_id
             FROM inspections i JOIN answers a ON a.inspection_id = i.id, unnest(a.photo_ids) AS p
            WHERE i.photos_missing > 0 AND ($1::uuid[] IS NULL OR p = ANY($1::uuid[]))
              AND NOT EXISTS (SELECT 1 FROM photos f WHERE f.id = p)
            ORDER BY p, a.inspection_id""",
        None if photo_ids is None else list(set(photo_ids)),
    )


async def stored_keys(conn: Connection, photo_ids: Iterable[UUID]) -> tuple[set[str], set[UUID]]:
    """Of these photo ids, every object key their rows refer to, and the ids that have a row (for the
    orphan sweeper)."""
    rows = await conn.fetch(
        "SELECT id, original_key, display_key, thumb_key FROM photos WHERE id = ANY($1::uuid[])", list(set(photo_ids))
    )
    return {row[k] for row in rows for k in ("original_key", "display_key", "thumb_key")}, {row["id"] for row in rows}
