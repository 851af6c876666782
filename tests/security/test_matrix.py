"""The access matrix: every operation of the OpenAPI document, called anonymously and as each role,
must answer what EXPECTED says; and every object is tried by users of another region or district.

EXPECTED is written out by hand, one row per operation. The table is checked against the app's own
OpenAPI document, so an endpoint added without a row here fails the suite until someone decides who
may call it. Cells are exact status codes for a valid minimal request on region A's objects by
region A's users (inspector_a's district, reviewer_a's region) and the admin.

Scope: region B's reviewer and inspector, and the inspector of region A's other district, then try
every object-bearing operation on the objects of region A's first district. They must get 404,
never 200 and never a 403 that a non-existent id would not also get (so the answer says nothing
about whether the object exists); SCOPE writes out each answer, and its comments the few that are
not 404. Finally every list, dashboard, export and bundle read by those users, plain and filtered by
region A's ids, must contain none of the ids they may not see.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from server.app import create_app
from server.config import load_settings
from tests.review_fixtures import DEFINITION
from tests.security.conftest import Scene, tiny_jpeg

# The scene is built once for the module; the tests using it run in the module's event loop.
module_loop = pytest.mark.asyncio(loop_scope="module")

ROLES = ("anon", "inspector", "reviewer", "admin")
USERS = {"anon": None, "inspector": "inspector_a", "reviewer": "reviewer_a", "admin": "admin"}
# Users of region B, and an inspector of another district of region A (same region, other district).
FOREIGN = {"inspector": "inspector_b", "reviewer": "reviewer_b", "district": "inspector_a2"}
METHODS = ("get", "put", "post", "patch", "delete")

ANON, INSP, REV, ADMIN = ROLES


def row(anon: int, inspector: int, reviewer: int, admin: int) -> dict[str, int]:
    return {ANON: anon, INSP: inspector, REV: reviewer, ADMIN: admin}


EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    # Anyone: liveness, readiness and signing in (anonymous here means a wrong password).
    ("GET", "/health"): row(200, 200, 200, 200),
    ("GET", "/ready"): row(200, 200, 200, 200),
    ("POST", "/api/v1/auth/login"): row(401, 200, 200, 200),
    ("POST", "/api/v1/auth/logout"): row(401, 204, 204, 204),
    # One's own password, any role; sent here unchanged (422), so the scene's passwords and sessions hold.
    ("POST", "/api/v1/auth/password"): row(401, 422, 422, 422),
    ("GET", "/api/v1/me"): row(401, 200, 200, 200),
    # Users and the audit trail: admins only, but for the list a reviewer reads to assign visits (the
    # inspectors serving their area: tests/test_auth.py).
    ("GET", "/api/v1/users"): row(401, 403, 200, 200),
    ("POST", "/api/v1/users"): row(401, 403, 403, 201),
    ("POST", "/api/v1/users/import"): row(401, 403, 403, 200),
    ("GET", "/api/v1/users/{user_id}"): row(401, 403, 403, 200),
    ("PATCH", "/api/v1/users/{user_id}"): row(401, 403, 403, 200),
    ("GET", "/api/v1/audit"): row(401, 403, 403, 200),
    ("GET", "/api/v1/audit/verify"): row(401, 403, 403, 200),
    # The hierarchy: everyone reads their part, admins write.
    ("GET", "/api/v1/regions"): row(401, 200, 200, 200),
    ("POST", "/api/v1/regions"): row(401, 403, 403, 201),
    ("GET", "/api/v1/regions/{region_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/regions/{region_id}"): row(401, 403, 403, 200),
    ("GET", "/api/v1/districts"): row(401, 200, 200, 200),
    ("POST", "/api/v1/districts"): row(401, 403, 403, 201),
    ("GET", "/api/v1/districts/{district_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/districts/{district_id}"): row(401, 403, 403, 200),
    ("GET", "/api/v1/circles"): row(401, 200, 200, 200),
    ("POST", "/api/v1/circles"): row(401, 403, 403, 201),
    ("GET", "/api/v1/circles/{circle_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/circles/{circle_id}"): row(401, 403, 403, 200),
    ("GET", "/api/v1/stations"): row(401, 200, 200, 200),
    ("POST", "/api/v1/stations"): row(401, 403, 403, 201),
    ("GET", "/api/v1/stations/{station_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/stations/{station_id}"): row(401, 403, 403, 200),
    ("POST", "/api/v1/stations/import"): row(401, 403, 403, 200),
    # Templates: province-wide; everyone signed in reads published versions, admins write and export.
    ("GET", "/api/v1/templates"): row(401, 200, 200, 200),
    ("POST", "/api/v1/templates"): row(401, 403, 403, 201),
    ("GET", "/api/v1/templates/{template_id}"): row(401, 200, 200, 200),
    ("PUT", "/api/v1/templates/{template_id}/draft"): row(401, 403, 403, 200),
    ("POST", "/api/v1/templates/{template_id}/publish"): row(401, 403, 403, 201),
    ("POST", "/api/v1/templates/{template_id}/archive"): row(401, 403, 403, 200),
    ("POST", "/api/v1/templates/{template_id}/unarchive"): row(401, 403, 403, 200),
    ("GET", "/api/v1/templates/{template_id}/versions"): row(401, 200, 200, 200),
    ("GET", "/api/v1/templates/{template_id}/versions/{version}"): row(401, 200, 200, 200),
    ("GET", "/api/v1/template-versions/{version_id}"): row(401, 200, 200, 200),
    ("GET", "/api/v1/templates/{template_id}/versions/{version}/export"): row(401, 403, 403, 200),
    ("POST", "/api/v1/templates/import"): row(401, 403, 403, 201),
    ("POST", "/api/v1/templates/{template_id}/import"): row(401, 403, 403, 200),
    # Offline work: inspectors write their own inspections and photos; everyone in scope reads them.
    ("GET", "/api/v1/sync/bundle"): row(401, 200, 200, 200),
    ("PUT", "/api/v1/inspections/{inspection_id}"): row(401, 201, 403, 403),
    ("GET", "/api/v1/inspections"): row(401, 200, 200, 200),
    ("GET", "/api/v1/inspections/{inspection_id}"): row(401, 200, 200, 200),
    ("GET", "/api/v1/inspections/{inspection_id}/history"): row(401, 200, 200, 200),
    ("PUT", "/api/v1/photos/{photo_id}"): row(401, 201, 403, 403),
    ("GET", "/api/v1/photos/{photo_id}"): row(401, 200, 200, 200),
    ("GET", "/api/v1/photos/{photo_id}/thumb"): row(401, 200, 200, 200),
    ("GET", "/api/v1/photos/{photo_id}/display"): row(401, 200, 200, 200),
    ("GET", "/api/v1/photos/{photo_id}/original"): row(401, 200, 200, 200),
    # A photo sent in parts (the phone's own): declared, asked about, and a part sent. The last two are
    # tried on the scene's stored photo, which they answer with (its upload was whole).
    ("POST", "/api/v1/photos/{photo_id}/upload"): row(401, 201, 403, 403),
    ("GET", "/api/v1/photos/{photo_id}/upload"): row(401, 200, 403, 403),
    ("PATCH", "/api/v1/photos/{photo_id}/upload"): row(401, 200, 403, 403),
    # Review: reviewers and admins decide; the inspector reads the reviews of their own inspection.
    ("GET", "/api/v1/review/queue"): row(401, 403, 200, 200),
    ("POST", "/api/v1/inspections/{inspection_id}/review"): row(401, 403, 200, 200),
    ("GET", "/api/v1/inspections/{inspection_id}/reviews"): row(401, 200, 200, 200),
    # Corrective actions: reviewers and admins open them; the inspector of the station adds notes.
    ("GET", "/api/v1/actions"): row(401, 200, 200, 200),
    ("POST", "/api/v1/actions"): row(401, 403, 201, 201),
    ("GET", "/api/v1/actions/{action_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/actions/{action_id}"): row(401, 200, 200, 200),
    # Dashboards and table exports: reviewers (their scope) and admins.
    ("GET", "/api/v1/dashboard/scores"): row(401, 403, 200, 200),
    ("GET", "/api/v1/dashboard/rankings"): row(401, 403, 200, 200),
    ("GET", "/api/v1/dashboard/failed-items"): row(401, 403, 200, 200),
    ("GET", "/api/v1/dashboard/overdue"): row(401, 403, 200, 200),
    ("GET", "/api/v1/dashboard/flagged"): row(401, 403, 200, 200),
    ("GET", "/api/v1/exports/inspections.csv"): row(401, 403, 200, 200),
    ("GET", "/api/v1/exports/inspections.xlsx"): row(401, 403, 200, 200),
    # The report of one inspection: whoever may read the inspection, its own inspector included.
    ("GET", "/api/v1/inspections/{inspection_id}/report.pdf"): row(401, 200, 200, 200),
    # Planning: admins and reviewers plan; the inspector reads their own assignments and schedules.
    ("GET", "/api/v1/assignments"): row(401, 200, 200, 200),
    ("POST", "/api/v1/assignments"): row(401, 403, 201, 201),
    ("GET", "/api/v1/assignments/{assignment_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/assignments/{assignment_id}"): row(401, 403, 200, 200),
    ("GET", "/api/v1/schedules"): row(401, 200, 200, 200),
    ("POST", "/api/v1/schedules"): row(401, 403, 201, 201),
    # One plan for many stations; sent as a preview (dry_run) so that it leaves the scene as it was.
    ("POST", "/api/v1/schedules/bulk"): row(401, 403, 200, 200),
    ("GET", "/api/v1/schedules/{schedule_id}"): row(401, 200, 200, 200),
    ("PATCH", "/api/v1/schedules/{schedule_id}"): row(401, 403, 200, 200),
}

NOT_FOUND, FORBIDDEN, GLOBAL, REFUSED, OWN_REGION = 404, 403, 200, 422, 200
DISTRICT = "district"


def scope(inspector: int, reviewer: int, district: int | None = None) -> dict[str, int]:
    """Region B's inspector and reviewer; and the inspector of region A's other district, who gets what
    region B's inspector gets unless said otherwise."""
    return {INSP: inspector, REV: reviewer, DISTRICT: inspector if district is None else district}


# What region B's inspector and reviewer, and an inspector of region A's other district, get from each
# operation that names one of region A's first district's objects (in its path, or in its body or query
# for the writes in BODY_REFERENCES). 404 is the rule. The other answers are the same for an id that
# does not exist at all, which the test checks, so none of them says whether the object is there:
#   FORBIDDEN  the role may not call the operation whatever the object (its role check comes first);
#   GLOBAL     templates and their versions belong to the whole province, not to a region;
#   REFUSED    a write naming a station outside the caller's area: 422 naming the field.
# One answer is not about another area at all: OWN_REGION, the region the other district's inspector
# works in.
SCOPE: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/users/{user_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("PATCH", "/api/v1/users/{user_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/regions/{region_id}"): scope(NOT_FOUND, NOT_FOUND, district=OWN_REGION),
    ("PATCH", "/api/v1/regions/{region_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/districts/{district_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/districts/{district_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/circles/{circle_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/circles/{circle_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/stations/{station_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/stations/{station_id}"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/templates/{template_id}"): scope(GLOBAL, GLOBAL),
    ("PUT", "/api/v1/templates/{template_id}/draft"): scope(FORBIDDEN, FORBIDDEN),
    ("POST", "/api/v1/templates/{template_id}/publish"): scope(FORBIDDEN, FORBIDDEN),
    ("POST", "/api/v1/templates/{template_id}/archive"): scope(FORBIDDEN, FORBIDDEN),
    ("POST", "/api/v1/templates/{template_id}/unarchive"): scope(FORBIDDEN, FORBIDDEN),
    ("GET", "/api/v1/templates/{template_id}/versions"): scope(GLOBAL, GLOBAL),
    ("GET", "/api/v1/templates/{template_id}/versions/{version}"): scope(GLOBAL, GLOBAL),
    ("GET", "/api/v1/template-versions/{version_id}"): scope(GLOBAL, GLOBAL),
    ("GET", "/api/v1/templates/{template_id}/versions/{version}/export"): scope(FORBIDDEN, FORBIDDEN),
    ("POST", "/api/v1/templates/{template_id}/import"): scope(FORBIDDEN, FORBIDDEN),
    ("PUT", "/api/v1/inspections/{inspection_id}"): scope(NOT_FOUND, FORBIDDEN),
    ("GET", "/api/v1/inspections/{inspection_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("GET", "/api/v1/inspections/{inspection_id}/history"): scope(NOT_FOUND, NOT_FOUND),
    ("PUT", "/api/v1/photos/{photo_id}"): scope(NOT_FOUND, FORBIDDEN),
    ("GET", "/api/v1/photos/{photo_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("GET", "/api/v1/photos/{photo_id}/thumb"): scope(NOT_FOUND, NOT_FOUND),
    ("GET", "/api/v1/photos/{photo_id}/display"): scope(NOT_FOUND, NOT_FOUND),
    ("GET", "/api/v1/photos/{photo_id}/original"): scope(NOT_FOUND, NOT_FOUND),
    ("POST", "/api/v1/photos/{photo_id}/upload"): scope(NOT_FOUND, FORBIDDEN),
    ("GET", "/api/v1/photos/{photo_id}/upload"): scope(NOT_FOUND, FORBIDDEN),
    ("PATCH", "/api/v1/photos/{photo_id}/upload"): scope(NOT_FOUND, FORBIDDEN),
    ("POST", "/api/v1/inspections/{inspection_id}/review"): scope(FORBIDDEN, NOT_FOUND),
    ("GET", "/api/v1/inspections/{inspection_id}/reviews"): scope(NOT_FOUND, NOT_FOUND),
    ("GET", "/api/v1/inspections/{inspection_id}/report.pdf"): scope(NOT_FOUND, NOT_FOUND),
    ("POST", "/api/v1/actions"): scope(FORBIDDEN, REFUSED),
    ("GET", "/api/v1/actions/{action_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/actions/{action_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("POST", "/api/v1/assignments"): scope(FORBIDDEN, REFUSED),
    ("GET", "/api/v1/assignments/{assignment_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/assignments/{assignment_id}"): scope(FORBIDDEN, NOT_FOUND),
    ("POST", "/api/v1/schedules"): scope(FORBIDDEN, REFUSED),
    ("POST", "/api/v1/schedules/bulk"): scope(FORBIDDEN, REFUSED),
    ("GET", "/api/v1/schedules/{schedule_id}"): scope(NOT_FOUND, NOT_FOUND),
    ("PATCH", "/api/v1/schedules/{schedule_id}"): scope(FORBIDDEN, NOT_FOUND),
}

# Request bodies and parameters for the operations that need more than the path: (scene, role) -> kwargs
# for httpx (`json`, `content`, `headers`, `params`), plus `path` (path parameter overrides).
Builder = Callable[[Scene, str], dict[str, Any]]


def _suffix(role: str) -> str:
    return role[:3]


_ACTION_ITEMS = {"rev": "f_clean", "adm": "f_token"}


BUILDERS: dict[tuple[str, str], Builder] = {
    ("POST", "/api/v1/auth/login"): lambda s, role: {
        "json": {"username": USERS[role] or "admin", "password": "correct-horse-42" if USERS[role] else "wrong"}
    },
    ("POST", "/api/v1/auth/password"): lambda s, role: {
        "json": {"current_password": "correct-horse-42", "new_password": "correct-horse-42"}
    },
    ("PATCH", "/api/v1/users/{user_id}"): lambda s, role: {"json": {"display_name": f"Renamed by {role}"}},
    ("POST", "/api/v1/users"): lambda s, role: {
        "json": {
            "username": f"new.{_suffix(role)}",
            "display_name": "New User",
            "password": "a-long-password-1",
            "role": "inspector",
            "district_ids": [s.ids["A"]["district_id"]],
        }
    },
    ("POST", "/api/v1/regions"): lambda s, role: {"json": {"code": f"RN{_suffix(role).upper()}", "name": "New"}},
    ("PATCH", "/api/v1/regions/{region_id}"): lambda s, role: {"json": {"active": True}},
    ("POST", "/api/v1/districts"): lambda s, role: {
        "json": {"code": f"DN{_suffix(role).upper()}", "name": "New", "region_id": s.ids["A"]["region_id"]}
    },
    ("PATCH", "/api/v1/districts/{district_id}"): lambda s, role: {"json": {"active": True}},
    ("POST", "/api/v1/circles"): lambda s, role: {
        "json": {"code": f"CN{_suffix(role).upper()}", "name": "New", "district_id": s.ids["A"]["district_id"]}
    },
    ("PATCH", "/api/v1/circles/{circle_id}"): lambda s, role: {"json": {"active": True}},
    ("POST", "/api/v1/stations"): lambda s, role: {
        "json": {
            "code": f"SN{_suffix(role).upper()}",
            "name": {"en": "New", "ur": "نیا"},
            "district_id": s.ids["A"]["district_id"],
            "lat": 31.5,
            "lon": 74.3,
        }
    },
    ("PATCH", "/api/v1/stations/{station_id}"): lambda s, role: {"json": {"active": True}},
    ("POST", "/api/v1/users/import"): lambda s, role: {
        "params": {"dry_run": "true"},
        "headers": {"Content-Type": "text/csv"},
        "content": f"username,display_name,role,district_codes\nimp.{_suffix(role)},Imported,inspector,DA\n".encode(),
    },
    ("POST", "/api/v1/stations/import"): lambda s, role: {
        "params": {"dry_run": "true"},
        "headers": {"Content-Type": "text/csv"},
        "content": "code,name_en,name_ur,district_code,lat,lon\nSIMP,Imported,درآمد,DA,31.5,74.3\n".encode(),
    },
    ("POST", "/api/v1/templates"): lambda s, role: {
        "json": {"key": f"new_{_suffix(role)}", "title": {"en": "New", "ur": "نیا"}}
    },
    ("PUT", "/api/v1/templates/{template_id}/draft"): lambda s, role: {"json": DEFINITION},
    ("POST", "/api/v1/templates/{template_id}/publish"): lambda s, role: {
        "path": {"template_id": s.extra["template_to_publish"]}
    },
    ("POST", "/api/v1/templates/{template_id}/archive"): lambda s, role: {
        "path": {"template_id": s.extra["template_to_archive"]}
    },
    ("POST", "/api/v1/templates/{template_id}/unarchive"): lambda s, role: {
        "path": {"template_id": s.extra["template_to_archive"]}
    },
    ("POST", "/api/v1/templates/import"): lambda s, role: {
        "params": {"key": f"imported_{_suffix(role)}"},
        "json": DEFINITION,
    },
    ("POST", "/api/v1/templates/{template_id}/import"): lambda s, role: {"json": DEFINITION},
    ("PUT", "/api/v1/inspections/{inspection_id}"): lambda s, role: {
        "path": {"inspection_id": str(uuid.uuid4())},
        "json": {
            "station_id": s.ids["A"]["station_id"],
            "template_version_id": s.ids["A"]["version_id"],
            "base_revision": 0,
            "status": "draft",
            "answers": {},
        },
    },
    ("PUT", "/api/v1/photos/{photo_id}"): lambda s, role: {
        "path": {"photo_id": str(uuid.uuid4())},
        "content": tiny_jpeg(3),
        "headers": {"Content-Type": "image/jpeg"},
        "params": {"inspection_id": s.ids["A"]["inspection_id"], "item_key": "f_staffed"},
    },
    ("POST", "/api/v1/photos/{photo_id}/upload"): lambda s, role: {
        "path": {"photo_id": str(uuid.uuid4())},
        "params": {"inspection_id": s.ids["A"]["inspection_id"], "item_key": "f_staffed", "size": "1000"},
    },
    ("PATCH", "/api/v1/photos/{photo_id}/upload"): lambda s, role: {
        "content": b"\xff" * 10,
        "headers": {"Content-Type": "application/octet-stream"},
        "params": {"offset": "0"},
    },
    ("POST", "/api/v1/inspections/{inspection_id}/review"): lambda s, role: {
        "path": {"inspection_id": s.extra["inspection_by_admin_A" if role == ADMIN else "inspection_by_reviewer_A"]},
        "json": {
            "decision": "approve",
            "revision": int(s.extra["revision_by_admin_A" if role == ADMIN else "revision_by_reviewer_A"]),
            "comment": "checked",
        },
    },
    ("POST", "/api/v1/actions"): lambda s, role: {
        "json": {
            "station_id": s.ids["A"]["station_id"],
            "description": f"Fix the front desk ({role})",
            "due_date": (date.today() + timedelta(days=30)).isoformat(),
            # An item of the scene's checklist, another for each role (one unfinished action per item).
            "item_key": _ACTION_ITEMS.get(_suffix(role), "f_why"),
        }
    },
    ("PATCH", "/api/v1/actions/{action_id}"): lambda s, role: {"json": {"note": f"Seen by {role}"}},
    ("POST", "/api/v1/assignments"): lambda s, role: {
        "json": {
            "station_id": str(s.world.stations["A2"]) if role == REV else s.extra["station_A3"],
            "template_id": s.ids["A"]["template_id"],
            "inspector_id": s.ids["A"]["user_id"],
            "due_date": "2027-01-31",
        }
    },
    ("PATCH", "/api/v1/assignments/{assignment_id}"): lambda s, role: {"json": {"due_date": "2027-01-15"}},
    ("POST", "/api/v1/schedules"): lambda s, role: {
        "json": {
            "station_id": str(s.world.stations["A"]) if role == REV else s.extra["station_A3"],
            "template_id": s.extra["schedule_template"],
            "inspector_id": s.ids["A"]["user_id"],
            "frequency": "quarterly",
            "next_due": "2027-02-01",
        }
    },
    ("PATCH", "/api/v1/schedules/{schedule_id}"): lambda s, role: {"json": {"inspector_id": s.ids["A"]["user_id"]}},
    ("POST", "/api/v1/schedules/bulk"): lambda s, role: {
        "params": {"dry_run": "true"},
        "json": {
            "station_ids": [s.ids["A"]["station_id"], s.extra["station_A3"]],
            "template_id": s.extra["schedule_template"],
            "inspector_id": s.ids["A"]["user_id"],
            "frequency": "monthly",
            "next_due": "2027-02-01",
        },
    },
}


# Operations that name another region's object in their body or query rather than their path.
BODY_REFERENCES = {
    ("PUT", "/api/v1/inspections/{inspection_id}"),
    ("PUT", "/api/v1/photos/{photo_id}"),
    ("POST", "/api/v1/photos/{photo_id}/upload"),
    ("POST", "/api/v1/actions"),
    ("POST", "/api/v1/assignments"),
    ("POST", "/api/v1/schedules"),
    ("POST", "/api/v1/schedules/bulk"),
}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


async def load_spec(scene: Scene) -> dict[str, Any]:
    response = await scene.client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def call(
    scene: Scene,
    method: str,
    path: str,
    op: dict[str, Any],
    role: str,
    user: str | None,
    region: str = "A",
    path_ids: dict[str, str] | None = None,
    token: str | None = None,
) -> httpx.Response:
    """One request of `op` by `user`, on region `region`'s objects unless `path_ids` says otherwise."""
    spec = BUILDERS.get((method, path), lambda s, r: {})(scene, role)
    ids = {**scene.ids[region], **spec.pop("path", {}), **(path_ids or {})}
    params = spec.pop("params", {})
    for parameter in op.get("parameters", []):
        if parameter["in"] == "query" and parameter.get("required") and parameter["name"] not in params:
            params[parameter["name"]] = ids[parameter["name"]]
    token = token or scene.token(user)
    url = path.format(**{name: ids[name] for name in _path_names(path)})
    return await scene.client.request(method, url, token, params=params, **spec)


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _spec_without_a_database() -> dict[str, Any]:
    settings = msgspec.structs.replace(load_settings({"DATA_DIR": "/nonexistent"}), database_url="postgresql://unused")
    return create_app(settings, run_migrations=False).openapi_schema.to_schema()


def test_every_operation_of_the_openapi_document_has_a_decided_row_in_the_matrix():
    spec = _spec_without_a_database()
    documented = {(method, path) for method, path, _ in operations(spec)}
    missing = sorted(documented - EXPECTED.keys())
    assert not missing, f"operations nobody decided the access of (add them to EXPECTED): {missing}"
    assert not sorted(EXPECTED.keys() - documented), "EXPECTED names operations the API no longer has"
    assert all(set(cells) == set(ROLES) for cells in EXPECTED.values())
    missing_scope = sorted(
        {(m, p) for m, p in documented if _path_names(p) or (m, p) in BODY_REFERENCES} - SCOPE.keys()
    )
    assert not missing_scope, f"object-bearing operations without a row in SCOPE: {missing_scope}"
    assert not sorted(SCOPE.keys() - documented), "SCOPE names operations the API no longer has"


@module_loop
async def test_every_role_gets_exactly_the_decided_answer_from_every_operation(scene: Scene):
    spec = await load_spec(scene)
    wrong: list[str] = []
    cells = 0
    for method, path, op in operations(spec):
        for role in ROLES:
            user = USERS[role]
            # Signing out ends the session it is sent with: it gets a session of its own.
            token = (
                await scene.client.login(user) if (method, path) == ("POST", "/api/v1/auth/logout") and user else None
            )
            response = await call(scene, method, path, op, role, user, token=token)
            cells += 1
            expected = EXPECTED[(method, path)][role]
            if response.status_code != expected:
                wrong.append(
                    f"{method} {path} as {role}: {response.status_code}, expected {expected}: {response.text[:200]}"
                )
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json"), (method, path)
    print(f"access matrix: {cells} cells over {cells // len(ROLES)} operations")
    assert not wrong, "\n".join(wrong)


def _body_text(response: httpx.Response) -> str:
    if "spreadsheetml" in response.headers.get("content-type", ""):
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return "".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    return response.content.decode("utf-8", "replace")


def _theirs(scene: Scene, user: str) -> set[str]:
    """What `user` must never see: all of region A's ids for region B's users; for the inspector of
    region A's other district, all but the region itself."""
    return scene.district_ids("A") if user == FOREIGN[DISTRICT] else scene.region_ids("A")


def _foreign_ids_in(scene: Scene, response: httpx.Response, ids: set[str] | None = None) -> set[str]:
    """The ids of `ids` (default: region A's) in the response that the request itself did not carry."""
    sent = str(response.request.url) + response.request.content.decode("utf-8", "replace")
    text = _body_text(response)
    return {i for i in (scene.region_ids("A") if ids is None else ids) if i in text and i not in sent}


@module_loop
async def test_users_of_another_region_get_404_and_learn_nothing_about_its_objects(scene: Scene):
    spec = await load_spec(scene)
    wrong: list[str] = []
    cells = 0
    for method, path, op in operations(spec):
        if (method, path) not in SCOPE:
            continue
        for role, user in FOREIGN.items():
            foreign = await call(scene, method, path, op, role, user)
            cells += 1
            expected = SCOPE[(method, path)][role]
            problem = f"{method} {path} as {user} on region A's object: {foreign.status_code}"
            if foreign.status_code != expected:
                wrong.append(f"{problem}, expected {expected}: {foreign.text[:200]}")
            if leaked := _foreign_ids_in(scene, foreign, _theirs(scene, user)):
                wrong.append(f"{problem} carries region A's ids {sorted(leaked)}")
            if expected == REFUSED:
                # Region A's station is not known here, nor (for an assignment) its inspector, who works
                # only there.
                fields = [e["field"] for e in foreign.json()["errors"]]
                if path == "/api/v1/schedules/bulk":
                    # A plan for many stations names each by its place in `station_ids`.
                    fields = list(dict.fromkeys("station_id" if f.startswith("station_ids[") else f for f in fields))
                assert fields in (["station_id"], ["station_id", "inspector_id"]), foreign.text
            names = _path_names(path)
            if names and expected not in (GLOBAL, OWN_REGION):
                # The same request for objects that do not exist at all must be answered the same way.
                absent = await call(
                    scene,
                    method,
                    path,
                    op,
                    role,
                    user,
                    path_ids={name: "999" if name == "version" else str(uuid.uuid4()) for name in names},
                )
                if absent.status_code != foreign.status_code:
                    wrong.append(f"{problem}, but {absent.status_code} for an id that does not exist")
    print(f"scope: {cells} cross-region cells")
    assert cells == len(FOREIGN) * len(SCOPE)
    assert not wrong, "\n".join(wrong)


@module_loop
async def test_an_inspection_or_photo_id_taken_in_another_region_is_refused_without_its_data(scene: Scene):
    client, b_token = scene.client, scene.tokens["inspector_b"]
    body = {
        "station_id": scene.ids["B"]["station_id"],
        "template_version_id": scene.ids["B"]["version_id"],
        "base_revision": 0,
        "status": "draft",
        "answers": {},
    }
    # Replacing region A's inspection under its id: the id is "not in your scope", never a 409 with
    # the server's copy, which would hand over region A's document.
    response = await client.put(f"/api/v1/inspections/{scene.ids['A']['inspection_id']}", b_token, json=body)
    assert response.status_code == 404, response.text
    assert not _foreign_ids_in(scene, response)
    # Photo ids are client-made UUIDs and unique across the province, so re-using region A's photo id
    # is refused (409); the answer names nothing of region A and changes nothing.
    for content in (tiny_jpeg(1), tiny_jpeg(9)):
        response = await client.put(
            f"/api/v1/photos/{scene.ids['A']['photo_id']}",
            b_token,
            content=content,
            params={"inspection_id": scene.ids["B"]["inspection_id"], "item_key": "f_staffed"},
            headers={"Content-Type": "image/jpeg"},
        )
        assert response.status_code == 409, response.text
        assert not _foreign_ids_in(scene, response)
    photo = await client.get(f"/api/v1/photos/{scene.ids['A']['photo_id']}", scene.tokens["reviewer_a"])
    assert photo.json()["inspection_id"] == scene.ids["A"]["inspection_id"]


def _list_requests(spec: dict[str, Any], scene: Scene) -> list[tuple[str, dict[str, str]]]:
    """Every GET without path parameters: plain, then filtered by each of region A's ids it accepts,
    then with each value of an enumerated choice (group_by, period...)."""
    requests: list[tuple[str, dict[str, str]]] = []
    for method, path, op in operations(spec):
        if method != "GET" or _path_names(path) or not path.startswith("/api/"):
            continue
        requests.append((path, {}))
        for parameter in op.get("parameters", []):
            name, schema = parameter["name"], parameter.get("schema", {})
            options = [
                o for o in schema.get("enum") or [x["enum"][0] for x in schema.get("oneOf", []) if "enum" in x] if o
            ]
            if name in scene.ids["A"] and name.endswith("_id"):
                requests.append((path, {name: scene.ids["A"][name]}))
            for option in options:
                requests.append((path, {name: option}))
    return requests


@module_loop
async def test_lists_dashboards_exports_and_the_bundle_of_region_b_carry_no_region_a_id(scene: Scene):
    spec = await load_spec(scene)
    requests = _list_requests(spec, scene)
    wrong: list[str] = []
    for user in FOREIGN.values():
        for path, params in requests:
            response = await scene.client.get(path, scene.tokens[user], params=params)
            if response.status_code not in (200, 403):
                wrong.append(f"GET {path} {params} as {user}: {response.status_code} {response.text[:200]}")
            if leaked := _foreign_ids_in(scene, response, _theirs(scene, user)):
                wrong.append(f"GET {path} {params} as {user} carries ids of region A's district {sorted(leaked)}")
    # The same reads by region A's own users do show region A's objects: the check above can see a leak.
    seen: set[str] = set()
    for user in ("reviewer_a", "inspector_a"):
        for path, params in requests:
            seen |= _foreign_ids_in(scene, await scene.client.get(path, scene.tokens[user], params=params))
    a = scene.ids["A"]
    assert {a["station_id"], a["inspection_id"], a["action_id"], a["assignment_id"], a["schedule_id"]} <= seen
    print(f"lists: {len(FOREIGN) * len(requests)} reads by users of another region or district")
    assert not wrong, "\n".join(wrong)
