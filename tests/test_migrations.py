"""The migration runner: order, checksums, and two replicas starting at once."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server import db


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_migrations_apply_in_numeric_order_once(conn, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0002_second.sql": "INSERT INTO t_order VALUES (2);",
            "0001_first.sql": "CREATE TABLE t_order (n int); INSERT INTO t_order VALUES (1);",
            "0010_tenth.sql": "INSERT INTO t_order VALUES (10);",
        },
    )
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    assert await db.migrate(conn, d) == ["0001_first.sql", "0002_second.sql", "0010_tenth.sql"]
    assert await db.migrate(conn, d) == []
    assert [r["n"] for r in await conn.fetch("SELECT n FROM t_order")] == [1, 2, 10]


async def test_an_edited_applied_migration_is_refused(conn, tmp_path):
    d = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE t_edit (n int);"})
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    await db.migrate(conn, d)
    (d / "0001_a.sql").write_text("CREATE TABLE t_edit (n bigint);")
    with pytest.raises(db.MigrationError, match="edited"):
        await db.migrate(conn, d)


async def test_a_failing_migration_leaves_no_trace(conn, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE t_ok (n int);",
            "0002_bad.sql": "CREATE TABLE t_half (n int); SELECT no_such_function();",
        },
    )
    await conn.execute("DROP TABLE IF EXISTS schema_migrations")
    with pytest.raises(Exception, match="no_such_function"):
        await db.migrate(conn, d)
    assert await conn.fetchval("SELECT to_regclass('t_half')") is None
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 1


async def test_two_runners_at_once_apply_each_migration_once(database_url, tmp_path):
    d = _write(
        tmp_path / "m",
        {
            "0001_slow.sql": "CREATE TABLE t_race (n int); SELECT pg_sleep(0.3); INSERT INTO t_race VALUES (1);",
        },
    )
    conns = [await db.connect(database_url) for _ in range(2)]
    try:
        await conns[0].execute("DROP TABLE schema_migrations")
        results = await asyncio.gather(*[db.migrate(c, d) for c in conns])
        assert sorted(len(r) for r in results) == [0, 1]
        assert await conns[0].fetchval("SELECT count(*) FROM t_race") == 1
    finally:
        for c in conns:
            await c.close()


def test_badly_named_migration_files_are_refused(tmp_path):
    d = _write(tmp_path / "m", {"1_init.sql": "SELECT 1;"})
    with pytest.raises(db.MigrationError, match="NNNN_slug"):
        db.load_migrations(d)


def test_the_real_schema_directory_is_well_formed():
    migrations = db.load_migrations()
    assert migrations[0].name == "0001_init.sql"
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)


async def test_the_item_rollup_arrays_migration_keeps_the_counts_an_installation_already_has(pg_admin_url, tmp_path):
    # 0008 moves 0005's row-per-item failure counts into arrays by item position; a database that
    # already holds some (every installation that ran before it) must read the same afterwards.
    import json

    async with database_before(pg_admin_url, tmp_path, 8) as (conn, world):
        template = await conn.fetchval(
            "INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'ٹ') RETURNING id"
        )

        def version(keys: list[str], n: int) -> str:
            items = [{"key": k, "type": "yes_no", "label": {"en": f"{k} v{n}", "ur": k}} for k in keys]
            return json.dumps({"title": {"en": "T", "ur": "ٹ"}, "sections": [{"key": "s", "items": items}]})

        for n, keys in ((1, ["a", "b", "c"]), (2, ["a", "c", "d"])):  # 2 drops b and adds d
            await conn.execute(
                "INSERT INTO template_versions (template_id, version, definition) VALUES ($1, $2, $3::text::jsonb)",
                template,
                n,
                version(keys, n),
            )
        district, region = world.districts["A"], world.regions["A"]
        for item, failed, answered in (("a", 2, 5), ("c", 0, 5), ("d", 1, 1)):
            await conn.execute(
                """INSERT INTO rollup_item_failures (period_start, template_id, item_key, district_id, failed, answered)
                   VALUES ('2026-10-01', $1, $2, $3, $4, $5)""",
                template,
                item,
                district,
                failed,
                answered,
            )
            await conn.execute(
                """INSERT INTO rollup_item_failures_region (period_start, template_id, item_key, region_id, failed,
                                                           answered)
                   VALUES ('2026-10-01', $1, $2, $3, $4, $5)""",
                template,
                item,
                region,
                failed,
                answered,
            )

        applied = await db.migrate(conn)
        assert applied[0] == "0008_item_rollup_arrays.sql"
        positions = await conn.fetch("SELECT item_key, position, label_en FROM template_items ORDER BY position")
        assert [(r["item_key"], r["position"]) for r in positions] == [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
        # Each named by the newest version that has it.
        assert [r["label_en"] for r in positions] == ["a v2", "b v1", "c v2", "d v2"]
        for table, key in (("rollup_item_counts", district), ("rollup_item_counts_region", region)):
            row = await conn.fetchrow(f"SELECT * FROM {table} WHERE template_id = $1", template)
            assert key in row.values()
            assert (row["failed"], row["answered"]) == ([2, 0, 0, 1], [5, 0, 5, 1])
        assert not await conn.fetchval("SELECT to_regclass('rollup_item_failures') IS NOT NULL")
        # A version published after the migration gets positions from the trigger: e after d.
        await conn.execute(
            "INSERT INTO template_versions (template_id, version, definition) VALUES ($1, 3, $2::text::jsonb)",
            template,
            version(["e", "a"], 3),
        )
        assert await conn.fetchval("SELECT position FROM template_items WHERE item_key = 'e'") == 5
        labels = await conn.fetch("SELECT item_key, label_en FROM template_items ORDER BY position")
        assert [r["label_en"] for r in labels] == ["a v3", "b v1", "c v2", "d v2", "e v3"]


async def test_the_action_kinds_migration_recognises_only_text_the_server_wrote_and_nobody_changed(
    pg_admin_url, tmp_path
):
    # 0010 gives automatic actions kinds the phone words in its reader's language. Actions opened
    # before it have only their English text: those still exactly as the server wrote them (the item
    # labelled as any version of the template had it, or by its key) get the kinds; text a person
    # wrote or changed does not.
    import json

    async with database_before(pg_admin_url, tmp_path, 10) as (conn, world):
        station = world.stations["A"]
        station_en = await conn.fetchval("SELECT name_en FROM stations WHERE id = $1", station)
        template = await conn.fetchval(
            "INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'ٹ') RETURNING id"
        )
        versions = []
        for n, label in ((1, "Diary kept"), (2, "Diary kept up to date")):
            items = [{"key": k, "type": "yes_no", "label": {"en": f"{label} {k}", "ur": k}} for k in "abcdef"]
            definition = {"title": {"en": "T", "ur": "ٹ"}, "sections": [{"key": "s", "items": items}]}
            versions.append(
                await conn.fetchval(
                    """INSERT INTO template_versions (template_id, version, definition)
                       VALUES ($1, $2, $3::text::jsonb) RETURNING id""",
                    template,
                    n,
                    json.dumps(definition),
                )
            )
        inspection = await conn.fetchval(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision, body_hash,
                                        document)
               VALUES (gen_random_uuid(), $1, $2, $3, 'draft', 1, '\\x00', '{}') RETURNING id""",
            station,
            versions[1],
            world.users["inspector_a"],
        )
        sho = f"SHO, {station_en}"
        rows = {
            # item: (source, description, owner) -> the kinds expected
            "a": (
                "submission",
                "Critical item failed: Diary kept up to date a",
                sho,
                "critical_item_failed",
                "station_sho",
            ),
            "b": ("submission", "Critical item failed: Diary kept b", sho, "critical_item_failed", "station_sho"),
            "c": ("submission", "Critical item failed: c", "Moharrar", "critical_item_failed", None),
            "d": ("submission", "Enter every detainee", sho, None, "station_sho"),
            "e": ("reviewer", "Critical item failed: Diary kept e", sho, None, None),
            "f": ("submission", "Critical item failed: Diary kept up to date f, and the fan", "SHO", None, None),
        }
        for item, (source, description, owner, _, _) in rows.items():
            await conn.execute(
                """INSERT INTO actions (station_id, inspection_id, item_key, source, description, owner_name, due_date)
                   VALUES ($1, $2, $3, $4, $5, $6, current_date)""",
                station,
                inspection,
                item,
                source,
                description,
                owner,
            )

        applied = await db.migrate(conn)
        assert applied[0] == "0010_action_kinds.sql"
        kinds = {
            r["item_key"]: (r["description_kind"], r["owner_kind"])
            for r in await conn.fetch("SELECT item_key, description_kind, owner_kind FROM actions")
        }
        assert kinds == {item: (row[3], row[4]) for item, row in rows.items()}


async def test_the_draft_overrides_migration_supersedes_only_overrides_left_beside_a_draft(pg_admin_url, tmp_path):
    # 0012: an inspector's new revision of a returned inspection is scored afresh, so its overrides stop
    # applying. Drafts saved after a return before that rule still have theirs in force: only those go.
    async with database_before(pg_admin_url, tmp_path, 12) as (conn, world):
        template = await conn.fetchval(
            "INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'ٹ') RETURNING id"
        )
        version = await conn.fetchval(
            """INSERT INTO template_versions (template_id, version, definition)
               VALUES ($1, 1, '{"title": {"en": "T", "ur": "ٹ"}, "sections": []}') RETURNING id""",
            template,
        )
        saved_at = {}
        overrides = {}
        for status in ("draft", "returned", "approved"):
            inspection = await conn.fetchval(
                """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                            body_hash, document, updated_at)
                   VALUES (gen_random_uuid(), $1, $2, $3, $4, 3, '\\x00', '{}', now() - interval '2 days')
                   RETURNING id""",
                world.stations["A"],
                version,
                world.users["inspector_a"],
                status,
            )
            saved_at[status] = await conn.fetchval("SELECT updated_at FROM inspections WHERE id = $1", inspection)
            review = await conn.fetchval(
                """INSERT INTO reviews (inspection_id, reviewer_id, decision, revision, new_revision)
                   VALUES ($1, $2, 'return', 1, 2) RETURNING id""",
                inspection,
                world.users["reviewer_a"],
            )
            overrides[status] = await conn.fetchval(
                """INSERT INTO score_overrides (review_id, inspection_id, item_key, reviewer_id, reason, score)
                   VALUES ($1, $2, 'a', $3, 'seen in the register', 1) RETURNING id""",
                review,
                inspection,
                world.users["reviewer_a"],
            )

        applied = await db.migrate(conn)
        assert applied[0] == "0012_draft_overrides.sql"
        superseded = {
            status: await conn.fetchval("SELECT superseded_at FROM score_overrides WHERE id = $1", oid)
            for status, oid in overrides.items()
        }
        assert superseded == {"draft": saved_at["draft"], "returned": None, "approved": None}


async def test_the_made_at_migration_changes_no_month_already_counted(pg_admin_url, tmp_path):
    # 0016: an inspection counts in the month it was made, kept through a return. Those counted now keep
    # the month they are counted in; one being corrected takes its first submission's; a draft has none.
    async with database_before(pg_admin_url, tmp_path, 16) as (conn, world):
        template = await conn.fetchval(
            "INSERT INTO templates (key, title_en, title_ur) VALUES ('t', 'T', 'ٹ') RETURNING id"
        )
        version = await conn.fetchval(
            """INSERT INTO template_versions (template_id, version, definition)
               VALUES ($1, 1, '{"title": {"en": "T", "ur": "ٹ"}, "sections": []}') RETURNING id""",
            template,
        )
        ids = {}
        for status, submitted in (
            ("approved", "2026-02-28T21:00:00Z"),
            ("returned", "2026-03-03T08:00:00Z"),
            ("draft", None),
        ):
            ids[status] = await conn.fetchval(
                """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision,
                                            body_hash, document, submitted_at, finished_at)
                   VALUES (gen_random_uuid(), $1, $2, $3, $4, 2, '\\x00', '{}', $5::text::timestamptz,
                           '2026-02-27T10:00:00Z')
                   RETURNING id""",
                world.stations["A"],
                version,
                world.users["inspector_a"],
                status,
                submitted,
            )
        await conn.execute(
            """INSERT INTO rollup_ledger (inspection_id, station_id, district_id, region_id, template_id,
                                          period_start, percent, critical_failed, overridden)
               VALUES ($1, $2, $3, $4, $5, '2026-03-01', 80, false, false)""",
            ids["approved"],
            world.stations["A"],
            world.districts["A"],
            world.regions["A"],
            template,
        )
        # The returned one was first submitted on 1 March, finished on the phone on 27 February.
        for revision, status, at in ((1, "submitted", "2026-03-01T06:00:00Z"), (2, "returned", "2026-03-02T06:00:00Z")):
            await conn.execute(
                """INSERT INTO inspection_revisions (inspection_id, revision, status, body_hash, document, actor_id, at)
                   VALUES ($1, $2, $3, '\\x00', '{"finished_at": "2026-02-27T10:00:00Z"}', $4, $5::text::timestamptz)""",
                ids["returned"],
                revision,
                status,
                world.users["inspector_a"],
                at,
            )

        applied = await db.migrate(conn)
        assert applied[0] == "0016_made_at.sql"
        made = {
            status: await conn.fetchval("SELECT made_at FROM inspections WHERE id = $1", iid)
            for status, iid in ids.items()
        }
        assert made == {
            "approved": datetime(2026, 2, 28, 21, tzinfo=UTC),  # March in Pakistan, as counted
            "returned": datetime(2026, 2, 27, 10, tzinfo=UTC),
            "draft": None,
        }


async def test_the_action_template_migration_names_each_actions_checklist_where_it_can_be_known(pg_admin_url, tmp_path):
    # 0031: an action names the checklist of its item (keys repeat across checklists). One from an
    # inspection takes the inspection's; one a reviewer opened on a key only one checklist has takes
    # that one; a key two checklists have cannot be told apart and stays unnamed.
    import json

    async with database_before(pg_admin_url, tmp_path, 31) as (conn, world):
        station = world.stations["A"]
        templates, versions = {}, {}
        for key, items in (("lockup", ["item_1", "only_here"]), ("fire", ["item_1"])):
            templates[key] = await conn.fetchval(
                "INSERT INTO templates (key, title_en, title_ur) VALUES ($1, 'T', 'ٹ') RETURNING id", key
            )
            definition = {
                "title": {"en": "T", "ur": "ٹ"},
                "sections": [
                    {"key": "s", "items": [{"key": k, "type": "yes_no", "label": {"en": k, "ur": k}} for k in items]}
                ],
            }
            versions[key] = await conn.fetchval(
                """INSERT INTO template_versions (template_id, version, definition)
                   VALUES ($1, 1, $2::text::jsonb) RETURNING id""",
                templates[key],
                json.dumps(definition),
            )
        inspection = await conn.fetchval(
            """INSERT INTO inspections (id, station_id, template_version_id, inspector_id, status, revision, body_hash,
                                        document)
               VALUES (gen_random_uuid(), $1, $2, $3, 'draft', 1, '\\x00', '{}') RETURNING id""",
            station,
            versions["fire"],
            world.users["inspector_a"],
        )
        made = {}
        # (Before 0031 one station held one unfinished action per key: the last is at another station.)
        for name, inspection_id, item_key, at in (
            ("from_inspection", inspection, "item_1", station),
            ("one_checklist", None, "only_here", station),
            ("no_item", inspection, None, station),
            ("two_checklists", None, "item_1", world.stations["A2"]),
        ):
            made[name] = await conn.fetchval(
                """INSERT INTO actions (station_id, inspection_id, item_key, source, description, due_date)
                   VALUES ($1, $2, $3, 'reviewer', 'Fix it', current_date) RETURNING id""",
                at,
                inspection_id,
                item_key,
            )

        assert await db.migrate(conn) == [p.name for p in sorted(db.SCHEMA_DIR.glob("*.sql")) if int(p.name[:4]) >= 31]
        named = {r["id"]: r["template_id"] for r in await conn.fetch("SELECT id, template_id FROM actions")}
        assert {name: named[i] for name, i in made.items()} == {
            "from_inspection": templates["fire"],
            "one_checklist": templates["lockup"],
            "two_checklists": None,
            "no_item": None,
        }


@contextlib.asynccontextmanager
async def database_before(pg_admin_url: str, tmp_path, first_new: int):
    """A new database with the migrations before `first_new` applied and a world made in it, as an
    installation that ran the older code has: (connection, world). Dropped afterwards."""
    from server.embedded import with_database
    from tests.conftest import _admin_exec, drop_database
    from tests.factories import make_world

    name = f"t_{uuid.uuid4().hex[:16]}"
    await _admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
    before = tmp_path / "before"
    before.mkdir()
    for path in db.SCHEMA_DIR.glob("*.sql"):
        if int(path.name[:4]) < first_new:
            shutil.copy(path, before / path.name)
    conn = await db.connect(with_database(pg_admin_url, name))
    try:
        await db.migrate(conn, before)
        yield conn, await make_world(conn)
    finally:
        await conn.close()
        await drop_database(pg_admin_url, name)
