"""Moving a template between installations: a published version downloaded as a JSON file, and such a
file (or a bare definition) uploaded as a draft.

Decisions:
- The file carries the definition exactly as the version froze it, with the template key and the
  version number beside it. The definition is already in its stored form (every default written
  out), so importing the file and publishing it gives an identical definition.
- An import is checked by the same code as PUT .../draft (decode_draft names the field of a type
  error, validate_definition lists every rule broken) and nothing is written unless it passes: the
  422 lists every problem, with fields relative to the definition (`sections[0].items[2].options`),
  exactly as the template editor receives them from a draft.
- POST /templates/import creates a template with the file's key or `?key=`; a key already taken is a
  422 on `key`, so the console can ask for another. POST /templates/{id}/import replaces that
  template's draft instead (the versions already published are untouched). It takes the same
  If-Match / If-None-Match as PUT .../draft (templates.routes): a file imported over a draft another
  admin saved since it was read is refused with 412 rather than silently replacing their changes.
- Exports and imports are audited: a template is part of how inspections are judged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
import msgspec
from asyncpg import Connection
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from msgspec import Meta

from server.audit import queries as audit
from server.errors import BadRequest, Conflict, FieldError, Invalid, NotFound
from server.http import Conn, User, VersionNumber, client_ip, raw_body
from server.structs import KEY_PATTERN, Base
from server.templates import queries
from server.templates.api_models import (
    DRAFT_CHANGED_RESPONSES,
    TemplateDetail,
    decode_draft,
    require_unchanged,
    stored_form,
    summarize_changes,
    type_error,
)
from server.templates.meaning import key_meaning_errors
from server.templates.models import Definition
from server.templates.rules import validate_definition

FORMAT = "muaina.template"
# A definition may be 2 MiB (the draft limit); the file wraps it with a few short fields.
IMPORT_MAX_BYTES = 3 * 1024 * 1024
_FILE_BODY = raw_body(
    "A template file as exported, or a bare definition", {"application/json": Schema(type=OpenAPIType.OBJECT)}
)
_KEY = re.compile(KEY_PATTERN)


class TemplateFile(Base, kw_only=True):
    """The export file. Only `definition` is needed to import; the rest says where it came from."""

    format: Literal["muaina.template"]
    format_version: Literal[1] = 1
    # Where the file came from, checked as a key only when it is the one used (a ?key= may replace it).
    key: Annotated[str, Meta(max_length=200)] | None = None
    version: int | None = None
    exported_at: str | None = None
    title: dict[str, str] | None = None
    definition: dict[str, Any]


def _checked(body: bytes) -> tuple[Definition, TemplateFile | None]:
    """The definition in a file (the export wrapper or a bare definition), or 400/422 saying why not."""
    try:
        # A file saved again by Windows Notepad starts with a byte-order mark, which JSON does not allow.
        raw = msgspec.json.decode(body.removeprefix(b"\xef\xbb\xbf"))
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the file is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise Invalid("the file is not a template", errors=[FieldError(field="body", message="expected a JSON object")])
    wrapper = None
    if "definition" in raw:
        try:
            wrapper = msgspec.convert(raw, TemplateFile)
        except msgspec.ValidationError as exc:
            raise Invalid(f"the file is not a Muaina template file: {exc}", errors=[type_error(str(exc))]) from None
        raw = wrapper.definition
    defn = decode_draft(msgspec.json.encode(raw))
    errors = validate_definition(defn)
    if errors:
        raise _invalid_definition(errors)
    return defn, wrapper


def _invalid_definition(errors: list[FieldError]) -> Invalid:
    return Invalid(
        f"the definition has {len(errors)} problem(s): " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]),
        errors=errors,
    )


async def _detail(conn: Connection, template_id: UUID) -> TemplateDetail:
    row = await queries.get_template(conn, template_id, is_admin=True)
    if row is None:
        raise NotFound("template not found")
    base = queries.template_out(row)
    return TemplateDetail(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        draft=row["draft"],
        draft_changes=summarize_changes(row["latest_definition"], row["draft"]) if row["draft"] is not None else None,
    )


def _count_items(definition: dict[str, Any]) -> int:
    return sum(len(s.get("items", [])) for s in definition.get("sections", []))


class TemplateTransferController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]

    @get(
        "/{template_id:uuid}/versions/{version:int}/export",
        # The body is built as bytes (the stored definition is passed through); document what it is.
        responses={200: ResponseSpec(data_container=TemplateFile, description="The version as a template file")},
    )
    async def export_version(
        self, template_id: UUID, version: VersionNumber, request: Request, user: User, conn: Conn
    ) -> Response[bytes]:
        """The version as a file to download: {format, format_version, key, version, title, definition}."""
        user.require("admin")
        found = await queries.get_version(conn, template_id, version)
        if found is None:
            raise NotFound("template version not found")
        document = {
            "format": FORMAT,
            "format_version": 1,
            "key": found.template_key,
            "version": found.version,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "title": found.definition.get("title"),
            "definition": found.definition,
        }
        async with conn.transaction():
            await audit.record(
                conn,
                "template.export",
                actor=user,
                entity="template",
                entity_id=template_id,
                data={"key": found.template_key, "version": found.version},
                ip=client_ip(request),
            )
        filename = f"{found.template_key}-v{found.version}.json"
        return Response(
            msgspec.json.encode(document),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @post("/import", status_code=201, request_max_body_size=IMPORT_MAX_BYTES, operation_class=_FILE_BODY)
    async def import_new(self, request: Request, user: User, conn: Conn, key: str | None = None) -> TemplateDetail:
        """Body: an export file or a bare definition. Creates a template whose draft is that definition."""
        user.require("admin")
        defn, wrapper = _checked(await request.body())
        chosen = key if key is not None else (wrapper.key if wrapper else None)
        if chosen is None or not _KEY.fullmatch(chosen):
            raise Invalid(
                "the template needs a key",
                errors=[
                    FieldError(field="key", message="must be lower-case letters, digits and _ starting with a letter")
                ],
            )
        if await queries.key_taken(conn, chosen):
            raise Invalid("key taken", errors=[FieldError(field="key", message="another template has this key")])
        draft = stored_form(defn)
        try:
            async with conn.transaction():
                template_id = await queries.insert_template(
                    conn, chosen, defn.title.en.strip(), defn.title.ur.strip(), user.id
                )
                await queries.save_draft(conn, template_id, draft)
                await audit.record(
                    conn,
                    "template.import",
                    actor=user,
                    entity="template",
                    entity_id=template_id,
                    data=_import_data(chosen, wrapper, draft),
                    ip=client_ip(request),
                )
        except asyncpg.UniqueViolationError:
            raise Invalid(
                "key taken", errors=[FieldError(field="key", message="another template has this key")]
            ) from None
        return await _detail(conn, template_id)

    @post(
        "/{template_id:uuid}/import",
        status_code=200,
        request_max_body_size=IMPORT_MAX_BYTES,
        operation_class=_FILE_BODY,
        responses=DRAFT_CHANGED_RESPONSES,
    )
    async def import_into(self, template_id: UUID, request: Request, user: User, conn: Conn) -> TemplateDetail:
        """Body: an export file or a bare definition. Replaces this template's draft with it.

        Send `If-Match` with the detail's `draft_etag` (or `If-None-Match: *` when it was null), as for
        PUT .../draft: a draft saved by someone else since then gets 412 and is kept.
        """
        user.require("admin")
        defn, wrapper = _checked(await request.body())
        draft = stored_form(defn)
        async with conn.transaction():
            current = await queries.lock_template(conn, template_id)
            if current is None:
                raise NotFound("template not found")
            # As a saved draft is: a key of a published version kept for another question is refused.
            if errors := key_meaning_errors(defn, await queries.published_items(conn, template_id)):
                raise _invalid_definition(errors)
            if current["archived_at"] is not None:
                raise Conflict("the template is archived; unarchive it before importing into it")
            # As with a save, a file equal to the current draft loses nothing whatever the tag.
            if draft != current["draft"]:
                require_unchanged(
                    current["draft"], request.headers.get("if-match"), request.headers.get("if-none-match")
                )
            await queries.save_draft(conn, template_id, draft)
            await audit.record(
                conn,
                "template.import",
                actor=user,
                entity="template",
                entity_id=template_id,
                data=_import_data(current["key"], wrapper, draft),
                ip=client_ip(request),
            )
        return await _detail(conn, template_id)


def _import_data(key: str, wrapper: TemplateFile | None, draft: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "source_key": wrapper.key if wrapper else None,
        "source_version": wrapper.version if wrapper else None,
        "items": _count_items(draft),
    }


ROUTES = [TemplateTransferController]
