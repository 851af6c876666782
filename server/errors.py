"""Domain errors and the one place they become HTTP problem documents (RFC 9457).

Code below the routes raises these; nothing below routes.py knows about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec


class FieldError(msgspec.Struct):
    field: str
    message: str


class DomainError(Exception):
    """Base of every error the API answers on purpose."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str = "", *, errors: list[FieldError] | None = None, extra: dict[str, Any] | None = None
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.extra = extra or {}


class Invalid(DomainError):
    status = 422
    title = "Validation failed"


class BadRequest(DomainError):
    status = 400
    title = "Bad request"


class Unauthorized(DomainError):
    status = 401
    title = "Not signed in"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    """A precondition the request sent in a header (If-Match, If-None-Match) no longer holds (RFC 9110 §13.1)."""

    status = 412
    title = "Precondition failed"


class TooLarge(DomainError):
    status = 413
    title = "Request body too large"


class Unsupported(DomainError):
    status = 415
    title = "Unsupported media type"


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


class Unavailable(DomainError):
    status = 503
    title = "Service unavailable"


log = logging.getLogger("muaina")
