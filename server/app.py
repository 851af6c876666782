"""create_app(): wiring only. Capabilities bring their routes; this file connects them to the world."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import logging
import mimetypes
import os
from collections.abc import AsyncGenerator
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import msgspec
from asyncpg import Connection
from litestar import HttpMethod, Litestar, MediaType, Request, Response, head, route
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.file_system import BaseLocalFileSystem
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.response.file import ASGIFileResponse
from litestar.static_files import StaticFiles, create_static_files_router

from server import db, loop_monitor, metrics
from server.config import Settings
from server.errors import Unavailable
from server.http import (
    DEPENDENCIES,
    EXCEPTION_HANDLERS,
    ProblemResponses,
    QueryTimes,
    check_request,
    etag_listed,
    index_query_rules,
    problem_response,
)
from server.logs import request_id_middleware
from server.security import add_security_headers
from server.storage import DirectoryStore, PhotoStore
from server.workers import HealingProcessPool

log = logging.getLogger("muaina")

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"

# Each capability's routes.py exports ROUTES. A capability not yet written is simply absent;
# one that exists but fails to import stops start-up, as it should.
CAPABILITIES = (
    "auth",
    "audit",
    "org",
    "templates",
    "inspections",
    "photos",
    "sync",
    "review",
    "actions",
    "dashboards",
    "exports",
    "assignments",
    "template_transfer",
)


def _capability_routes() -> list[Any]:
    routes: list[Any] = []
    for name in CAPABILITIES:
        module_name = f"server.{name}.routes"
        if importlib.util.find_spec(f"server.{name}") is None or importlib.util.find_spec(module_name) is None:
            continue
        routes.extend(importlib.import_module(module_name).ROUTES)
    return routes


def make_store(settings: Settings) -> PhotoStore:
    if settings.s3_endpoint:
        from server.s3store import S3Store  # minio-py, only where it is used

        return S3Store(
            settings.s3_endpoint,
            settings.s3_access_key or "",
            settings.s3_secret_key or "",
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            timeout=settings.s3_timeout_seconds,
        )
    # Below room for three of the largest uploads the disk is reported full, before uploads fail on it.
    return DirectoryStore(settings.photos_dir, min_free_bytes=3 * settings.max_photo_bytes)


def make_executor(settings: Settings) -> Executor:
    return HealingProcessPool(settings.image_workers or max(1, os.cpu_count() or 1))


# HEAD as well as GET, on the paths a monitor or a load balancer probes, answered as its GET with no
# body: a probe sending HEAD (uptime checkers often do) must not read a working server as 405.
_PROBED = [HttpMethod.GET, HttpMethod.HEAD]


def _as_head(request: Request, response: Response) -> Response:
    """The response to a HEAD: its GET's status and headers, the length it would send, no body."""
    if request.method != HttpMethod.HEAD:
        return response
    content = response.content
    body = (
        content
        if isinstance(content, bytes)
        else content.encode()
        if isinstance(content, str)
        else msgspec.json.encode(content)  # a problem document, as Litestar renders it for the GET
    )
    response.headers["Content-Length"] = str(len(body))
    response.content = b""
    return response


@route("/health", http_method=_PROBED, include_in_schema=True, tags=["health"])
async def health(request: Request) -> Response:
    return _as_head(request, Response(msgspec.json.encode({"status": "ok"}), media_type=MediaType.JSON))


@route("/ready", http_method=_PROBED, tags=["health"])
async def ready(request: Request, state: State) -> Response:
    return _as_head(request, await _readiness(state))


# Whether the primary takes writes: a standby (a failover that left DATABASE_URL on it) or a database
# made read-only answers SELECT 1 but refuses every sign-in and submission. The read replica
# (DATABASE_READ_URL) is not asked: it is read-only by design.
_WRITABLE = "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'"


async def _readiness(state: State) -> Response:
    problems: list[str] = []
    try:
        async with state.pool.acquire(timeout=2) as conn:
            if not await conn.fetchval(_WRITABLE, timeout=2):
                problems.append("database is read-only")
    except Exception:  # noqa: BLE001 - any failure means "not ready", and the body says which part
        problems.append("database not answering")
    try:
        await state.store.check()
    except Unavailable as exc:
        problems.append(exc.detail)  # "photo store unavailable", or why (a full disk)
    except Exception:  # noqa: BLE001
        problems.append("photo store not answering")
    if problems:
        return problem_response(
            503, "Service unavailable", f"not ready: {'; '.join(problems)}", headers={"Retry-After": "5"}
        )
    return Response(msgspec.json.encode({"status": "ready"}), media_type=MediaType.JSON)


# Screens only reviewers and admins use: they need the server anyway, so inspectors' phones do not
# precache them; the service worker keeps each one in the current version's cache once it is used.
# The role's index.js (its route table, a few hundred bytes) stays in the shell.
_ROLE_ONLY = ("js/views/reviewer/", "js/views/admin/", "css/reviewer.css", "css/admin.css")


class PwaManifest(msgspec.Struct, frozen=True):
    version: str
    files: list[str]
    lazy: list[str]


def pwa_manifest() -> PwaManifest:
    paths = sorted(p for p in PWA_DIR.rglob("*") if p.is_file() and p.name != "sw.js" and not _private(p))
    digest = hashlib.sha256()
    files, lazy = ["/"], []
    for p in paths:
        rel = p.relative_to(PWA_DIR).as_posix()
        digest.update(rel.encode())
        digest.update(p.read_bytes())
        (lazy if rel.startswith(_ROLE_ONLY) and not rel.endswith("/index.js") else files).append("/" + rel)
    digest.update((PWA_DIR / "sw.js").read_bytes() if (PWA_DIR / "sw.js").exists() else b"")
    return PwaManifest(version=digest.hexdigest()[:16], files=files, lazy=lazy)


_MANIFEST: list[PwaManifest] = []


def current_manifest() -> PwaManifest:
    """The manifest of the files this process serves: computed once (every request with MUAINA_DEV, whose
    files change under it), so sw.js and the version every file is stamped with always agree."""
    if not _MANIFEST or os.environ.get("MUAINA_DEV"):
        _MANIFEST[:] = [pwa_manifest()]
    return _MANIFEST[0]


def service_worker_source(manifest: PwaManifest | None = None) -> str:
    """sw.js as served: the precache list and version are computed from the files themselves, so a
    deploy that changes any file gives phones a new shell, and no build step can forget to bump it."""
    header = "self.__PRECACHE = " + msgspec.json.encode(manifest or pwa_manifest()).decode() + ";\n"
    return header + (PWA_DIR / "sw.js").read_text(encoding="utf-8")


# Every file of the app says which version it belongs to. A phone's service worker keeps a screen it
# fetches later (the reviewer's and admin's are not precached) only if it is of its own version: a
# server upgraded meanwhile would otherwise hand an old shell a new module (one importing what the old
# modules lack), and the screen would fail, or mix two versions' words, for the life of the release.
VERSION_HEADER = "X-App-Version"


# A file's entity tag is the version of the app it belongs to: a version's files never change, so a
# client holding a file of the version being served holds that file as it is. With every file sent
# `no-cache` (below), a browser asks again each time; it is answered 304 with no body when its copy
# is current, instead of the whole file (a reviewer's screens are not precached, and a reload fetched
# every module again).
def _version_tag(version: str) -> str:
    return f'"{version}"'


async def _stamp_version(response: Response) -> Response:
    version = current_manifest().version
    response.headers[VERSION_HEADER] = version
    response.headers["ETag"] = _version_tag(version)
    if getattr(response, "is_head_response", False) and "content-type" not in response.headers:
        # Litestar leaves a file's type off its HEAD; a HEAD says what its GET would (RFC 9110 §9.3.2).
        response.headers["Content-Type"] = _file_type(response.headers.get("content-disposition", ""))
    return response


def _file_type(disposition: str) -> str:
    """The Content-Type a GET of the file names (as Litestar's file response works it out)."""
    name = unquote(disposition.partition('filename="')[2].rstrip('"'))
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind


def _public_file(path: str) -> bool:
    """Whether the static router serves a file at `path` (a folder's index.html in its place)."""
    target = _normal(PWA_DIR / path.lstrip("/"))
    if target.is_dir():
        target = target / "index.html"
    return not _private(target) and target.is_file()


async def _unchanged_file(request: Request) -> Response | None:
    """The app-wide checks, then 304 for a file the client holds from the version being served (only
    for a file there is: a missing or private path goes on to its 404)."""
    await check_request(request)
    version = current_manifest().version
    if (
        request.method in ("GET", "HEAD")
        and etag_listed(request.headers.get("if-none-match"), _version_tag(version), weak=True)
        and _public_file(request.scope["path"])
    ):
        return Response(
            content=b"",
            status_code=304,
            headers={"ETag": _version_tag(version), VERSION_HEADER: version, "Cache-Control": "no-cache"},
        )
    return None


def _normal(path: Any) -> Path:
    """The path with its `..` and `.` parts folded, by text alone (no file system call)."""
    return Path(os.path.normpath(path))


def _private(path: Path) -> bool:
    if not path.is_relative_to(PWA_DIR):
        return True
    rel = path.relative_to(PWA_DIR).parts
    return (
        bool(rel)
        and rel[0] in {"tools", "node_modules"}
        or path.name.endswith((".md", ".py"))
        or path.name.startswith(".")
    )


class _PublicFiles(BaseLocalFileSystem):
    """The PWA directory as the static router sees it: the shell's files, not the developers' notes and
    tools beside them (pwa/README.md, pwa/tools), which look absent (404)."""

    async def info(self, path: Any, **kwargs: Any) -> Any:
        if _private(_normal(path)):
            raise FileNotFoundError(path)
        return await super().info(path, **kwargs)


def _sw_route(state_key: str = "sw") -> Any:
    @route("/sw.js", http_method=_PROBED, include_in_schema=False)
    async def service_worker(request: Request, state: State) -> Response:
        manifest = current_manifest()
        # Made once per version of the files (current_manifest says when they changed).
        if state.get(state_key, ("",))[0] != manifest.version:
            state[state_key] = (manifest.version, service_worker_source(manifest))
        response = Response(
            state[state_key][1],
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/", VERSION_HEADER: manifest.version},
        )
        return _as_head(request, response)

    return service_worker


def _pwa_router() -> Any:
    """The app's files at `/`, the shell (index.html) at `/` itself."""
    router = create_static_files_router(
        path="/",
        directories=[PWA_DIR],
        file_system=_PublicFiles(),
        html_mode=True,
        include_in_schema=False,
        name="pwa",
        # Never kept by a browser's or proxy's cache: the service worker is the app's cache, and
        # a browser's heuristic one handed it last release's files after a deploy. (Only the
        # first visit and a role's screens first used are fetched so; the worker has the rest.)
        cache_control=CacheControlHeader(no_cache=True),
        # Its own before_request replaces the app's, which _unchanged_file runs first.
        before_request=_unchanged_file,
        after_request=_stamp_version,
    )
    # Litestar's router answers GET / but not HEAD / (405): the shell answers HEAD as its files do.
    shell = StaticFiles(
        is_html_mode=True, directories=[PWA_DIR], file_system=_PublicFiles(), headers={"Cache-Control": "no-cache"}
    )

    @head("/", name="pwa/index/head")
    async def shell_head() -> ASGIFileResponse:
        return await shell.handle(path="/", is_head_response=True)

    router.register(shell_head)
    return router


# The app's own files and the offline bundle are sent gzipped to a client that takes it: on a phone's
# first use over 3G the shell was 700 KB as sent and 224 KB gzipped, fetched twice (the page, then
# the service worker's precache), and a full bundle 62 KB. Not the rest of the API: photos are JPEG
# already, exports stream, and an inspection's write is small and on the hot path.
# Level 6: about the size of 9 on text, for a fraction of the CPU (it runs on the event loop).
COMPRESSION = CompressionConfig(
    backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude=r"^/api/(?!v1/sync/bundle$)"
)


def create_app(settings: Settings, *, executor: Executor | None = None, run_migrations: bool = True) -> Litestar:

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL must be resolved before the app starts (the CLI starts the embedded one)")
        if run_migrations:
            conn: Connection = await db.connect(settings.database_url)
            try:
                await db.migrate(conn)
            finally:
                await conn.close()
        app.state.pool = await db.create_pool(settings.database_url, max_size=settings.db_pool_size)
        app.state.read_pool = (
            await db.create_pool(settings.database_read_url, max_size=settings.db_pool_size)
            if settings.database_read_url
            else app.state.pool
        )
        # The dashboards' scores and rankings read through connections of their own (db.PLANNED_READS).
        app.state.planned_read_pool = await db.create_pool(
            settings.database_read_url or settings.database_url,
            max_size=settings.db_pool_size,
            server_settings=db.PLANNED_READS,
        )
        app.state.store = make_store(settings)
        own_executor = executor is None
        app.state.executor = executor or make_executor(settings)
        # Reports render in the same pool as photos; they leave photos one worker of their own when
        # the pool has two or more (a 150-page report takes half a minute, a photo a second).
        app.state.report_slots = asyncio.Semaphore(max(1, getattr(app.state.executor, "size", 1) - 1))
        try:
            await app.state.store.start()
            yield
        finally:
            await app.state.store.close()
            await app.state.planned_read_pool.close()
            if app.state.read_pool is not app.state.pool:
                await app.state.read_pool.close()
            await app.state.pool.close()
            if own_executor:
                app.state.executor.shutdown(wait=False, cancel_futures=True)

    route_handlers: list[Any] = [health, ready, metrics.metrics, _sw_route(), *_capability_routes()]
    lifespans: list[Any] = [lifespan]
    if loop_monitor.enabled():  # load tests only (MUAINA_LOOP_MONITOR=1): GET /debug/loop-lag
        route_handlers.append(loop_monitor.loop_lag)
        lifespans.append(loop_monitor.lifespan)
    if PWA_DIR.exists():
        route_handlers.append(_pwa_router())
    app = Litestar(
        route_handlers=route_handlers,
        lifespan=lifespans,
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_request=check_request,
        before_send=[add_security_headers],
        middleware=[request_id_middleware, *metrics.middleware(settings)],
        compression_config=COMPRESSION,
        plugins=[ProblemResponses(), QueryTimes()],
        state=State({"settings": settings}),
        request_max_body_size=settings.max_json_bytes,
        # The document only, as JSON at /schema and /schema/openapi.json: Litestar's HTML viewers load
        # their scripts from a CDN, which the Content-Security-Policy (script-src 'self') rightly blocks.
        openapi_config=OpenAPIConfig(
            title="Muaina API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
        debug=False,
        logging_config=None,
    )
    index_query_rules(app)
    return app
