"""The templates API: create, edit the draft, publish immutable versions, read versions, archive.

Decisions:
- A draft is stored only when it is valid: PUT .../draft answers 422 with every problem otherwise.
- Publishing a draft identical to the latest version answers 409 (with that version's id and number
  in the body) instead of making a duplicate version; nothing is written then.
- Publishing copies the definition's title onto the template, so lists show what inspectors see.
- An archived template accepts no new draft or version until it is unarchived; its published versions
  stay readable, since inspections made with them keep pointing at them.
- Admins see every template and its draft; other signed-in users see templates with a published
  version and never a draft (the offline bundle carries the published versions).
- Two admins (or two tabs) on one draft: the detail carries `draft_etag`; PUT .../draft with
  `If-Match: <draft_etag>` (or `If-None-Match: *` when there was no draft) answers 412 with the current
  draft and its tag when another save came in between, and writes nothing. The check and the write
  happen under the template's row lock. A save equal to the current draft succeeds whatever the tag (a
  retry of a save whose reply was lost must not look like a conflict). Without either header a save
  behaves as before the header existed.
- A draft or version that keeps an item key of a published version for another question (another
  type, or a choice none of whose options it had) is refused with 422 at that item's field
  (templates/meaning.py): dashboards, actions and exports join versions by item key.
- Publishing freezes a version for good, after the admin confirmed what it changes: POST .../publish
  takes the same If-Match, so a draft saved by someone else meanwhile is not published unseen.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from asyncpg import Connection
from litestar import Controller, Request, get, post, put
from litestar.openapi.spec import OpenAPIType, Schema

from server.assignments import queries as assignment_queries
from server.audit import queries as audit
from server.auth.models import Principal
from server.errors import Conflict, FieldError, Invalid, NotFound
from server.http import Conn, User, VersionNumber, client_ip, raw_body
from server.templates import queries
from server.templates.api_models import (
    DRAFT_CHANGED_RESPONSES,
    PublishOut,
    TemplateCreate,
    TemplateDetail,
    TemplateOut,
    VersionOut,
    VersionSummary,
    decode_draft,
    require_unchanged,
    stored_form,
    summarize_changes,
    type_error,
)
from server.templates.meaning import key_meaning_errors
from server.templates.models import to_definition
from server.templates.rules import is_blank, validate_definition

DRAFT_MAX_BYTES = 2 * 1024 * 1024


def _invalid(errors: list[FieldError]) -> Invalid:
    return Invalid(
        f"the definition has {len(errors)} problem(s): " + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]),
        errors=errors,
    )


def _detail(row: asyncpg.Record, is_admin: bool) -> TemplateDetail:
    base = queries.template_out(row)
    draft = row["draft"] if is_admin else None
    changes = summarize_changes(row["latest_definition"], draft) if draft is not None else None
    return TemplateDetail(**{f: getattr(base, f) for f in base.__struct_fields__}, draft=draft, draft_changes=changes)


async def _set_archived(
    template_id: UUID, archived: bool, request: Request, user: Principal, conn: Connection
) -> TemplateDetail:
    user.require("admin")
    async with conn.transaction():
        # Its open visits first, then the template: the order a submission closing one takes them in.
        await assignment_queries.lock_open_visits(conn, template_id=template_id)
        current = await queries.lock_template(conn, template_id)
        if current is None:
            raise NotFound("template not found")
        if (current["archived_at"] is not None) != archived:
            await queries.set_archived(conn, template_id, archived)
            data: dict[str, object] = {"key": current["key"]}
            # Its visits are held back while it is archived (assignments.queries.HELD_BACK; phones show
            # them withdrawn), and its schedules held back meanwhile make their next visits when it is back.
            resumed = await assignment_queries.hold_back_changed(conn, template_id=template_id, resume=not archived)
            if resumed:
                data["resumed_schedules"] = {str(k): v for k, v in resumed.items()}
            await audit.record(
                conn,
                "template.archive" if archived else "template.unarchive",
                actor=user,
                entity="template",
                entity_id=template_id,
                data=data,
                ip=client_ip(request),
            )
    return await _load_detail(conn, template_id, True)


async def _load_detail(conn: Connection, template_id: UUID, is_admin: bool) -> TemplateDetail:
    row = await queries.get_template(conn, template_id, is_admin=is_admin)
    if row is None:
        raise NotFound("template not found")
    return _detail(row, is_admin)


class TemplateController(Controller):
    path = "/api/v1/templates"
    tags = ["templates"]

    @get("/")
    async def list_templates(
        self, user: User, conn: Conn, q: str | None = None, archived: bool | None = None
    ) -> list[TemplateOut]:
        return await queries.list_templates(conn, is_admin=user.is_admin, q=q, archived=archived)

    @post("/")
    async def create_template(self, data: TemplateCreate, request: Request, user: User, conn: Conn) -> TemplateDetail:
        user.require("admin")
        errors = [
            FieldError(field=f"title.{lang}", message="must not be blank")
            for lang in ("en", "ur")
            if is_blank(getattr(data.title, lang))
        ]
        if await queries.key_taken(conn, data.key):
            errors.append(FieldError(field="key", message="another template has this key"))
        if errors:
            raise Invalid("the template is not valid", errors=errors)
        try:
            async with conn.transaction():
                template_id = await queries.insert_template(
                    conn, data.key, data.title.en.strip(), data.title.ur.strip(), user.id
                )
                await audit.record(
                    conn,
                    "template.create",
                    actor=user,
                    entity="template",
                    entity_id=template_id,
                    data={"key": data.key, "title": data.title.en},
                    ip=client_ip(request),
                )
        except asyncpg.UniqueViolationError:
            raise Invalid(
                "key taken", errors=[FieldError(field="key", message="another template has this key")]
            ) from None
        return await _load_detail(conn, template_id, True)

    @get("/{template_id:uuid}")
    async def get_template(self, template_id: UUID, user: User, conn: Conn) -> TemplateDetail:
        return await _load_detail(conn, template_id, user.is_admin)

    @put(
        "/{template_id:uuid}/draft",
        request_max_body_size=DRAFT_MAX_BYTES,
        responses=DRAFT_CHANGED_RESPONSES,
        operation_class=raw_body(
            "The template definition (DESIGN §7)", {"application/json": Schema(type=OpenAPIType.OBJECT)}
        ),
    )
    async def save_draft(self, template_id: UUID, request: Request, user: User, conn: Conn) -> TemplateDetail:
        """Body: the template definition (DESIGN §7). Stored only when it passes every rule.

        Send `If-Match` with the detail's `draft_etag` (or `If-None-Match: *` when it was null): a draft
        saved by someone else since then gets 412 with the current `draft` and `draft_etag`.
        """
        user.require("admin")
        defn = decode_draft(await request.body())
        # Read before the lock: published versions never change, and publishing checks again under it.
        errors = validate_definition(defn) + key_meaning_errors(defn, await queries.published_items(conn, template_id))
        if errors:
            raise _invalid(errors)
        async with conn.transaction():
            current = await queries.lock_template(conn, template_id)
            if current is None:
                raise NotFound("template not found")
            if current["archived_at"] is not None:
                raise Conflict("the template is archived; unarchive it before editing")
            draft = stored_form(defn)
            # The builder saves a moment after typing stops: a save that changes nothing is no new write.
            if draft != current["draft"]:
                require_unchanged(
                    current["draft"], request.headers.get("if-match"), request.headers.get("if-none-match")
                )
                await queries.save_draft(conn, template_id, draft)
                await audit.record(
                    conn,
                    "template.draft",
                    actor=user,
                    entity="template",
                    entity_id=template_id,
                    data={"sections": len(defn.sections), "items": sum(len(s.items) for s in defn.sections)},
                    ip=client_ip(request),
                )
        return await _load_detail(conn, template_id, True)

    @post("/{template_id:uuid}/publish", status_code=201, responses=DRAFT_CHANGED_RESPONSES)
    async def publish(self, template_id: UUID, request: Request, user: User, conn: Conn) -> PublishOut:
        """Publish the draft as the next version. With `If-Match: <draft_etag>`, only that draft (else 412)."""
        user.require("admin")
        async with conn.transaction():
            # Its open visits first, then the template (as archive takes them): a version for other kinds
            # of station holds back visits at stations of the kinds it leaves out.
            await assignment_queries.lock_open_visits(conn, template_id=template_id)
            current = await queries.lock_template(conn, template_id)
            if current is None:
                raise NotFound("template not found")
            if current["archived_at"] is not None:
                raise Conflict("the template is archived; unarchive it before publishing")
            draft = current["draft"]
            require_unchanged(draft, request.headers.get("if-match"))
            if draft is None:
                raise Invalid(
                    "there is no draft to publish", errors=[FieldError(field="draft", message="save a draft first")]
                )
            # The rules may have grown stricter since the draft was saved: check it again.
            try:
                defn = to_definition(draft)
            except msgspec.ValidationError as exc:
                raise _invalid([type_error(str(exc))]) from None
            errors = validate_definition(defn) + key_meaning_errors(
                defn, await queries.published_items(conn, template_id)
            )
            if errors:
                raise _invalid(errors)
            definition = stored_form(defn)
            latest = await queries.latest_version(conn, template_id)
            if latest is not None and latest["definition"] == definition:
                raise Conflict(
                    f"the draft is already published as version {latest['version']}",
                    extra={"id": latest["id"], "version": latest["version"]},
                )
            number = latest["version"] + 1 if latest is not None else 1
            changes = summarize_changes(latest["definition"] if latest is not None else None, definition)
            row = await queries.insert_version(conn, template_id, number, definition, defn.kinds, user.id)
            if latest is not None and latest["kinds"] != defn.kinds:
                # Visits at stations it is no longer for are held back, off the phones' "begin" (HELD_BACK);
                # schedules held back by the kinds left out before make their visits if it is for them again.
                await assignment_queries.hold_back_changed(conn, template_id=template_id, resume=True)
            await queries.set_title(conn, template_id, defn.title.en.strip(), defn.title.ur.strip())
            await audit.record(
                conn,
                "template.publish",
                actor=user,
                entity="template",
                entity_id=template_id,
                data={
                    "key": current["key"],
                    "version": number,
                    "version_id": row["id"],
                    "items_added": len(changes.items_added),
                    "items_removed": len(changes.items_removed),
                    "items_changed": len(changes.items_changed),
                },
                ip=client_ip(request),
            )
        return PublishOut(
            id=row["id"], template_id=template_id, version=number, published_at=row["published_at"], changes=changes
        )

    @post("/{template_id:uuid}/archive", status_code=200)
    async def archive(self, template_id: UUID, request: Request, user: User, conn: Conn) -> TemplateDetail:
        return await _set_archived(template_id, True, request, user, conn)

    @post("/{template_id:uuid}/unarchive", status_code=200)
    async def unarchive(self, template_id: UUID, request: Request, user: User, conn: Conn) -> TemplateDetail:
        return await _set_archived(template_id, False, request, user, conn)

    @get("/{template_id:uuid}/versions")
    async def list_versions(self, template_id: UUID, user: User, conn: Conn) -> list[VersionSummary]:
        await _load_detail(conn, template_id, user.is_admin)  # 404 for a template this user may not see
        return await queries.list_versions(conn, template_id)

    @get("/{template_id:uuid}/versions/{version:int}")
    async def get_version(self, template_id: UUID, version: VersionNumber, user: User, conn: Conn) -> VersionOut:
        found = await queries.get_version(conn, template_id, version)
        if found is None:
            raise NotFound("template version not found")
        return found


class TemplateVersionController(Controller):
    path = "/api/v1/template-versions"
    tags = ["templates"]

    @get("/{version_id:uuid}")
    async def get_version(self, version_id: UUID, user: User, conn: Conn) -> VersionOut:
        found = await queries.get_version_by_id(conn, version_id)
        if found is None:
            raise NotFound("template version not found")
        return found


ROUTES = [TemplateController, TemplateVersionController]
