"""Inspections: the sync PUT, lists, one inspection and its history (DESIGN §5, §7)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, put
from litestar.datastructures import State
from litestar.dto import DTOConfig, MsgspecDTO
from litestar.exceptions import ValidationException
from litestar.openapi.spec import Reference, Schema
from litestar.params import Parameter
from litestar.typing import FieldDefinition

from server.auth.rules import token_hash
from server.errors import FieldError, Invalid, NotFound, Unauthorized
from server.http import (
    NUL_CHECKED_BY_HANDLER,
    Conn,
    QueryTime,
    User,
    bearer_token,
    client_ip,
    provide_conn,
    refuse_nul_in_body,
)
from server.inspections import queries, service
from server.inspections.models import (
    ConflictOut,
    HistoryOut,
    InspectionDoc,
    InspectionOut,
    InspectionPage,
    InspectionSummary,
    RevisionOut,
    Status,
)
from server.structs import plausible_moment

if TYPE_CHECKING:
    from litestar._openapi.schema_generation.schema import SchemaCreator


_connect = asynccontextmanager(provide_conn)


class DocumentDTO(MsgspecDTO[InspectionDoc]):
    """Keep the PUT body as bytes (a RawDocument) for the handler, which decodes it only when needed.

    Most resends of a document are answered from its exact bytes (service.replay_bytes) without
    decoding it at all. When it is decoded, it goes straight from bytes into InspectionDoc in one typed
    pass: without a DTO, Litestar parses the JSON into dicts and then converts those into the Struct,
    which for a 300-answer document costs several times a typed decode, and converts leniently (a
    string "1" becomes 1). The DTO keeps the body documented in the OpenAPI schema as InspectionDoc.
    """

    config = DTOConfig(max_nested_depth=0)

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        # Document the Struct itself, constraints and all, rather than the DTO's derived transfer type.
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(InspectionDoc))

    def decode_bytes(self, value: bytes) -> RawDocument:  # type: ignore[override]
        return RawDocument(value)


class RawDocument:
    """A PUT body not yet decoded."""

    __slots__ = ("raw",)
    _decoder = msgspec.json.Decoder(InspectionDoc)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def decode(self) -> InspectionDoc:
        refuse_nul_in_body(self.raw)  # this route's share of server.http.refuse_nul_characters
        try:
            return self._decoder.decode(self.raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            # The problem handler in server/http.py names the field from msgspec's message.
            raise ValidationException(
                detail="the request body is not valid", extra=[{"message": str(exc), "key": "body"}]
            ) from None


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["inspections"]

    @put(
        "/{inspection_id:uuid}",
        status_code=200,
        dto=DocumentDTO,
        return_dto=None,
        opt={NUL_CHECKED_BY_HANDLER: True},
        description="Sync the whole document: 201 created, 200 new revision or replay, 409 stale or read-only "
        "(its `server_copy` carries the latest review). The 200/201 reply's `review` is always null: "
        "GET the inspection for it.",
    )
    async def put_inspection(
        self, inspection_id: UUID, data: InspectionDoc, state: State, request: Request
    ) -> Response[InspectionOut]:
        # The hottest route (phones resend until acknowledged) signs its caller in itself, in the same
        # statement that reads the inspection's state, rather than through the `user` dependency's own
        # query: a replay then costs one round trip. The answers are those of `user`: 401 without a
        # valid session, 403 for a role other than inspector. `data` is the DTO's RawDocument.
        body = cast(RawDocument, data)
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("sign in first: send Authorization: Bearer <token>")
        session = token_hash(token)
        async with _connect(state) as conn:
            replayed = await service.replay_bytes(conn, session, inspection_id, body.raw)
            if replayed is not None:
                return Response(replayed, status_code=200, media_type=MediaType.JSON)
            created, reply = await service.sync_inspection_as(
                conn,
                session,
                inspection_id,
                body.decode(),
                radius_m=state.settings.presence_radius_m,
                ip=client_ip(request),
                raw=body.raw,
            )
        return Response(reply, status_code=201 if created else 200)

    @get(
        "/",
        description="Newest first. `from` is inclusive and `to` exclusive, on the time the server "
        "first received the inspection; pass `next_before` as `before` for the next page. "
        "Rows carry neither answers nor the review: GET the inspection for those.",
    )
    async def list_inspections(
        self,
        user: User,
        conn: Conn,
        station_id: UUID | None = None,
        status: Status | None = None,
        inspector_id: UUID | None = None,
        since: Annotated[QueryTime | None, Parameter(query="from")] = None,
        until: Annotated[QueryTime | None, Parameter(query="to")] = None,
        before: Annotated[str | None, Parameter(max_length=100)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> InspectionPage:
        rows = await queries.list_inspections(
            conn,
            user,
            station_id=station_id,
            status=status,
            inspector_id=inspector_id,
            since=since,
            until=until,
            before=_parse_before(before),
            limit=limit,
        )
        items = [
            InspectionSummary(
                station_name={"en": r["name_en"], "ur": r["name_ur"]},
                **{k: v for k, v in r.items() if k not in ("name_en", "name_ur")},
            )
            for r in rows
        ]
        last = items[-1] if len(items) == limit else None
        return InspectionPage(items=items, next_before=f"{last.created_at.isoformat()}_{last.id}" if last else None)

    @get(
        "/{inspection_id:uuid}",
        description="The stored inspection with its latest review (`review`, null "
        "before any), as the sync bundle sends a returned inspection.",
    )
    async def get_inspection(self, inspection_id: UUID, user: User, conn: Conn) -> InspectionOut:
        return await service.current_reply(conn, user, inspection_id)

    @get(
        "/{inspection_id:uuid}/history",
        description="Every revision, and every body refused with 409. `documents=false` leaves out each "
        "one's document (null): who did what when, for a screen that lists them, without megabytes of answers.",
    )
    async def history(self, inspection_id: UUID, user: User, conn: Conn, documents: bool = True) -> HistoryOut:
        if not await queries.readable(conn, user, inspection_id):
            raise NotFound("no inspection with this id in your scope")
        revisions = [RevisionOut(**r) for r in await queries.revisions(conn, inspection_id, documents=documents)]
        conflicts = [ConflictOut(**r) for r in await queries.conflicts(conn, inspection_id, documents=documents)]
        return HistoryOut(revisions=revisions, conflicts=conflicts)


def _parse_before(before: str | None) -> tuple[datetime, UUID] | None:
    """A `next_before` this server gave out: the time (with its offset, one the database can take)
    and the id of the last row of the page before."""
    if before is None:
        return None
    at, _, ident = before.rpartition("_")
    try:
        moment = msgspec.convert(at, datetime)
        if moment.tzinfo is None or not plausible_moment(moment):
            raise ValueError("not a time this server writes in a cursor")
        return moment, UUID(ident)
    except (msgspec.ValidationError, ValueError):
        raise Invalid(
            "before must be a next_before value from a previous page",
            errors=[FieldError(field="before", message="is not a valid page cursor")],
        ) from None


ROUTES = [InspectionController]
