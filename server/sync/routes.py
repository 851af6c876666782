"""GET /api/v1/sync/bundle?since=CURSOR, with ETag revalidation (DESIGN §5)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from server.http import Conn, User, etag_listed
from server.sync import service
from server.sync.models import Bundle

# Phones revalidate every time: a stored bundle may be used offline, but never trusted online unasked.
_CACHING = "private, no-cache"


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @get(
        "/bundle",
        description=(
            "Templates, stations, assignments and returned inspections for offline work. With `since` (a "
            "previous `cursor`), only what changed after it plus `removed`. Send If-None-Match with the ETag "
            "to get 304 when nothing changed."
        ),
    )
    async def bundle(
        self, user: User, conn: Conn, request: Request, since: Annotated[str | None, Parameter(max_length=64)] = None
    ) -> Response[Bundle]:
        tag = await service.current_etag(conn, user, since)
        if etag_listed(request.headers.get("if-none-match"), tag, weak=True):
            return Response(content=b"", status_code=304, headers={"ETag": tag, "Cache-Control": _CACHING})
        body = service.cached(tag)
        if body is None:
            tag, body = await service.build(conn, user, since)
        return Response(content=body, media_type="application/json", headers={"ETag": tag, "Cache-Control": _CACHING})


ROUTES = [SyncController]
