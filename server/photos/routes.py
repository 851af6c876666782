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

from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, HttpMethod, Request, Response, get, patch, post, put, route
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import Parameter

from server.errors import TooLarge
from server.http import Conn, User, client_ip, provide_conn, provide_user, raw_body
from server.photos import resumable, rules, service
from server.photos.models import PhotoOut
from server.photos.resumable import UploadState

_connect = asynccontextmanager(provide_conn)
_READ = [HttpMethod.GET, HttpMethod.HEAD]
_IMAGE = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)

# Renditions never change under their URL (a photo id is never reused for other bytes), and they
# are private to signed-in readers, so browsers may keep them but shared caches may not.
# Kept by the browser for a day, but only for the same Authorization: the HTTP cache otherwise ignores
# that header, and another person signed in later in a shared browser would be served these bytes.
_RENDITION_HEADERS = {
    "Cache-Control": "private, max-age=86400, immutable",
    "Vary": "Authorization",
    "X-Content-Type-Options": "nosniff",
}


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


def _operation_ids(get_id: str) -> Callable[..., str]:
    # Answering HEAD as well must not rename the GET operation that clients generated from /schema know.
    return lambda _handler, method, _path: get_id if method == HttpMethod.GET else f"{get_id}Head"


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
        source: Annotated[
            str | None,
            Parameter(
                max_length=16,
                description="camera: taken with the phone's camera in the app; gallery: picked from the phone's "
                "pictures or files. Left out by older phones (stored as not said).",
            ),
        ] = None,
    ) -> Response[PhotoOut]:
        async with _connect(state) as conn:
            user = (await provide_user(request, conn)).require("inspector")
            if request.content_length is not None and request.content_length > state.settings.max_photo_bytes:
                raise TooLarge(f"a photo may be at most {state.settings.max_photo_bytes} bytes")
            target = await service.upload_target(
                conn, user, inspection_id, item_key, photo_id, radius_m=state.settings.presence_radius_m
            )
            device = rules.device_evidence(taken_at, lat, lon, accuracy_m, source)
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

    @post(
        "/{photo_id:uuid}/upload",
        status_code=201,
        description="Begin a resumable upload of the photo: its target and the phone's evidence as for the PUT, "
        "its `size` in bytes and, if known, its `sha256` (hex), which the whole must then have. Send the bytes "
        "in parts with PATCH …/upload?offset=N; after a dropped connection, GET …/upload says how many arrived. "
        "Declaring it again (same details) answers 200 with what has arrived; once stored, with the photo.",
        responses={
            200: ResponseSpec(
                data_container=UploadState, description="Declared before: what has arrived, or the stored photo"
            )
        },
    )
    async def begin_upload(
        self,
        photo_id: UUID,
        request: Request,
        user: User,
        conn: Conn,
        state: State,
        inspection_id: UUID,
        item_key: Annotated[str, Parameter(min_length=1, max_length=100)],
        size: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        sha256: Annotated[str | None, Parameter(min_length=64, max_length=64)] = None,
        taken_at: Annotated[str | None, Parameter(max_length=64)] = None,
        lat: float | None = None,
        lon: float | None = None,
        accuracy_m: float | None = None,
        source: Annotated[str | None, Parameter(max_length=16)] = None,
    ) -> Response[UploadState]:
        user.require("inspector")
        digest = resumable.parse_sha256(sha256)
        target = await service.upload_target(
            conn, user, inspection_id, item_key, photo_id, radius_m=state.settings.presence_radius_m
        )
        device = rules.device_evidence(taken_at, lat, lon, accuracy_m, source)
        found, created = await resumable.begin(
            conn, user, photo_id, target, device, size, digest, state.settings.max_photo_bytes
        )
        return Response(found, status_code=201 if created else 200)

    @get("/{photo_id:uuid}/upload")
    async def upload_state(self, photo_id: UUID, user: User, conn: Conn) -> UploadState:
        """How many bytes of a resumable upload have arrived (`received`), or the stored photo (`photo`)."""
        return await resumable.current(conn, user.require("inspector"), photo_id)

    @patch(
        "/{photo_id:uuid}/upload",
        request_max_body_size=resumable.PART_MAX_BYTES,
        description="Send the next part of a resumable upload: `offset` must be the bytes received so far (409 "
        "with `received` otherwise). The part that makes the photo whole stores it (201, or 200 when it was "
        "stored already) and the reply carries the photo; an empty part at offset = size asks again for one "
        "whose storing failed (503).",
        operation_class=raw_body("The next bytes of the photo file", {"application/octet-stream": _IMAGE}),
        responses={201: ResponseSpec(data_container=UploadState, description="The last part: the photo is stored")},
    )
    async def upload_part(
        self,
        photo_id: UUID,
        request: Request,
        state: State,
        offset: Annotated[int, Parameter(ge=0, le=2**31 - 1)],
    ) -> Response[UploadState]:
        async with _connect(state) as conn:
            user = (await provide_user(request, conn)).require("inspector")
            radius_m = state.settings.presence_radius_m
            if (stored := await resumable.expect(conn, user, photo_id, offset, radius_m=radius_m)) is not None:
                return Response(stored, status_code=200)
        part = await _read_body(request, resumable.PART_MAX_BYTES)
        async with _connect(state) as conn:
            row = await resumable.append(conn, user, photo_id, offset, part)
        if row["received"] < row["size"]:
            return Response(resumable.UploadState(photo_id=photo_id, size=row["size"], received=row["received"]))
        done, created = await resumable.complete(
            lambda: _connect(state),
            state.store,
            state.executor,
            user,
            row,
            radius_m=state.settings.presence_radius_m,
            ip=client_ip(request),
        )
        return Response(done, status_code=201 if created else 200)

    @get("/{photo_id:uuid}")
    async def metadata(self, photo_id: UUID, user: User, conn: Conn) -> PhotoOut:
        return await service.reply_for(conn, user, await service.readable(conn, user, photo_id))

    # The read routes answer HEAD too (same status, headers and scope, no body), and carry a strong
    # ETag: If-None-Match with it is a 304 that reads nothing from the store (see service._serve).
    @route(
        "/{photo_id:uuid}/thumb",
        http_method=_READ,
        operation_id=_operation_ids("ApiV1PhotosPhotoIdThumbThumb"),
        media_type="image/jpeg",
    )
    async def thumb(self, photo_id: UUID, request: Request, user: User, conn: Conn, state: State) -> Response[bytes]:
        served = await service.rendition(conn, state.store, user, photo_id, "thumb", **_conditions(request))
        return _rendition(photo_id, "thumb", served)

    @route(
        "/{photo_id:uuid}/display",
        http_method=_READ,
        operation_id=_operation_ids("ApiV1PhotosPhotoIdDisplayDisplay"),
        media_type="image/jpeg",
    )
    async def display(self, photo_id: UUID, request: Request, user: User, conn: Conn, state: State) -> Response[bytes]:
        served = await service.rendition(conn, state.store, user, photo_id, "display", **_conditions(request))
        return _rendition(photo_id, "display", served)

    @route(
        "/{photo_id:uuid}/original",
        http_method=_READ,
        operation_id=_operation_ids("ApiV1PhotosPhotoIdOriginalOriginal"),
        media_type="application/octet-stream",
    )
    async def original(self, photo_id: UUID, request: Request, user: User, conn: Conn, state: State) -> Response[bytes]:
        served = await service.original(conn, state.store, user, photo_id, client_ip(request), **_conditions(request))
        # Never inline: the original is whatever the phone sent (a JPEG with a ZIP appended is
        # accepted), so browsers must save it, not render or sniff it.
        headers = {
            "Content-Disposition": f'attachment; filename="{photo_id}.{served.extension}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        }
        return _served(served, "application/octet-stream", headers)


def _conditions(request: Request) -> dict[str, Any]:
    return {"head": request.method == HttpMethod.HEAD, "if_none_match": request.headers.get("if-none-match")}


def _rendition(photo_id: UUID, kind: str, served: service.Served) -> Response[bytes]:
    headers = {**_RENDITION_HEADERS, "Content-Disposition": f'inline; filename="{photo_id}-{kind}.jpg"'}
    return _served(served, "image/jpeg", headers)


def _served(served: service.Served, media_type: str, headers: dict[str, str]) -> Response[bytes]:
    if served.not_modified:
        # RFC 9110 §15.4.5: a 304 repeats the validator and the caching rules of the 200, nothing else.
        kept = {k: v for k, v in headers.items() if k in ("Cache-Control", "Vary")}
        return Response(b"", status_code=304, headers={"ETag": served.etag, **kept})
    # Content-Length is set here, not from the body, so a HEAD announces the size its GET sends.
    headers = {**headers, "ETag": served.etag, "Content-Length": str(served.size)}
    return Response(served.data or b"", media_type=media_type, headers=headers)


ROUTES = [PhotoController]
