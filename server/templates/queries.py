"""SQL for templates and their published versions.

A template row holds the mutable draft; template_versions holds what was published, and the database
refuses any UPDATE or DELETE there (trigger in schema/0001_init.sql). Templates are not scoped by
place: admins see everything, other users only templates that have at least one published version.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asyncpg import Connection, Record

from server.org.queries import like_pattern
from server.templates.api_models import TemplateOut, Text, VersionOut, VersionSummary
from server.templates.meaning import PublishedItem

_LATEST = "LEFT JOIN LATERAL latest_version(t.id) v ON true"

_TEMPLATE_COLS = """t.id, t.key, t.title_en, t.title_ur, t.archived_at, t.created_at, t.updated_at, t.draft,
                    v.id AS latest_version_id, v.version AS latest_version, v.published_at AS latest_published_at,
                    v.kinds, v.definition AS latest_definition,
                    CASE WHEN t.draft IS NULL THEN 'none'
                         WHEN v.definition IS NOT NULL AND t.draft = v.definition THEN 'published'
                         ELSE 'unpublished' END AS draft_status"""


def template_out(row: Record) -> TemplateOut:
    return TemplateOut(
        id=row["id"],
        key=row["key"],
        title=Text(en=row["title_en"], ur=row["title_ur"]),
        latest_version=row["latest_version"],
        latest_version_id=row["latest_version_id"],
        latest_published_at=row["latest_published_at"],
        kinds=list(row["kinds"]) if row["kinds"] is not None else None,
        draft_status=row["draft_status"],
        archived=row["archived_at"] is not None,
        archived_at=row["archived_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def list_templates(
    conn: Connection, *, is_admin: bool, q: str | None, archived: bool | None
) -> list[TemplateOut]:
    rows = await conn.fetch(
        f"""SELECT {_TEMPLATE_COLS} FROM templates t {_LATEST}
             WHERE ($1::bool OR v.id IS NOT NULL) AND ($2::bool IS NULL OR (t.archived_at IS NOT NULL) = $2)
               AND ($3::text IS NULL OR t.key ILIKE $3 OR t.title_en ILIKE $3 OR t.title_ur ILIKE $3)
             ORDER BY t.title_en, t.key""",
        is_admin,
        archived,
        like_pattern(q),
    )
    return [template_out(r) for r in rows]


async def get_template(conn: Connection, template_id: UUID, *, is_admin: bool) -> Record | None:
    """The template with its draft and latest version, or None (also for non-admins when unpublished)."""
    return await conn.fetchrow(
        f"SELECT {_TEMPLATE_COLS} FROM templates t {_LATEST} WHERE t.id = $1 AND ($2::bool OR v.id IS NOT NULL)",
        template_id,
        is_admin,
    )


async def key_taken(conn: Connection, key: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM templates WHERE key = $1)", key)


async def insert_template(conn: Connection, key: str, title_en: str, title_ur: str, created_by: UUID | None) -> UUID:
    return await conn.fetchval(
        "INSERT INTO templates (key, title_en, title_ur, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
        key,
        title_en,
        title_ur,
        created_by,
    )


async def lock_template(conn: Connection, template_id: UUID) -> Record | None:
    """The template row, locked until commit: drafts and publications of one template go one at a time."""
    return await conn.fetchrow(
        "SELECT id, key, title_en, title_ur, draft, archived_at FROM templates WHERE id = $1 FOR UPDATE", template_id
    )


async def save_draft(conn: Connection, template_id: UUID, draft: dict[str, Any]) -> None:
    await conn.execute("UPDATE templates SET draft = $2, updated_at = now() WHERE id = $1", template_id, draft)


async def set_archived(conn: Connection, template_id: UUID, archived: bool) -> None:
    await conn.execute(
        """UPDATE templates SET archived_at = CASE WHEN $2 THEN coalesce(archived_at, now()) END, updated_at = now()
            WHERE id = $1""",
        template_id,
        archived,
    )


async def latest_version(conn: Connection, template_id: UUID) -> Record | None:
    return await conn.fetchrow(
        "SELECT id, version, definition, kinds FROM latest_version($1)",
        template_id,
    )


async def published_items(conn: Connection, template_id: UUID) -> dict[str, PublishedItem]:
    """Each item key of the template's published versions, as the newest version that has it defines it."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (j.item ->> 'key') j.item ->> 'key' AS key, j.item ->> 'type' AS type, tv.version,
                  ARRAY(SELECT o ->> 'key' FROM jsonb_array_elements(COALESCE(j.item -> 'options', '[]')) o) AS options
             FROM template_versions tv, jsonb_path_query(tv.definition, '$.sections[*].items[*]') AS j (item)
            WHERE tv.template_id = $1
            ORDER BY j.item ->> 'key', tv.version DESC""",
        template_id,
    )
    return {r["key"]: PublishedItem(r["type"], frozenset(r["options"]), r["version"]) for r in rows}


async def insert_version(
    conn: Connection,
    template_id: UUID,
    version: int,
    definition: dict[str, Any],
    kinds: list[str] | None,
    published_by: UUID | None,
) -> Record:
    return await conn.fetchrow(
        """INSERT INTO template_versions (template_id, version, definition, kinds, published_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING id, published_at""",
        template_id,
        version,
        definition,
        kinds,
        published_by,
    )


async def set_title(conn: Connection, template_id: UUID, title_en: str, title_ur: str) -> None:
    await conn.execute(
        "UPDATE templates SET title_en = $2, title_ur = $3, updated_at = now() WHERE id = $1",
        template_id,
        title_en,
        title_ur,
    )


_SUMMARY_COLS = """tv.id, tv.template_id, tv.version, tv.kinds, tv.published_at, tv.published_by,
                   jsonb_array_length(tv.definition -> 'sections') AS sections,
                   (SELECT count(*) FROM jsonb_array_elements(tv.definition -> 'sections') s,
                                         jsonb_array_elements(s -> 'items') i)::int AS items"""


async def list_versions(conn: Connection, template_id: UUID) -> list[VersionSummary]:
    rows = await conn.fetch(
        f"SELECT {_SUMMARY_COLS} FROM template_versions tv WHERE tv.template_id = $1 ORDER BY tv.version DESC",
        template_id,
    )
    return [VersionSummary(**{**dict(r), "kinds": list(r["kinds"]) if r["kinds"] is not None else None}) for r in rows]


_VERSION_COLS = """tv.id, tv.template_id, t.key AS template_key, tv.version, tv.definition, tv.kinds,
                   tv.published_at, tv.published_by"""


def _version_out(row: Record | None) -> VersionOut | None:
    if row is None:
        return None
    return VersionOut(**{**dict(row), "kinds": list(row["kinds"]) if row["kinds"] is not None else None})


async def get_version(conn: Connection, template_id: UUID, version: int) -> VersionOut | None:
    return _version_out(
        await conn.fetchrow(
            f"""SELECT {_VERSION_COLS} FROM template_versions tv JOIN templates t ON t.id = tv.template_id
             WHERE tv.template_id = $1 AND tv.version = $2""",
            template_id,
            version,
        )
    )


async def get_version_by_id(conn: Connection, version_id: UUID) -> VersionOut | None:
    return _version_out(
        await conn.fetchrow(
            f"""SELECT {_VERSION_COLS} FROM template_versions tv JOIN templates t ON t.id = tv.template_id
             WHERE tv.id = $1""",
            version_id,
        )
    )
