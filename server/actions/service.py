"""Creating and changing corrective actions: checks, the state machine, notes and audit, per transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from asyncpg import Connection, Record
from msgspec import UNSET

from server.actions import queries
from server.actions.models import ActionIn, ActionOut, ActionPatch
from server.actions.rules import FINAL, STAFF, STAFF_FIELDS, closed_message, transition_problem
from server.audit import queries as audit
from server.auth.models import Principal
from server.dashboards.rollup import REPORTING_TZ, take_sync_state
from server.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from server.templates.rules import unusable_at

_REFUSALS = {"forbidden": Forbidden, "conflict": Conflict}
# An owner must be able to see the action. The same answer for an unknown id and for a user elsewhere, so
# the reply says nothing about who exists in other areas.
_NOT_AN_OWNER = "is not an active user who works where the station is"

_PATCHABLE = ("status", "evidence_photo_ids", "due_date", "owner_name", "owner_user_id", "description")


def _note_of_another() -> Conflict:
    return Conflict(
        "note_id is the id of a note of another corrective action",
        errors=[FieldError(field="note_id", message="belongs to a note of another action")],
    )


def _changed_since(read: int, now: int, current: ActionOut) -> Conflict:
    # The action as it stands travels with the 409 (as with a stale review), so the screen can show it.
    return Conflict(
        f"the corrective action changed since you read it (you read change {read}, it is now at change {now}); "
        "look at it again before you change it",
        errors=[FieldError(field="base_change_seq", message="is not the action's change_seq: it changed since")],
        extra={"action": current},
    )


def today() -> date:
    """Due dates are days in Pakistan, whatever the server's clock zone."""
    return datetime.now(ZoneInfo(REPORTING_TZ)).date()


async def create(conn: Connection, user: Principal, data: ActionIn, ip: str | None) -> ActionOut:
    user.require("reviewer", "admin")
    scope = user.scope_args()
    template_id = await _check_new(conn, scope, data)
    async with conn.transaction():
        action_id = await queries.insert_action(
            conn,
            {
                "station_id": data.station_id,
                "inspection_id": data.inspection_id,
                "template_id": template_id,
                "item_key": data.item_key,
                "description": data.description.strip(),
                "owner_name": data.owner_name.strip(),
                "owner_user_id": data.owner_user_id,
                "due_date": data.due_date,
                "created_by": user.id,
            },
        )
        if action_id is None:
            existing = await queries.open_action_for(conn, data.station_id, template_id, data.item_key or "")
            raise Conflict(
                "this station already has an unverified action for this item; update that one",
                extra={"existing_id": existing},
            )
        await audit.record(
            conn,
            "action.create",
            actor=user,
            entity="action",
            entity_id=action_id,
            data={
                "station_id": str(data.station_id),
                "template_id": str(template_id) if template_id else None,
                "item_key": data.item_key,
                "due_date": data.due_date.isoformat(),
            },
            ip=ip,
        )
    return queries.action_out(await queries.get_action(conn, scope, action_id), [])


async def update(conn: Connection, user: Principal, action_id: UUID, data: ActionPatch, ip: str | None) -> ActionOut:
    scope = user.scope_args()
    notes = _notes(data)
    note_id = None if data.note_id is UNSET else data.note_id
    async with conn.transaction():
        if any(getattr(data, name) is not UNSET for name in _PATCHABLE):
            # A change stamps sync_state (the actions trigger). A submission or an approval that opens or
            # reopens an action holds sync_state before it reaches the action's row; locking the row
            # first and waiting for sync_state after closed a cycle with it (rollup.LOCK_ORDER, step 2).
            await take_sync_state(conn)
        row = await queries.get_action(conn, scope, action_id, lock=True)
        if row is None:
            raise NotFound("no corrective action with this id in your scope")
        if notes and note_id is not None and (owner := await queries.note_action(conn, note_id)) is not None:
            if owner != action_id:
                # The same id on a note of another action is a client's mistake, not a replay: dropping
                # that note silently would lose what was written.
                raise _note_of_another()
            # A phone's queued request sent again: its note is kept already, and what else it asked for
            # was done then, or has been overtaken since (a reviewer reopened the action, or closed it).
            # Applied again, its status would undo that with no note to show for it. It is answered with
            # the action as it stands, changing nothing.
            return queries.action_out(row, await queries.notes_of(conn, action_id))
        if data.base_change_seq is not UNSET and data.base_change_seq != row["change_seq"]:
            # Checked after the replay above (a request already applied is answered as before) and before
            # anything else: whatever else is wrong, the sender read the action as it no longer is.
            current = queries.action_out(row, await queries.notes_of(conn, action_id))
            raise _changed_since(data.base_change_seq, row["change_seq"], current)
        if row["status"] in FINAL and notes:
            # A closed action's history is closed too: a note added now would read as work on it.
            raise Conflict(closed_message(row["status"]))
        changes = _changes(data, row, user.role, bool(notes))
        if problem := await _owner_problem(conn, changes.get("owner_user_id"), row["station_id"]):
            raise Invalid(f"{problem.field}: {problem.message}", errors=[problem])
        if errors := await _evidence_problems(conn, user, row, changes.get("evidence_photo_ids")):
            raise Invalid("evidence_photo_ids: " + "; ".join(e.message for e in errors), errors=errors)
        if changes:
            await queries.update_action(conn, action_id, changes, user.id)
        status_to = changes.get("status")
        status_from = row["status"] if status_to else None
        # The first note carries the status change; a change without a note is recorded as an empty one,
        # so the notes are the action's whole history.
        for n, body in enumerate(notes or ([""] if status_to else [])):
            first = n == 0
            stored = await queries.add_note(
                conn,
                action_id,
                user.id,
                body,
                status_from if first else None,
                status_to if first else None,
                note_id if first and notes else None,
            )
            if not stored:
                # Stored meanwhile, by a request this one did not wait for (the row lock makes the same
                # action's requests wait for each other, so it was a note of another action).
                raise _note_of_another()
        if changes or notes:
            await audit.record(
                conn,
                "action.update",
                actor=user,
                entity="action",
                entity_id=action_id,
                data={
                    # The names alone (what readers of this entry have always had), and each field's value
                    # before and after: a due date pushed back or an owner replaced is then on the record.
                    "changes": sorted(changes),
                    "values": {name: [_audited(row[name]), _audited(value)] for name, value in sorted(changes.items())},
                    "status_from": row["status"],
                    "status_to": status_to,
                    "notes": len(notes),
                },
                ip=ip,
            )
    return queries.action_out(await queries.get_action(conn, scope, action_id), await queries.notes_of(conn, action_id))


def _audited(value: Any) -> Any:
    """A column's value as the audit entry keeps it: JSON's own types, dates as ISO days, ids as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_audited(v) for v in value]
    return value


def _notes(data: ActionPatch) -> list[str]:
    notes = [] if data.note is UNSET else [data.note]
    notes += [] if data.notes is UNSET else list(data.notes)
    return [n.strip() for n in notes if n.strip()]


def _changes(data: ActionPatch, row: Record, role: str, has_note: bool) -> dict[str, Any]:
    """The columns to change, after the role and state machine checks; raises on a refused change."""
    sent = {name: getattr(data, name) for name in _PATCHABLE if getattr(data, name) is not UNSET}
    if role not in STAFF and (refused := sorted(STAFF_FIELDS & sent.keys())):
        raise Forbidden(f"only a reviewer or an administrator can change {', '.join(refused)}")
    if "status" in sent and (refusal := transition_problem(row["status"], sent["status"], role, has_note)):
        if refusal.kind == "needs_note":
            needed = "is required to cancel" if sent["status"] == "cancelled" else "is required to verify"
            raise Invalid(refusal.message, errors=[FieldError(field="note", message=needed)])
        raise _REFUSALS[refusal.kind](refusal.message)
    if row["status"] in FINAL and sent.keys() - {"status"}:
        raise Conflict(closed_message(row["status"]))
    if "due_date" in sent and sent["due_date"] < today():
        raise Invalid("the due date is in the past", errors=[FieldError(field="due_date", message="is in the past")])
    if "evidence_photo_ids" in sent:
        # The same photo named twice is one piece of evidence.
        sent["evidence_photo_ids"] = list(dict.fromkeys(sent["evidence_photo_ids"]))
    for key in ("owner_name", "description"):
        if key in sent:
            sent[key] = sent[key].strip()
    if sent.get("description") == "":
        raise Invalid("say what must be done", errors=[FieldError(field="description", message="is blank")])
    return {k: v for k, v in sent.items() if v != row[k]}


async def _check_new(conn: Connection, scope: tuple[bool, list[UUID], list[UUID]], data: ActionIn) -> UUID | None:
    """Refuses an action that is not valid (422 naming each field); returns the item's checklist."""
    errors: list[FieldError] = []
    template_id = None
    if not await queries.station_in_scope(conn, scope, data.station_id):
        errors.append(FieldError(field="station_id", message="is not a station in your scope"))
    else:
        if data.inspection_id is not None:
            same_station, has_item, template_id = await queries.inspection_item(
                conn, data.inspection_id, data.station_id, data.item_key
            )
            if not same_station:
                errors.append(FieldError(field="inspection_id", message="is not an inspection of this station"))
            elif not has_item:
                errors.append(FieldError(field="item_key", message="is not an item of the inspection's template"))
            elif data.template_id is not None and data.template_id != template_id:
                errors.append(FieldError(field="template_id", message="is not the inspection's template"))
        elif data.item_key is not None:
            having = await queries.templates_with_item(conn, data.station_id, data.item_key)
            template_id, problem = _item_template(data, having)
            if problem:
                errors.append(problem)
        if problem := await _owner_problem(conn, data.owner_user_id, data.station_id):
            errors.append(problem)
    if not data.description.strip():
        errors.append(FieldError(field="description", message="say what must be done"))
    if data.due_date < today():
        errors.append(FieldError(field="due_date", message="is in the past"))
    if errors:
        raise Invalid("the action is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return template_id if data.item_key is not None else None


def _item_template(data: ActionIn, having: list[Record]) -> tuple[UUID | None, FieldError | None]:
    """The checklist of an item named without an inspection: the one asked for, or else the likeliest of
    those with the key (`having`, best first) that could be used at the station: not archived, and for
    its kind of station, as an assignment's template must be. A client that names no checklist is still
    answered, as before checklists were told apart; the app names it.

    A made-up key is refused: it would also take the station's one unfinished-action place for it."""
    if not having:
        return None, FieldError(field="item_key", message="is not an item of any published template")
    if data.template_id is None:
        usable = [r["template_id"] for r in having if _unusable(r) is None]
        if not usable:
            return None, FieldError(field="item_key", message="is not an item of any checklist used at this station")
        return usable[0], None
    named = next((r for r in having if r["template_id"] == data.template_id), None)
    if named is None:
        return None, FieldError(field="item_key", message="is not an item of this template")
    if problem := _unusable(named):
        return None, FieldError(field="template_id", message=problem)
    return data.template_id, None


def _unusable(row: Record) -> str | None:
    return unusable_at(row["archived"], row["kinds"], row["station_kind"])


async def _evidence_problems(
    conn: Connection, user: Principal, row: Record, photo_ids: list[UUID] | None
) -> list[FieldError]:
    """What is wrong with the photos newly named as evidence: each must be a stored photo the user may
    read, taken in an inspection of the action's station. Photos the action holds already were checked
    when they were added (perhaps by someone who may read them when this user may not)."""
    new = [p for p in photo_ids or () if p not in set(row["evidence_photo_ids"])]
    if not new:
        return []
    found = await queries.evidence_photos(conn, user, row["station_id"], new)
    errors = []
    for photo_id in new:
        if photo_id not in found:
            # The same answer for an unknown id and for a photo out of the user's sight.
            message = f"{photo_id} is not a stored photo you may see"
        elif not found[photo_id]:
            message = f"{photo_id} is a photo of another station's inspection"
        else:
            continue
        errors.append(FieldError(field="evidence_photo_ids", message=message))
    return errors


async def _owner_problem(conn: Connection, owner_id: UUID | None, station_id: UUID) -> FieldError | None:
    """What is wrong with naming `owner_id` the owner of an action at the station; None when nothing
    is (no owner named included)."""
    if owner_id is None or await queries.owner_covers_station(conn, owner_id, station_id):
        return None
    return FieldError(field="owner_user_id", message=_NOT_AN_OWNER)
