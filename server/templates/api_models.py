"""The templates API's bodies and replies, and two pure helpers the routes need around a definition.

The definition itself (models.Definition) and its rules (rules.validate_definition) belong to the
template model; this module only carries it over HTTP:
- `decode_draft` turns a request body into a Definition, naming the field of a type error in the same
  `sections[1].items[3].type` form that validate_definition uses, so an editor handles both alike.
- `stored_form` is what is saved as a draft and frozen as a version: every default written out (a
  phone never has to know the defaults) and absent optional fields left out rather than null.
- `summarize_changes` compares two stored definitions for the publish reply and the admin console.
- `draft_etag` and `precondition_holds` let two admins (or two tabs) editing one draft find out that
  the other saved in between, instead of the later autosave silently replacing the earlier one;
  `require_unchanged` applies them for every route that writes the draft (save, publish, import).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar.openapi import ResponseSpec

from server.errors import BadRequest, FieldError, Invalid, PreconditionFailed
from server.http import PROBLEM, Problem, etag_listed
from server.structs import Base, Key, LocalText
from server.templates.models import Definition


class TemplateCreate(Base):
    key: Key
    title: LocalText


class Text(msgspec.Struct, kw_only=True):
    en: str
    ur: str


DraftStatus = Literal["none", "unpublished", "published"]


class TemplateOut(msgspec.Struct, kw_only=True):
    id: UUID
    key: str
    title: Text
    # The newest published version, if any. `draft_status`: "none" (no draft saved), "published" (the
    # draft is what the latest version holds) or "unpublished" (the draft has changes to publish).
    latest_version: int | None
    latest_version_id: UUID | None
    latest_published_at: datetime | None
    kinds: list[str] | None
    draft_status: DraftStatus
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TemplateChanges(msgspec.Struct, kw_only=True):
    first_version: bool
    sections_added: list[str]
    sections_removed: list[str]
    sections_changed: list[str]
    items_added: list[str]
    items_removed: list[str]
    items_changed: list[str]
    # Template-wide settings that differ: any of "title", "grade_bands", "kinds".
    settings_changed: list[str]


class TemplateDetail(TemplateOut, kw_only=True):
    draft: dict[str, Any] | None
    # What publishing the draft now would change, compared with the latest version (admins only).
    draft_changes: TemplateChanges | None
    # The strong entity-tag of `draft`, quotes included, to send back verbatim as `If-Match` with
    # PUT .../draft and POST .../publish; null when there is no draft (send `If-None-Match: *` then).
    # Derived here from the draft itself, so every reply that carries a draft carries its tag.
    draft_etag: str | None = None

    def __post_init__(self) -> None:
        self.draft_etag = draft_etag(self.draft) if self.draft is not None else None


class VersionSummary(msgspec.Struct, kw_only=True):
    id: UUID
    template_id: UUID
    version: int
    kinds: list[str] | None
    sections: int
    items: int
    published_at: datetime
    published_by: UUID | None


class VersionOut(msgspec.Struct, kw_only=True):
    id: UUID
    template_id: UUID
    template_key: str
    version: int
    definition: dict[str, Any]
    kinds: list[str] | None
    published_at: datetime
    published_by: UUID | None


class PublishOut(msgspec.Struct, kw_only=True):
    id: UUID
    template_id: UUID
    version: int
    published_at: datetime
    changes: TemplateChanges


class DraftChanged(PreconditionFailed):
    """The draft is no longer the one the request's If-Match (or If-None-Match) named.

    412, as RFC 9110 prescribes for a precondition sent in a header, rather than the 409 that DESIGN §7
    gives a stale revision carried in a body: these routes already answer 409 for other reasons (an
    archived template, a draft already published), and an editor must tell "someone else saved" apart
    from those without reading words. Like the inspections' 409, the problem document carries the
    server's copy: `draft` and its `draft_etag`.
    """


def draft_etag(draft: dict[str, Any]) -> str:
    """A strong entity-tag of a stored draft: equal drafts, equal tags, whichever admin saved them.

    Derived from the content rather than counted, so no column is needed and a save that changes nothing
    (which writes nothing) keeps the tag. Going from A to B and back to A gives A's tag again, and an
    editor that last saw A may then write over it: nothing it has not seen is lost.
    """
    digest = hashlib.sha256(msgspec.json.encode(draft, order="deterministic")).hexdigest()
    return f'"{digest[:32]}"'


# Documented on every route that takes If-Match on the draft, so clients (and the fuzz tests) know the answer.
DRAFT_CHANGED_RESPONSES = {
    412: ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM,
        description="If-Match named a draft that is no longer the current one; `draft` and `draft_etag` are.",
        generate_examples=False,
    )
}


def require_unchanged(draft: dict[str, Any] | None, if_match: str | None, if_none_match: str | None = None) -> None:
    """Raise DraftChanged (412, with the current draft) unless the request's preconditions hold."""
    current = draft_etag(draft) if draft is not None else None
    if not precondition_holds(if_match, if_none_match, current):
        raise DraftChanged(
            "the draft was changed since you read it (another admin, tab or computer saved it); "
            "`draft` is the one on the server now",
            extra={"draft": draft, "draft_etag": current},
        )


def precondition_holds(if_match: str | None, if_none_match: str | None, current: str | None) -> bool:
    """RFC 9110 §13.1.1–2 for a write to the draft, whose tag is `current` (None: there is no draft).

    If-Match compares strongly (a weak tag never matches); `If-None-Match: *` asks to write only where
    no draft exists yet, which is how an editor that opened a template without a draft says so.
    """
    if if_match is not None and not etag_listed(if_match, current, weak=False):
        return False
    return not (if_none_match is not None and etag_listed(if_none_match, current, weak=True))


_AT = re.compile(r"\s*-\s*at `\$\.?([^`]*)`$")
_NAMED = re.compile(r"(?:unknown|missing required) field `([^`]*)`")


def decode_draft(body: bytes) -> Definition:
    """Decode a definition or raise: 400 for text that is not JSON, 422 naming the field of a type error."""
    try:
        return msgspec.json.decode(body, type=Definition)
    except msgspec.ValidationError as exc:
        raise Invalid(f"the definition is not valid: {exc}", errors=[type_error(str(exc))]) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None


def type_error(message: str) -> FieldError:
    """A msgspec message ("Expected `int`, got `str` - at `$.sections[0].weight`") as a FieldError."""
    match = _AT.search(message)
    path = match.group(1) if match else ""
    text = _AT.sub("", message)
    named = _NAMED.search(text)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    return FieldError(field=path or "body", message=text)


def stored_form(defn: Definition) -> dict[str, Any]:
    return _drop_nulls(msgspec.to_builtins(defn))


def _drop_nulls(value: Any) -> Any:
    # Only object members are dropped: in a definition null always means "not given" (see
    # models.VisibleIf), while a list's elements are kept exactly as they are.
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _items(defn: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        item["key"]: (section["key"], item) for section in defn.get("sections", []) for item in section.get("items", [])
    }


def _sections(defn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: {k: v for k, v in s.items() if k != "items"} for s in defn.get("sections", [])}


def summarize_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> TemplateChanges:
    """What `new` adds, removes and changes compared with `old` (None: there is no earlier version).

    An item counts as changed when any of its fields differ or it moved to another section; a section
    when its title or weight differ or its place in the order did.
    """
    before, after = old or {}, new
    old_items, new_items = _items(before), _items(after)
    old_sections, new_sections = _sections(before), _sections(after)
    old_order = [k for k in old_sections if k in new_sections]
    new_order = [k for k in new_sections if k in old_sections]
    return TemplateChanges(
        first_version=old is None,
        sections_added=[k for k in new_sections if k not in old_sections],
        sections_removed=[k for k in old_sections if k not in new_sections],
        sections_changed=[
            k for k in new_order if new_sections[k] != old_sections[k] or old_order.index(k) != new_order.index(k)
        ],
        items_added=[k for k in new_items if k not in old_items],
        items_removed=[k for k in old_items if k not in new_items],
        items_changed=[k for k, v in new_items.items() if k in old_items and old_items[k] != v],
        settings_changed=[]
        if old is None
        else [k for k in ("title", "grade_bands", "kinds") if before.get(k) != after.get(k)],
    )
