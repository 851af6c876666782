"""Logs an IT officer can use: one format for the app's lines and the access lines, times in UTC with
their zone, and each line of a request carrying that request's id.

The id is the caller's `X-Request-ID` when it sends a sane one (a proxy that made one), else a new one.
It is sent back on every response and written into the problem document of a 500, so the reference a
user reads off a screen finds the log lines of that very request, access line and stack trace alike,
in every worker process (uvicorn applies `log_config` in each).
"""

from __future__ import annotations

import copy
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.logging import AccessFormatter

_HEADER = b"x-request-id"  # X-Request-ID, as ASGI carries header names
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_current: ContextVar[str] = ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
ACCESS_FORMAT = '%(asctime)s %(levelname)s access [%(request_id)s] %(client_addr)s "%(request_line)s" %(status_code)s'


def request_id() -> str:
    """The id of the request being handled ('-' outside one)."""
    return _current.get()


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives each HTTP request its id, for its log lines and as a response header."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        told = next((v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER), "")
        rid = told if _SANE.fullmatch(told) else uuid.uuid4().hex[:16]
        token = _current.set(rid)

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (_HEADER, rid.encode())]}
            await send(message)

        try:
            await app(scope, receive, stamped)
        finally:
            _current.reset(token)

    return middleware


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True


def _utc(self: logging.Formatter, record: logging.LogRecord, datefmt: str | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class UtcFormatter(logging.Formatter):
    formatTime = _utc  # noqa: N815 - logging's own name


# Where an inspector stood is not for the access log: a photo upload carries its GPS fix in the query.
_WHERE_STOOD = re.compile(r"(?<=[?&])(lat|lon|accuracy_m)=[^&\s]*")


class UtcAccessFormatter(AccessFormatter):
    formatTime = _utc  # noqa: N815

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's own name
        client, method, path, version, status = record.args  # type: ignore[misc]
        scrubbed = copy.copy(record)
        scrubbed.args = (client, method, _WHERE_STOOD.sub(r"\1=-", str(path)), version, status)
        return super().formatMessage(scrubbed)


def log_config(level: str) -> dict[str, Any]:
    """The logging configuration of every process: the CLI's, and each uvicorn worker's."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "filters": ["request_id"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": _RequestIdFilter}},
        "formatters": {
            "default": {"()": UtcFormatter, "fmt": FORMAT},
            "access": {"()": UtcAccessFormatter, "fmt": ACCESS_FORMAT, "use_colors": False},
        },
        "handlers": {"default": {**handler, "formatter": "default"}, "access": {**handler, "formatter": "access"}},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
        },
    }
