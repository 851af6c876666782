"""What every route shares: request dependencies, the client address, and problem documents.

Domain code raises DomainError subclasses; this module is the one place they (and driver errors,
and anything unexpected) become RFC 9457 problem documents. No stack trace ever leaves the server.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator
from typing import Any

import asyncpg
import msgspec
from asyncpg import Connection
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException

from server.auth.models import Principal
from server.auth.queries import principal_for_token
from server.auth.rules import token_hash
from server.errors import DomainError, FieldError, Unauthorized, Unavailable

log = logging.getLogger("muaina.http")

PROBLEM = "application/problem+json"

# Route handlers declare what they need by these names: `conn: Conn` (a pooled connection for the
# request) and `user: User` (the signed-in principal; declaring it is what makes a route private).
Conn = NamedDependency[Connection]
User = NamedDependency[Principal]


async def provide_conn(state: State) -> AsyncGenerator[Connection, None]:
    try:
        async with state.pool.acquire(timeout=10) as conn:
            yield conn
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, TimeoutError) as exc:
        raise Unavailable("the database is not answering; try again shortly") from exc


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_user(request: Request, conn: Conn) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")
    user = await principal_for_token(conn, token_hash(token))
    if user is None:
        raise Unauthorized("the session has expired or was revoked; sign in again")
    return user


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


DEPENDENCIES = {"conn": Provide(provide_conn), "user": Provide(provide_user)}


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def problem_response(status: int, title: str, detail: str, errors: list[FieldError] | None = None,
                     extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = msgspec.to_builtins(Problem(title=title, status=status, detail=detail, errors=errors or []))
    if extra:
        body.update(msgspec.to_builtins(extra))
    return Response(content=body, status_code=status, media_type=PROBLEM, headers=headers)


_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in exc.extra or []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        match = _AT_PATH.search(message)
        if match:
            key = match.group(1) or "body"
            message = _AT_PATH.sub("", message).rstrip(" -")
        if key in (None, "", "data"):
            key = "body"
        unknown = _UNKNOWN_FIELD.search(message)
        if unknown:
            key = unknown.group(1) if key == "body" else f"{key}.{unknown.group(1)}"
        errors.append(FieldError(field=str(key).replace("[", ".").replace("]", ""), message=message))
    return errors


def handle_domain(_: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.extra.pop("retry_after"))} if "retry_after" in exc.extra else None
    return problem_response(exc.status, exc.title, exc.detail, exc.errors, exc.extra, headers)


def handle_http(_: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = "the request body is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        status = 400 if any("malformed" in e.message.lower() or "JSON is" in e.message for e in errors) else 422
        return problem_response(status, "Validation failed", detail, errors)
    status = exc.status_code
    titles = {404: "Not found", 405: "Method not allowed", 413: "Request body too large", 401: "Not signed in"}
    title = titles.get(status, "Request failed")
    detail = exc.detail if isinstance(exc.detail, str) and status < 500 else title
    return problem_response(status, title, detail)


# PostgreSQL error classes that mean "the database is going away or not there", not "your input is bad".
_UNAVAILABLE_SQLSTATE = ("08", "57", "53")
# serialization_failure, deadlock_detected: the transaction was rolled back whole; retrying is safe.
_RETRY_SQLSTATE = ("40001", "40P01")


def handle_unexpected(request: Request, exc: Exception) -> Response:
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, (OSError, asyncpg.InterfaceError, TimeoutError, ConnectionError)) or sqlstate.startswith(
        _UNAVAILABLE_SQLSTATE
    ):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(503, "Service unavailable", "the database is not answering; try again shortly",
                                headers={"Retry-After": "5"})
    if sqlstate in _RETRY_SQLSTATE:
        # PostgreSQL rolled the whole transaction back (a deadlock between two writers, or a
        # serialization failure), so nothing was written and sending the request again is safe:
        # 503 with Retry-After makes phones and the PWA's outbox do exactly that.
        log.warning("transaction rolled back on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(503, "Service unavailable", "a concurrent change got in the way; send the request "
                                "again", headers={"Retry-After": "1"})
    if sqlstate == "23505":
        return problem_response(409, "Conflict", "this would duplicate an existing record")
    if sqlstate == "23503":
        return problem_response(422, "Validation failed", "the request refers to something that does not exist")
    if sqlstate.startswith("22"):
        return problem_response(422, "Validation failed", "a value is out of range or malformed")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(500, "Internal server error", "something went wrong on the server; it has been logged")


EXCEPTION_HANDLERS = {DomainError: handle_domain, HTTPException: handle_http, Exception: handle_unexpected}
