"""Photo upload and download (DESIGN §6, §7).

The upload route deliberately does not declare `conn` or `user`: a dependency holds its pooled
database connection until the handler returns, and a photo body can take minutes to arrive over
a weak phone network. The route signs the caller in and checks the inspection on a connection it
gives back before reading the body, so slow uploads never starve the pool.

The body limit is the app's `max_photo_bytes` setting, which a route decorator cannot see (it is
evaluated at import, before any settings exist). Litestar's own limit is therefore switched off
for this one route (`request_max_body_size=None`) and `_read_body` enforces the setting instead,
the same way Litestar does: a Content-Length over the limit is refused before anything is read,
and a body without one is counted while it streams and refused as soon as it passes the limit.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, put
from litestar.datastructures import State
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import Parameter

from server.errors import TooLarge
from server.http import Conn, User, client_ip, provide_conn, provide_user, raw_body
from server.photos import rules, service
from server.photos.models import PhotoOut

_connect = asynccontextmanager(provide_conn)
_IMAGE = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)

# Renditions never change under their URL (a photo id is never reused for other bytes), and they
# are private to signed-in readers, so browsers may keep them but shared caches may not.
_RENDITION_HEADERS = {"Cache-Control": "private, max-age=86400, immutable", "X-Content-Type-Options": "nosniff"}


async def _read_body(request: Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"a photo may be at most {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise TooLarge(f"a photo may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class PhotoController(Controller):
    path = "/api/v1/photos"
    tags = ["photos"]

    @put(
        "/{photo_id:uuid}",
        request_max_body_size=None,
        status_code=201,
        description="Upload a photo as the raw request body (JPEG, PNG or WebP; the format is sniffed).",
        operation_class=raw_body(
            "The image file itself", {"image/jpeg": _IMAGE, "image/png": _IMAGE, "image/webp": _IMAGE}
        ),
    )
    async def upload(
        self,
        photo_id: UUID,
        request: Request,
        state: State,
        inspection_id: UUID,
        item_key: Annotated[str, Parameter(min_length=1, max_length=100)],
        taken_at: Annotated[str | None, Parameter(max_length=64)] = None,
        lat: float | None = None,
        lon: float | None = None,
        accuracy_m: float | None = None,
    ) -> Response[PhotoOut]:
        async with _connect(state) as conn:
            user = (await provide_user(request, conn)).require("inspector")
            if request.content_length is not None and request.content_length > state.settings.max_photo_bytes:
                raise TooLarge(f"a photo may be at most {state.settings.max_photo_bytes} bytes")
            target = await service.upload_target(conn, user, inspection_id, item_key)
            device = rules.device_evidence(taken_at, lat, lon, accuracy_m)
        data = await _read_body(request, state.settings.max_photo_bytes)
        reply, created = await service.save_upload(
            lambda: _connect(state),
            state.store,
            state.executor,
            user,
            photo_id,
            target,
            device,
            data,
            client_ip(request),
        )
        return Response(reply, status_code=201 if created else 200)

    @get("/{photo_id:uuid}")
    async def metadata(self, photo_id: UUID, user: User, conn: Conn) -> PhotoOut:
        return await service.reply_for(conn, user, await service.readable(conn, user, photo_id))

    @get("/{photo_id:uuid}/thumb", media_type="image/jpeg")
    async def thumb(self, photo_id: UUID, user: User, conn: Conn, state: State) -> Response[bytes]:
        return _rendition(photo_id, "thumb", await service.rendition(conn, state.store, user, photo_id, "thumb"))

    @get("/{photo_id:uuid}/display", media_type="image/jpeg")
    async def display(self, photo_id: UUID, user: User, conn: Conn, state: State) -> Response[bytes]:
        return _rendition(photo_id, "display", await service.rendition(conn, state.store, user, photo_id, "display"))

    @get("/{photo_id:uuid}/original", media_type="application/octet-stream")
    async def original(self, photo_id: UUID, request: Request, user: User, conn: Conn, state: State) -> Response[bytes]:
        data, ext = await service.original(conn, state.store, user, photo_id, client_ip(request))
        # Never inline: the original is whatever the phone sent (a JPEG with a ZIP appended is
        # accepted), so browsers must save it, not render or sniff it.
        return Response(
            data,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{photo_id}.{ext}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "private, no-store",
            },
        )


def _rendition(photo_id: UUID, kind: str, data: bytes) -> Response[bytes]:
    return Response(
        data,
        media_type="image/jpeg",
        headers={**_RENDITION_HEADERS, "Content-Disposition": f'inline; filename="{photo_id}-{kind}.jpg"'},
    )


ROUTES = [PhotoController]
