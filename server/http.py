"""What every route shares: request dependencies, the client address, and problem documents.

Domain code raises DomainError subclasses; this module is the one place they (and driver errors,
and anything unexpected) become RFC 9457 problem documents. No stack trace ever leaves the server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from types import NoneType, UnionType
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Union, get_args, get_origin
from urllib.parse import parse_qsl

import asyncpg
import msgspec
from asyncpg import Connection
from litestar import Litestar, Request, Response, post
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter, ParameterKwarg
from litestar.plugins import InitPlugin, OpenAPISchemaPlugin, ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.typing import FieldDefinition

from server.auth.models import Principal
from server.auth.queries import principal_for_token
from server.auth.rules import token_hash
from server.errors import DomainError, FieldError, Invalid, Unauthorized, Unavailable, Unsupported
from server.logs import request_id
from server.structs import IMPLAUSIBLE_MOMENT, plausible_moment

if TYPE_CHECKING:
    from litestar._openapi.schema_generation.schema import SchemaCreator

log = logging.getLogger("muaina.http")

PROBLEM = "application/problem+json"

# Route handlers declare what they need by these names: `conn: Conn` (a pooled connection for the
# request) and `user: User` (the signed-in principal; declaring it is what makes a route private).
Conn = NamedDependency[Connection]
User = NamedDependency[Principal]

# Whole numbers that meet a database column, bounded by it: a larger one is refused with a problem
# naming the parameter, not by the driver with one that names nothing.
BIGINT_MAX = 2**63 - 1
Offset = Annotated[int, Parameter(ge=0, le=BIGINT_MAX)]
VersionNumber = Annotated[int, Parameter(ge=1, le=2**31 - 1)]  # a template version: integer


_ACQUIRE_SECONDS = 10


@asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A connection of `pool` for the block; Unavailable (503) when none can be had.

    An error of the block itself, a connection lost in the middle of a query included, passes through
    unchanged and handle_unexpected answers it (503 for a lost database). Replacing it here would
    also break provide_conn: Litestar wraps an exception a dependency raises while it is cleaned up
    in an ExceptionGroup, unless it is the very exception thrown in.

    The wait is bounded by asyncio.timeout rather than acquire(timeout=): asyncpg runs a timed
    acquire through wait_for, a task of its own and a turn of the event loop for every request
    (about 20 µs each, and a dashboard request takes two connections). A cancelled acquire gives
    its connection back to the pool (asyncpg's _acquire_impl), and the release keeps the same bound."""
    try:
        async with asyncio.timeout(_ACQUIRE_SECONDS):
            conn = await pool.acquire()
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError, TimeoutError) as exc:
        raise Unavailable("the database is not answering; try again shortly") from exc
    try:
        yield conn
    finally:
        await pool.release(conn, timeout=_ACQUIRE_SECONDS)


async def provide_conn(state: State) -> AsyncGenerator[Connection, None]:
    async with pooled(state.pool) as conn:
        yield conn


def etag_listed(header: str | None, tag: str | None, *, weak: bool) -> bool:
    """Whether an If-None-Match (`weak`) or If-Match (strong) header names `tag` (RFC 9110 §13.1.1-2).

    `*` names any current representation, so nothing when `tag` is None. A bare token is taken as if
    quoted: a client that dropped the quotes still means it. Weak comparison ignores `W/`; under
    strong comparison a weak tag never matches. The one reading of entity-tags for every route that
    takes them (the bundle, photos, template drafts).
    """
    if not header or tag is None:
        return False
    for candidate in (c.strip() for c in header.split(",")):
        if candidate == "*":
            return True
        if candidate and not candidate.startswith(('"', "W/")):
            candidate = f'"{candidate}"'
        if (candidate.removeprefix("W/") if weak else candidate) == tag:
            return True
    return False


def bearer_token(request: ASGIConnection) -> str | None:
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


# The only API route that answers without a session.
_PUBLIC_API = ("/api/v1/auth/login",)
# Routes that count failed attempts and answer 429 past their limit: signing in, and the check of one's
# current password before changing it.
_THROTTLED_API = ("/api/v1/auth/login", "/api/v1/auth/password")


def require_bearer_token(connection: ASGIConnection) -> None:
    """An API request without a bearer token is refused before its body or query is read.

    It runs first in check_request, Litestar's before_request hook, which comes before the body and
    the query are parsed, so an anonymous caller cannot make the server decode a large body or learn
    a private route's validation answers; it gets 401 at once. (An app-wide guard would do the same,
    but Litestar copies the route handler for every guard call: tens of µs on every request.) The
    token itself is checked by the `user` dependency (a request with a bad token is parsed, then
    refused), which keeps this check free of database work.
    """
    path = connection.scope["path"].rstrip("/")  # the router matches a path with a trailing slash too
    if path.startswith("/api/") and path not in _PUBLIC_API and bearer_token(connection) is None:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>")


_NUL = "must not contain the NUL character (U+0000)"


def _nul_paths(document: Any, most: int = 50) -> list[str]:
    """The dotted paths of the first `most` strings in a decoded JSON document that hold a NUL, in
    document order (iterative: the document may be nested as deep as the decoder allowed).

    A path is written out only for a string found, and empty or scalar values are not stacked: a
    body of a million empty lists (a cheap thing to send) costs one pass over them, not a million
    path strings.
    """
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), document)]
    while stack and len(found) < most:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path)
            continue
        pairs = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        nested = []
        for key, item in pairs:
            if len(found) >= most:
                break
            if isinstance(key, str) and "\x00" in key:
                found.append(path)  # the key itself: name the object that holds it
            elif isinstance(item, str):
                if "\x00" in item:
                    found.append((*path, key))
            elif item and isinstance(item, dict | list):
                nested.append(((*path, key), item))
        stack.extend(reversed(nested))
    return [".".join(map(str, path)) or "body" for path in found[:most]]


class QueryTime(datetime):
    """The type of a time in a query string (`from`, `to`, ...): RFC 3339 with its offset, and only that.

    Litestar converts query values leniently, and a lenient conversion reads a number as a Unix time:
    `?from=0` meant 1970-01-01 and `?from=1700000000` a day in 2023, answered as if the client had
    asked for them. A plain `datetime` argument cannot be made strict, because msgspec converts that
    type itself; this subclass is not one msgspec knows, so every value reaches _decode_query_time (a
    type decoder the QueryTimes plugin registers) as the string that was sent. Its instances are
    ordinary aware datetimes to the handler and to asyncpg.
    """


_QUERY_TIME = "must be an RFC 3339 time with its offset, such as 2026-11-27T09:00:00Z"


def _decode_query_time(target: type[QueryTime], value: Any) -> QueryTime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            # Strict: only a string in RFC 3339 form converts; a number in a string does not.
            moment = msgspec.convert(value, datetime)
        except msgspec.ValidationError:
            raise ValueError(_QUERY_TIME) from None
    if moment.tzinfo is None:
        # A time without its offset names a different instant in every zone.
        raise ValueError(_QUERY_TIME)
    if not plausible_moment(moment):
        # Year 1 east of UTC has no UTC equivalent: the driver failed on it, a 422 naming no field.
        raise ValueError(IMPLAUSIBLE_MOMENT)
    return target(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=moment.tzinfo,
        fold=moment.fold,
    )


class QueryTimes(InitPlugin, OpenAPISchemaPlugin):
    """Decodes QueryTime arguments strictly, and documents them as the date-time strings they are."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.type_decoders = [
            *(app_config.type_decoders or []),
            (lambda t: isinstance(t, type) and issubclass(t, QueryTime), _decode_query_time),
        ]
        return app_config

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is QueryTime

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.DATE_TIME,
            description="An RFC 3339 time with its offset, such as 2026-11-27T09:00:00Z.",
        )


async def check_request(request: Request) -> None:
    """App-wide before-request hook: the bearer token check (require_bearer_token), then
    refuse_lenient_query and refuse_nul_characters."""
    require_bearer_token(request)
    refuse_lenient_query(request)
    await refuse_nul_characters(request)


class QueryRules(NamedTuple):
    """What a route's query parameters must look like beyond what Litestar checks (see below)."""

    scalars: frozenset[str]  # given at most once
    integers: frozenset[str]
    numbers: frozenset[str]


def index_query_rules(app: Litestar) -> None:
    """Keep each route handler's QueryRules in its `opt`, for refuse_lenient_query."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            scalars, integers, numbers = set(), set(), set()
            for param in kwargs_model.expected_query_params:
                field = handler.parsed_fn_signature.parameters.get(param.field_name)
                if param.is_sequence or field is None:
                    continue
                scalars.add(param.field_alias)
                inner = {t.annotation for t in field.inner_types} if field.is_optional else {field.annotation}
                if inner - {NoneType} == {int}:
                    integers.add(param.field_alias)
                elif inner - {NoneType} == {float}:
                    numbers.add(param.field_alias)
            handler.opt["query_rules"] = QueryRules(frozenset(scalars), frozenset(integers), frozenset(numbers))


_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def refuse_lenient_query(request: Request) -> None:
    """A query value Litestar would quietly reinterpret is a 422 that names the parameter.

    Litestar converts query values leniently and, for a parameter given twice, uses one of the values:
    `?limit=4.0` meant 4, `?before=1e3` meant 1000, and `?station_id=A&station_id=B` filtered by one of
    the two, each answered as if the client had asked for it. The OpenAPI document promises integers
    and single values, and a client that sent something else has a bug it should hear about. (Times
    are checked by their own type, QueryTime.)
    """
    query = request.scope.get("query_string", b"")
    if not query:
        return
    rules = request.route_handler.opt.get("query_rules")
    if rules is None:
        return
    seen: set[str] = set()
    errors: list[FieldError] = []
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen and name in rules.scalars:
            errors.append(FieldError(field=name, message="must be given once"))
        seen.add(name)
        if name in rules.integers and not _INTEGER.fullmatch(value):
            errors.append(FieldError(field=name, message="must be a whole number"))
        elif name in rules.numbers and not _NUMBER.fullmatch(value):
            errors.append(FieldError(field=name, message="must be a number"))
    if errors:
        unique = list({(e.field, e.message): e for e in errors}.values())
        raise Invalid("a query parameter is malformed: " + ", ".join(e.field for e in unique[:5]), errors=unique[:50])


async def refuse_nul_characters(request: Request) -> None:
    """A NUL character in a query value or a JSON string is a 422 that names the field, before any
    handler runs.

    PostgreSQL refuses NUL in text and jsonb (SQLSTATE 22021 / 22P05), which the last-resort handler
    below can only report as "a value is malformed", without saying which. Looking for the JSON escape
    `\\u0000` in the raw body is a cheap scan; the body is decoded to find the field only when it is
    there. Only bodies under a route's size limit are read here (never a streamed photo upload),
    and Litestar keeps the body it read for the handler.
    """
    errors: list[FieldError] = []
    query = request.scope.get("query_string", b"")
    if b"%00" in query:
        errors += [
            FieldError(field=name or "query", message=_NUL)
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            if "\x00" in name + value
        ]
    # Whatever the Content-Type says: Litestar decodes a route's JSON argument from a body labelled
    # text/plain, or not labelled at all, just the same. A body that is no JSON has no field to name.
    if (
        request.method in ("POST", "PUT", "PATCH")
        and request.route_handler.resolve_request_max_body_size() is not None
        and not request.route_handler.opt.get(NUL_CHECKED_BY_HANDLER)
    ):
        body = await request.body()
        if b"\\u0000" in body:
            await _require_session(request)
            errors += nul_problems(body)
    _refuse_nul(errors)


async def _require_session(request: Request) -> None:
    """Decoding a body to name its NUL fields is work of the size of the body, so only for someone
    signed in: until then require_bearer_token has only seen that a token was sent, and a made-up one
    would otherwise buy a full decode of megabytes of JSON on the event loop. Only this rare path pays
    the session lookup here; the `user` dependency does it for every other request."""
    if request.scope["path"].rstrip("/") in _PUBLIC_API:
        return
    async with pooled(request.app.state.pool) as conn:
        await provide_user(request, conn)


# A route that takes its body as raw bytes may look for NUL itself (refuse_nul_in_body), where it
# decodes the body, instead of before its handler: PUT /inspections/{id} answers a phone's resend from
# the bytes alone, and a body it stored cannot hold a NUL (PostgreSQL would have refused it).
NUL_CHECKED_BY_HANDLER = "nul_checked_by_handler"


def refuse_nul_in_body(body: bytes) -> None:
    _refuse_nul(nul_problems(body))


def nul_problems(body: bytes) -> list[FieldError]:
    """A FieldError for each string of a JSON body holding NUL (none for a body without one)."""
    if b"\\u0000" not in body:
        return []
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        document = None  # malformed: the route's own decoding says how
    return [FieldError(field=path, message=_NUL) for path in _nul_paths(document)]


def _refuse_nul(errors: list[FieldError]) -> None:
    if errors:
        raise Invalid(
            "text may not contain the NUL character: " + ", ".join(e.field for e in errors[:5]), errors=errors[:50]
        )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


DEPENDENCIES = {"conn": Provide(provide_conn), "user": Provide(provide_user)}


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


def problem_response(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = msgspec.to_builtins(Problem(title=title, status=status, detail=detail, errors=errors or []))
    if extra:
        body.update(msgspec.to_builtins(extra))
    return Response(content=body, status_code=status, media_type=PROBLEM, headers=headers)


_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]*)`")
_NOT_A_DAY = re.compile(r"Invalid RFC3339 encoded date(?!time)")  # msgspec's, of a date (not a datetime)
# A path as msgspec writes it: names, list indexes, and `[...]` for a value inside a dict.
_SEGMENT = re.compile(r"\.?([^.\[\]]+)|\[(\d+|\.\.\.)\]")


def _bare(tp: Any) -> Any:
    """The type inside Annotated[...] and T | None."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        args = [a for a in get_args(tp) if a is not NoneType]
        if get_origin(tp) in (Union, UnionType) and len(args) == 1:
            tp = args[0]
            continue
        return tp


def keyed_path(raw: bytes | None, path: str, target: Any) -> str:
    """`path` with each `[...]` (msgspec's name for a value inside a dict) replaced by the key sent.

    msgspec says where a value failed but not under which key of a dict: an answer's note of the wrong
    type is `answers[...].note`, which names no item. Following the path through the body as sent and
    the body's type (`target`), the key is the first whose value fails to convert to the dict's value
    type. Where the key cannot be found so, the rest of the path stays as msgspec wrote it."""
    if "[...]" not in path or not raw or target is None:
        return path
    try:
        value: Any = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return path
    tp, out = target, []
    for segment in _SEGMENT.finditer(path):
        name, index = segment.groups()
        tp = _bare(tp)
        try:
            if name:
                field = next(f for f in msgspec.structs.fields(tp) if f.encode_name == name)
                value, tp = value[name], field.type
                out.append(name)
            elif index != "...":
                value, tp = value[int(index)], get_args(tp)[0]
                out.append(index)
            else:
                item_type = get_args(tp)[1]
                key = next(k for k, v in value.items() if not _converts(v, item_type))
                value, tp = value[key], item_type
                out.append(key)
        except (StopIteration, KeyError, IndexError, TypeError, AttributeError):
            # Lost the way (a key that is itself refused, say): the rest as msgspec wrote it.
            return ".".join([*out, path[segment.start() :].lstrip(".")])
    return ".".join(out)


def _converts(value: Any, tp: Any) -> bool:
    try:
        msgspec.convert(value, tp)
    except (msgspec.ValidationError, TypeError):
        return False
    return True


def _public_name(request: Request, key: Any) -> Any:
    """The name the client sent a parameter under: `from`, not the handler's argument `since`.

    Litestar reports a query, header or cookie value that failed to convert by the handler's argument
    name, which the client never saw; the problem document must name what the client can correct.
    """
    try:
        definition = request.route_handler.parsed_fn_signature.parameters.get(key)
    except (AttributeError, TypeError):
        return key
    kwarg = definition.kwarg_definition if definition is not None else None
    if isinstance(kwarg, ParameterKwarg):
        return kwarg.query or kwarg.header or kwarg.cookie or key
    return key


def _validation_errors(exc: ValidationException, request: Request | None = None) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in exc.extra or []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        if request is not None and item.get("source") in ("query", "header", "cookie"):
            key = _public_name(request, key)
        match = _AT_PATH.search(message)
        if match:
            key = match.group(1) or "body"
            message = _AT_PATH.sub("", message).rstrip(" -")
        if key in (None, "", "data"):
            key = "body"
        if _NOT_A_DAY.match(message):
            # A parameter that takes a day, given a time or anything else: say what it takes.
            message = "must be a day written YYYY-MM-DD"
        if request is not None and "[...]" in str(key):
            key = keyed_path(_body_read(request), str(key), _body_type(request))
        # A field the body lacks, or has and should not, is the one to name, not the object around it.
        named = _UNKNOWN_FIELD.search(message) or _MISSING_FIELD.search(message)
        if named:
            key = named.group(1) if key == "body" else f"{key}.{named.group(1)}"
        errors.append(
            FieldError(field=str(key).replace("[...]", ".*").replace("[", ".").replace("]", ""), message=message)
        )
    return errors


def _body_read(request: Request) -> bytes | None:
    """The request's body if the app has read it (Litestar keeps it on the connection's state)."""
    body = getattr(getattr(request, "_connection_state", None), "body", None)
    return body if isinstance(body, bytes) else None


def _body_type(request: Request) -> Any:
    """The type the route decodes its body into, if it takes one."""
    try:
        data = request.route_handler.parsed_fn_signature.parameters.get("data")
    except (AttributeError, TypeError):
        return None
    return data.annotation if data is not None else None


def handle_domain(_: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.extra.pop("retry_after"))} if "retry_after" in exc.extra else None
    return problem_response(exc.status, exc.title, exc.detail, exc.errors, exc.extra, headers)


def handle_http(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc, request)
        detail = "the request is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        status = 400 if any("malformed" in e.message.lower() or "JSON is" in e.message for e in errors) else 422
        return problem_response(status, "Validation failed", detail, errors)
    status = exc.status_code
    if status == 413 and (limit := _body_limit(request)) is not None:
        # Litestar refused the body before any handler read it; say the limit, as a handler would.
        detail = f"the request body is larger than {size_words(limit)}; send less, or split a file into smaller ones"
        return problem_response(
            413, "Request body too large", detail, [FieldError("body", detail)], {"max_bytes": limit}
        )
    titles = {404: "Not found", 405: "Method not allowed", 413: "Request body too large", 401: "Not signed in"}
    title = titles.get(status, "Request failed")
    detail = exc.detail if isinstance(exc.detail, str) and status < 500 else title
    # Keep the exception's headers: a 405 must say which methods the path allows (RFC 9110 §15.5.6).
    return problem_response(status, title, detail, headers=dict(exc.headers) if exc.headers else None)


def _body_limit(request: Request) -> int | None:
    try:
        return request.route_handler.resolve_request_max_body_size()
    except Exception:  # no route matched (404-like paths have no handler): no limit to name
        return None


def size_words(n: int) -> str:
    """A byte count as people write it: 32 MiB, 1 KiB, 1500 bytes."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


# PostgreSQL error classes that mean "the database is going away or not there", not "your input is bad".
_UNAVAILABLE_SQLSTATE = ("08", "57", "53")
# read_only_sql_transaction: the app is connected to a standby (a failover left DATABASE_URL on it) or
# the database was made read-only. Nothing was written, and writes work again once a primary is back.
_READ_ONLY_SQLSTATE = "25006"
# serialization_failure, deadlock_detected: the transaction was rolled back whole; retrying is safe.
_RETRY_SQLSTATE = ("40001", "40P01")


def handle_unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        # Litestar gathers an exception that a dependency raises while it is cleaned up into a group:
        # provide_conn's Unavailable for a connection whose release failed after PostgreSQL went away
        # (tests/reliability/test_pg_restart.py saw it as a 500). The one inside is what happened.
        inner = exc.exceptions[0]
        if isinstance(inner, DomainError):
            return handle_domain(request, inner)
        if isinstance(inner, HTTPException):
            return handle_http(request, inner)
        return handle_unexpected(request, inner)
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, (OSError, asyncpg.InterfaceError, TimeoutError, ConnectionError)) or sqlstate.startswith(
        _UNAVAILABLE_SQLSTATE
    ):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            503, "Service unavailable", "the database is not answering; try again shortly", headers={"Retry-After": "5"}
        )
    if sqlstate == _READ_ONLY_SQLSTATE:
        log.warning("database is read-only on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            503,
            "Service unavailable",
            "the database is read-only for now (a failover?); try again shortly",
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, BrokenProcessPool):
        # A CPU worker died under this request's job (killed for memory, a crash in a decoder or in the
        # PDF renderer). HealingProcessPool gives the next job a fresh pool, so trying again is right.
        log.error("a CPU worker died on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            503, "Service unavailable", "the server's worker stopped; try again shortly", headers={"Retry-After": "5"}
        )
    if sqlstate in _RETRY_SQLSTATE:
        # PostgreSQL rolled the whole transaction back (a deadlock between two writers, or a
        # serialization failure), so nothing was written and sending the request again is safe:
        # 503 with Retry-After makes phones and the PWA's outbox do exactly that.
        log.warning("transaction rolled back on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return problem_response(
            503,
            "Service unavailable",
            "a concurrent change got in the way; send the request again",
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, UnicodeDecodeError):
        # msgspec raises this (not DecodeError, which Litestar maps) for a body that is not UTF-8.
        return problem_response(400, "Bad request", "the body is not valid UTF-8 text")
    if isinstance(exc, RecursionError):
        log.warning("recursion limit on %s %s", request.method, request.url.path)
        return problem_response(400, "Bad request", "the body is nested too deeply")
    if sqlstate == "23505":
        return problem_response(409, "Conflict", "this would duplicate an existing record")
    if sqlstate == "23503":
        return problem_response(422, "Validation failed", "the request refers to something that does not exist")
    if sqlstate.startswith("22"):
        return problem_response(422, "Validation failed", "a value is out of range or malformed")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # The reference is the request's id: the log lines of this very request carry it (server.logs).
    rid = request_id()
    return problem_response(
        500,
        "Internal server error",
        f"something went wrong on the server; it has been logged under the reference {rid}",
        extra={"request_id": rid},
    )


EXCEPTION_HANDLERS = {DomainError: handle_domain, HTTPException: handle_http, Exception: handle_unexpected}


# The problem documents a route may answer, written into the OpenAPI document by one rule instead of
# on every handler, so the contract that clients (and the fuzz tests) read matches what the handlers
# above really send. A handler's own `responses=` wins for the same status.
_PROBLEM_TEXT = {
    400: "The request is malformed (a body that is not JSON, a bad page cursor).",
    401: "Not signed in, or the session expired or was revoked.",
    403: "Signed in, but this role may not do this.",
    404: "No such object, or not in the caller's scope (never 403, so existence does not leak).",
    409: "The request conflicts with the stored state (stale revision, duplicate, wrong status).",
    413: "The request body is larger than this route accepts.",
    415: "The body's content type is not one this route reads.",
    422: "A value failed validation; `errors` names each field.",
    429: "Too many failed attempts; retry after the Retry-After header's seconds.",
    503: "The database or photo store is not answering; retry after the Retry-After header's seconds.",
}


def problem_statuses(path: str, method: str) -> list[int]:
    """Which problem statuses a route may answer, from what every route of its kind can meet."""
    statuses = [400, 422, 503]
    if path.startswith("/api/"):
        statuses += [401] if path in _PUBLIC_API else [401, 403, 404]
        if path in _THROTTLED_API:
            statuses.append(429)
    if method in ("POST", "PUT", "PATCH"):
        statuses += [409, 413, 415]
    return sorted(set(statuses))


def _success_type(handler: Any) -> Any:
    annotation = handler.parsed_fn_signature.return_type
    if annotation.is_subclass_of(Response) and annotation.inner_types:
        return annotation.inner_types[0].annotation
    return annotation.annotation


class ProblemResponses(ReceiveRoutePlugin):
    """Documents the problem responses of every route as it is registered (see problem_statuses).

    A PUT is create-or-replace: it is documented with both 200 and 201 and the same body, whichever
    of the two its decorator names.
    """

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            documented: dict[int, ResponseSpec] = {}
            for method in handler.http_methods:
                for status in problem_statuses(route.path_format or route.path, method):
                    documented[status] = ResponseSpec(
                        data_container=Problem,
                        media_type=PROBLEM,
                        description=_PROBLEM_TEXT[status],
                        generate_examples=False,
                    )
                if method == "PUT":
                    other = 201 if handler.status_code == 200 else 200
                    documented[other] = ResponseSpec(
                        data_container=_success_type(handler),
                        generate_examples=False,
                        description="Created" if other == 201 else "Replaced or replayed",
                    )
            handler.responses = {**documented, **(handler.responses or {})}


def raw_body(description: str, content: dict[str, Schema]) -> type[Operation]:
    """An OpenAPI operation class (a route's `operation_class=`) documenting a body the handler reads
    itself, with `await request.body()` or as a stream, instead of through a `data` parameter: without
    it the OpenAPI document would say the route takes no body, and clients and fuzzers would believe it."""
    body = RequestBody(
        content={media: OpenAPIMediaType(schema=schema) for media, schema in content.items()},
        description=description,
        required=True,
    )

    @dataclass
    class RawBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return RawBodyOperation


# What a browser or a spreadsheet program may call a CSV file it sends.
CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


def csv_import(max_bytes: int) -> Any:
    """The route decorator of a CSV import (POST …/import, `dry_run` for a preview): the file itself is
    the body, up to `max_bytes`, read by the handler with csv_body()."""
    return post(
        "/import",
        status_code=200,
        request_max_body_size=max_bytes,
        operation_class=raw_body("The CSV file itself (UTF-8)", {"text/csv": Schema(type=OpenAPIType.STRING)}),
        # A CSV file: "\u0000" in it is six letters, not JSON's NUL. The rules name a real NUL by row and column.
        opt={NUL_CHECKED_BY_HANDLER: True},
    )


async def csv_body(request: Request) -> bytes:
    """The body of a CSV import, refused (415) when it is sent as something else."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise Unsupported(f"send the file as text/csv, not {media_type or 'no content type'}")
    return await request.body()
