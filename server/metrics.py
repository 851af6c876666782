"""GET /metrics: numbers for the IT officer's Prometheus, in its text format.

Two kinds. The HTTP traffic of this app process (requests, errors and durations per route template),
counted by Litestar's Prometheus middleware; with several worker processes (`muaina serve --workers N`)
each writes its counts to files in PROMETHEUS_MULTIPROC_DIR and a scrape, whichever worker answers it,
adds up all of them. And the state of the force's work, read from PostgreSQL at scrape time in one
statement: the review queue, photos that have not arrived, overdue corrective actions, the audit trail.

The endpoint is off unless METRICS_TOKEN is set (404, as for any path there is not), and then answers
only a request bearing that token: the numbers say how busy each office is, which is nobody's business
outside the IT team.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
from collections.abc import Iterator
from typing import Any

import asyncpg
from asyncpg import Connection
from litestar import HttpMethod, Request, Response, route
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from server.audit.queries import VERIFIED
from server.config import Settings
from server.dashboards.rollup import REPORTING_TZ
from server.errors import Unauthorized, Unavailable
from server.http import bearer_token, pooled

log = logging.getLogger("muaina")

PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The text format every Prometheus reads (generate_latest escapes names to fit it); Litestar adds the charset.
TEXT_FORMAT = "text/plain; version=0.0.4"

# Only the API is counted, labelled by its route template (/api/v1/inspections/{inspection_id}), never
# by the path itself, whose ids would make a series per inspection. The app's files, the service worker,
# the OpenAPI document, the probes and /metrics itself are left out: they say nothing about the work.
# (The app's shell, "/" itself, is counted: a pattern matching it too makes Litestar warn that the
# middleware is excluded everywhere.)
HTTP_METRICS = PrometheusConfig(app_name="muaina", prefix="muaina", group_path=True, exclude=r"^/(?!api/).")


def middleware(settings: Settings) -> list[Any]:
    """The counting middleware, only when metrics are on: a request then costs nothing more."""
    return [HTTP_METRICS.middleware] if settings.metrics_token else []


# One statement, each part counting a small indexed subset: the queue (inspections_queue_idx, an index-only
# scan), inspections awaiting photos (inspections_photos_missing_idx, few at any time: the sweeper relies on
# it too), open actions past due (actions_open_due_idx), the trail's last entry (its primary key) and its
# last full check (audit_log_action_idx, read backwards), and the photos being received in parts (a few
# rows: an inspector's are at most four photos' worth, server/photos/resumable.py). Overdue means before today in Pakistan, as the
# actions list and dashboards count it. A full check counts only when the command line or an admin
# recorded it, as audit.queries.last_full_check reads it.
FIGURES = f"""
SELECT q.n AS queue, extract(epoch FROM now() - q.oldest) AS queue_oldest,
       p.n AS photos_awaited, extract(epoch FROM now() - p.oldest) AS photos_oldest,
       (SELECT count(*) FROM actions
         WHERE status IN ('open', 'in_progress') AND due_date < (now() AT TIME ZONE '{REPORTING_TZ}')::date) AS overdue,
       (SELECT max(seq) FROM audit_log) AS audit_seq,
       (SELECT extract(epoch FROM now() - a.at) FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.action = $1 AND (a.actor_id IS NULL OR u.role = 'admin')
         ORDER BY a.seq DESC LIMIT 1) AS check_age,
       (SELECT count(*) FROM photo_uploads) AS uploads, (SELECT sum(received) FROM photo_uploads) AS uploads_bytes
  FROM (SELECT count(*) AS n, min(submitted_at) AS oldest FROM inspections WHERE status = 'submitted') q,
       (SELECT count(*) AS n, min(submitted_at) AS oldest FROM inspections
         WHERE photos_missing > 0 AND status <> 'draft') p
"""

# name, HELP text, column; a missing age (an empty queue) is 0, a check never made is +Inf so that an
# alert on its age fires.
GAUGES = (
    ("muaina_review_queue_inspections", "Inspections submitted and waiting for review.", "queue", 0.0),
    (
        "muaina_review_queue_oldest_seconds",
        "Age of the oldest submission waiting for review, in seconds (0 when the queue is empty).",
        "queue_oldest",
        0.0,
    ),
    (
        "muaina_photos_awaited_inspections",
        "Submitted inspections some of whose photos have not arrived.",
        "photos_awaited",
        0.0,
    ),
    (
        "muaina_photos_awaited_oldest_seconds",
        "Time since the submission of the oldest inspection still waiting for photos, in seconds.",
        "photos_oldest",
        0.0,
    ),
    (
        "muaina_corrective_actions_overdue",
        "Open or in-progress corrective actions past their due date (Pakistan's calendar).",
        "overdue",
        0.0,
    ),
    ("muaina_audit_last_entry", "Number of the audit trail's last entry.", "audit_seq", 0.0),
    ("muaina_photo_uploads_open", "Photos being received in parts (resumable uploads not whole yet).", "uploads", 0.0),
    (
        "muaina_photo_uploads_open_bytes",
        "Bytes of the photos being received in parts, kept in the database until each is whole.",
        "uploads_bytes",
        0.0,
    ),
    (
        "muaina_audit_last_full_check_age_seconds",
        "Time since `muaina verify-audit` last checked the whole trail, in seconds (+Inf if never).",
        "check_age",
        math.inf,
    ),
)


class _Figures(Collector):
    """The force's figures as gauges, read before the scrape renders them (a collector cannot await)."""

    def __init__(self, row: asyncpg.Record | None):
        self.row = row

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "muaina_database_figures_up", "1 if the figures below could be read from PostgreSQL in this scrape."
        )
        up.add_metric([], 0.0 if self.row is None else 1.0)
        yield up
        if self.row is None:
            return
        for name, text, column, missing in GAUGES:
            value = self.row[column]
            yield GaugeMetricFamily(name, text, value=missing if value is None else float(value))


async def read_figures(conn: Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(FIGURES, VERIFIED, timeout=5)


def http_registry() -> CollectorRegistry:
    """This process's counts, or with several workers every worker's, added up from their files."""
    if not (os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _authorised(request: Request, token: str) -> bool:
    given = bearer_token(request)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


# Not in the OpenAPI document: it is for the IT team's Prometheus, not for the app's clients.
@route(PATH, http_method=[HttpMethod.GET], include_in_schema=False)
async def metrics(request: Request, state: State) -> Response:
    token: str | None = state.settings.metrics_token
    if token is None:
        raise NotFoundException()  # answered as any path that is not there
    if not _authorised(request, token):
        raise Unauthorized("send Authorization: Bearer <METRICS_TOKEN>")
    try:
        async with pooled(state.pool) as conn:
            row = await read_figures(conn)
    except (Unavailable, OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The traffic is still worth a scrape while the database is away; /ready says what is wrong.
        log.warning("metrics: the database figures could not be read: %s", exc)
        row = None
    figures = CollectorRegistry()
    figures.register(_Figures(row))
    body = generate_latest(http_registry()) + generate_latest(figures)
    return Response(body, media_type=TEXT_FORMAT)
