"""API fuzzing: schemathesis drives every operation of the app's own OpenAPI document, signed in as each
role and anonymously, with data that fits the schema and data that breaks it.

Per operation it sends the coverage cases (boundary and invalid values chosen per parameter: empty,
huge, NUL bytes, wrong types, missing fields) and hypothesis-generated cases in both modes, then checks
each response: never a 5xx; status code, content type and body as documented; invalid data refused;
no stack trace in a body; the security headers present; and, anonymously, every private operation
answering 401. `make test` runs a bounded number of cases; `make fuzz` (MUAINA_FUZZ=1) many more.

The run collects every failure instead of stopping at the first, so one run shows all that is wrong,
each with a curl line to reproduce it, and reports its figures (requests, operations, statuses).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from server.demo.content import DEMO_PASSWORDS
from tests.security.conftest import STACK_TRACE_MARKERS, assert_security_headers, tiny_jpeg

FUZZ = os.environ.get("MUAINA_FUZZ", "").lower() in {"1", "true", "yes"}
# Per role: coverage cases per operation, and hypothesis cases per operation (valid and invalid drawn together).
# The short run (make test) gives the admin, who gets past every role check, the deepest look; an
# anonymous caller only needs enough to show that every private door is shut.
BUDGET = {"anon": (3, 0), "inspector": (6, 4), "reviewer": (6, 4), "admin": (10, 6)}
FUZZ_BUDGET = (100_000, 100)
# Argon2 hashing makes these slow on purpose; the short run sends them only a few cases.
SLOW = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/{user_id}")}

ROLES: dict[str, tuple[str, str] | None] = {
    "anon": None,
    "inspector": ("inspector.ali", DEMO_PASSWORDS["inspector"]),
    "reviewer": ("rpo.lahore", DEMO_PASSWORDS["reviewer"]),
    "admin": ("admin", DEMO_PASSWORDS["admin"]),
}
PUBLIC = {
    ("GET", "/health"),
    ("HEAD", "/health"),
    ("GET", "/ready"),
    ("HEAD", "/ready"),
    ("POST", "/api/v1/auth/login"),
}
# Signing out ends the very session the run signs in with: it is fuzzed anonymously only (and the
# matrix test checks it signed in).
SESSION_ENDING = {("POST", "/api/v1/auth/logout")}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Invalid input must be refused with one of these (a role that may not call the route refuses first).
REFUSALS = ["400", "401", "403", "404", "405", "409", "413", "415", "422", "429"]


@dataclass
class Tally:
    role: str
    requests: int = 0
    operations: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def fail(self, operation: str, what: str, reproduce: str) -> None:
        # One example per operation and kind of failure is enough to act on.
        self.failures.setdefault((operation, what), reproduce)

    def report(self, seconds: float) -> str:
        return (
            f"fuzz[{self.role}]: {self.requests} requests, {len(self.operations)} operations, "
            f"{len(self.failures)} failures, {seconds:.1f}s; statuses {dict(sorted(self.statuses.items()))}"
        )


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
            "generation": {"allow-x00": True, "codec": "utf-8"},
        }
    )


def _login(client: Any, who: tuple[str, str]) -> str:
    response = client.post("/api/v1/auth/login", json={"username": who[0], "password": who[1]})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _budget(role: str, method: str, path: str) -> tuple[int, int]:
    if FUZZ:
        return FUZZ_BUDGET
    coverage, examples = BUDGET[role]
    return (min(coverage, 3), min(examples, 1)) if (method, path) in SLOW else (coverage, examples)


def demo_objects(client: Any) -> dict[str, str]:
    """One object of every kind in Lahore (the demo inspector's district, the demo reviewer's region),
    by path parameter name. The demo has no inspections yet: a draft with a photo and an action are made."""
    inspector = {"Authorization": f"Bearer {_login(client, ROLES['inspector'])}"}
    reviewer = {"Authorization": f"Bearer {_login(client, ROLES['reviewer'])}"}
    bundle = client.get("/api/v1/sync/bundle", headers=inspector).json()
    template = bundle["templates"][0]
    kinds = template["definition"].get("kinds")
    station = next(s for s in bundle["stations"] if not kinds or s["kind"] in kinds)
    item = template["definition"]["sections"][0]["items"][0]["key"]
    inspection, photo = str(uuid.uuid4()), str(uuid.uuid4())
    created = client.put(
        f"/api/v1/inspections/{inspection}",
        headers=inspector,
        json={
            "station_id": station["id"],
            "template_version_id": template["id"],
            "base_revision": 0,
            "status": "draft",
            "answers": {},
        },
    )
    assert created.status_code == 201, created.text
    uploaded = client.put(
        f"/api/v1/photos/{photo}",
        headers={**inspector, "Content-Type": "image/jpeg"},
        params={"inspection_id": inspection, "item_key": item},
        data=tiny_jpeg(5),
    )
    assert uploaded.status_code == 201, uploaded.text
    action = client.post(
        "/api/v1/actions",
        headers=reviewer,
        json={"station_id": station["id"], "description": "Repair the lock-up door", "due_date": "2030-01-31"},
    )
    assert action.status_code == 201, action.text
    district = client.get(f"/api/v1/districts/{station['district_id']}", headers=reviewer).json()
    return {
        "inspection_id": inspection,
        "photo_id": photo,
        "action_id": action.json()["id"],
        "station_id": station["id"],
        "district_id": station["district_id"],
        "region_id": district["region_id"],
        "circle_id": station["circle_id"],
        "template_id": template["template_id"],
        "version_id": template["id"],
        "version": str(template["version"]),
        "user_id": client.get("/api/v1/me", headers=inspector).json()["id"],
        "assignment_id": client.get("/api/v1/assignments", headers=reviewer).json()[0]["id"],
        "schedule_id": client.get("/api/v1/schedules", headers=reviewer).json()[0]["id"],
        "item_key": item,
    }


def _coverage_cases(operation: Any, limit: int) -> Iterator[Any]:
    config = operation.schema.config.generation_for(operation=operation, phase="coverage")
    generator = CoverageGenerator(
        operation=operation,
        generation_modes=list(GenerationMode),
        generation_config=config,
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    for count, case in enumerate(generator):
        if count >= limit:
            return
        yield case


def _exercise(tally: Tally, client: Any, case: Any, headers: dict[str, str], anonymous: bool) -> None:
    label = case.operation.label
    response = case.call(session=client, headers=headers)
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    reproduce = case.as_curl_command(headers=headers)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            tally.fail(label, f"{failure.title} ({response.status_code})", reproduce)
    body = response.content.decode("utf-8", "replace")
    if any(marker in body for marker in STACK_TRACE_MARKERS):
        tally.fail(label, "stack trace in the body", reproduce)
    try:
        assert_security_headers({k: v[0] for k, v in response.headers.items()})
    except AssertionError as exc:
        tally.fail(label, f"security headers: {exc}", reproduce)
    method, path = case.operation.method.upper(), case.operation.path
    if anonymous and (method, path) not in PUBLIC and response.status_code not in (401, 404, 405):
        # 404/405 are a router's answers for a path the fuzzer broke (no such route): nothing reached.
        tally.fail(label, f"reachable without signing in ({response.status_code})", reproduce)


def fuzz_role(app: Litestar, role: str) -> Tally:
    tally = Tally(role)
    with asgi.get_client(app) as client:
        who = ROLES[role]
        headers = {"Authorization": f"Bearer {_login(client, who)}"} if who else {}
        known = demo_objects(client)
        schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=_config())
        for result in schema.get_all_operations():
            operation = result.ok()
            if who and (operation.method.upper(), operation.path) in SESSION_ENDING:
                continue
            tally.operations.add(operation.label)
            coverage, examples = _budget(role, operation.method.upper(), operation.path)
            for case in _coverage_cases(operation, coverage):
                _exercise(tally, client, case, headers, who is None)
            if not examples:
                continue
            # Both modes in one hypothesis run, as schemathesis's own fuzzing phase draws them; valid
            # cases name objects that exist (random ids would stop at 404 before any interesting code).
            # (An upload keeps a random photo id: the demo photo's id would only replay.)
            real = {
                p.name: known[p.name]
                for p in operation.path_parameters
                if p.name in known and operation.label != "PUT /api/v1/photos/{photo_id}"
            }
            filters = {p.name: known[p.name] for p in operation.query if p.name in known}
            strategy = st.one_of(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real, query=filters),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=not FUZZ,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=hypothesis.Verbosity.quiet,
            )
            @hypothesis.given(case=strategy)
            def generated(case: Any) -> None:
                _exercise(tally, client, case, headers, who is None)

            generated()
    return tally


@pytest.mark.parametrize("role", list(ROLES))
def test_fuzzing_finds_no_server_error_undocumented_answer_or_open_door(asgi_app: Litestar, role: str) -> None:
    started = time.monotonic()
    tally = fuzz_role(asgi_app, role)
    print(tally.report(time.monotonic() - started))
    assert tally.operations and tally.requests > len(tally.operations)
    assert 500 not in tally.statuses and 503 not in tally.statuses
    problems = "\n\n".join(f"{op}: {what}\n  {curl}" for (op, what), curl in sorted(tally.failures.items()))
    assert not tally.failures, f"{len(tally.failures)} fuzz failure(s) as {role}:\n\n{problems}"


# Extreme values, sent to every parameter of every operation --------------------------------------
# Hypothesis rarely draws the year 9999 or a NUL byte for a given parameter; these are the values
# that have broken date arithmetic, integer columns and PostgreSQL's text input before, sent to
# every query parameter the OpenAPI document lists, so a new parameter is covered without a test.
EXTREMES: dict[str, list[str]] = {
    "integer": ["-1", "0", "2147483648", "9223372036854775808", "1" + "0" * 30, "1e3", "%00"],
    "number": ["1e308", "-1e308", "nan", "inf", "-inf", "1e999", "%00"],
    "boolean": ["2", "%00", "%FF"],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30", "%00"],
    "date-time": [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00%2B14:00",
        "9999-12-31T23:59:59-14:00",
        "%00",
    ],
    "uuid": ["00000000-0000-0000-0000-000000000000", "%00", "%FF"],
    "string": [
        "%00",
        "a%00b",
        "%FF%FE",
        "%ED%A0%80",
        "0001-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59%2B14:00",
        "-1",
        "9" * 40,
        "x" * 5000,
    ],
}
# Bodies no JSON route may answer with a 5xx: invalid UTF-8, a lone surrogate, NUL characters,
# numbers beyond every column, and nesting deep enough to exhaust a recursive decoder.
HOSTILE_BODIES: list[bytes] = [
    b'{"x": "\xff\xfe"}',
    b'{"x": "\\ud800"}',
    b'{"x": "a\\u0000b"}',
    b"\x00",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"x": 1e999}',
    b'{"x": ' + b"9" * 5000 + b"}",
    b'"' + b"x" * 10_000 + b'"',
    b"",
]


def _kind(schema: dict[str, Any]) -> str:
    for option in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        fmt, kind = option.get("format"), option.get("type")
        if fmt in ("date", "date-time", "uuid"):
            return fmt
        if kind in ("integer", "number", "boolean", "string"):
            return kind
    return "string"


def _path_for(operation: dict[str, Any], path: str) -> str:
    # Path parameters get a syntactically valid value, so the request reaches the handler.
    values = {"version": "1"}
    return path.format(
        **{
            p["name"]: values.get(p["name"], str(uuid.uuid4()))
            for p in operation.get("parameters", [])
            if p["in"] == "path"
        }
    )


def hostile_requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            url = _path_for(operation, path)
            required = {
                p["name"]: "x" for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
            }
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for value in EXTREMES[_kind(parameter.get("schema", {}))]:
                    query = "&".join(f"{k}={v}" for k, v in {**required, parameter["name"]: value}.items())
                    yield method.upper(), f"{url}?{query}", {}
            if method in ("put", "post", "patch"):
                query = "&".join(f"{k}={v}" for k, v in required.items())
                for body in HOSTILE_BODIES:
                    yield (
                        method.upper(),
                        f"{url}?{query}" if query else url,
                        {"data": body, "headers": {"Content-Type": "application/json"}},
                    )


def test_extreme_values_in_every_parameter_and_body_are_refused_cleanly(asgi_app: Litestar) -> None:
    # As the admin, who gets past every role check to the code that parses and computes.
    role = "admin"
    failures: list[str] = []
    sent = 0
    with asgi.get_client(asgi_app) as client:
        headers = {"Authorization": f"Bearer {_login(client, ROLES[role])}"}
        spec = client.get("/schema/openapi.json").json()
        for method, url, kwargs in hostile_requests(spec):
            if (method, url.split("?")[0]) in {("POST", "/api/v1/auth/logout")}:
                continue
            response = client.request(method, url, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
            sent += 1
            body = response.content.decode("utf-8", "replace")
            if response.status_code >= 500:
                failures.append(f"{method} {url[:160]}: {response.status_code} {body[:160]}")
            elif response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
                "application/problem+json"
            ):
                failures.append(f"{method} {url[:160]}: {response.status_code} is not a problem document")
            if any(marker in body for marker in STACK_TRACE_MARKERS):
                failures.append(f"{method} {url[:160]}: a stack trace in the body")
    print(f"extremes[{role}]: {sent} requests, {len(failures)} failures")
    assert not failures, f"{len(failures)} of {sent} hostile requests failed:\n" + "\n".join(failures)
