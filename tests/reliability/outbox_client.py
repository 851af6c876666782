"""A client that behaves like the PWA's outbox (pwa/js/outbox.js), for the crash and outage tests.

The phone keeps every inspection and photo until the server acknowledges it: an entry is sent,
and sent again after a backoff, until an answer in 2xx arrives. What counts as "try again later"
is the PWA's rule: no answer at all (refused connection, reset, timeout), 5xx, 408 and 429.
Anything else (409, 422, ...) parks the entry, as the phone parks it as "needs attention"; in
these tests a parked entry is a failure, because every body the client sends is valid.

Everything that happens is recorded, so a test can afterwards hold the server to what it said:
each acknowledgement with the body that was sent (and the SHA-256 of a photo), how many attempts
it took, every status seen and how long each attempt took.

The module also builds what a phone builds: inspection documents for a published template,
partial (a draft) or complete (answers that pass submission), with photo ids on the items that
need evidence.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class Parked(Exception):
    """The server refused an entry for good (a 4xx the phone cannot fix by waiting)."""

    def __init__(self, entry: Entry, response: httpx.Response):
        super().__init__(f"{entry.kind} {entry.ref} parked: {response.status_code} {response.text[:500]}")
        self.entry = entry
        self.response = response


class GaveUp(Exception):
    """An entry was still not acknowledged when the test's patience ran out."""


@dataclass(frozen=True)
class InspectionEntry:
    ref: uuid.UUID
    doc: dict[str, Any]
    kind: str = "inspection"

    def request(self) -> tuple[str, str, dict[str, Any]]:
        return "PUT", f"/api/v1/inspections/{self.ref}", {"json": self.doc}


@dataclass(frozen=True)
class PhotoEntry:
    ref: uuid.UUID
    inspection_id: uuid.UUID
    item_key: str
    data: bytes
    kind: str = "photo"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def request(self) -> tuple[str, str, dict[str, Any]]:
        params = {"inspection_id": str(self.inspection_id), "item_key": self.item_key}
        return (
            "PUT",
            f"/api/v1/photos/{self.ref}",
            {"content": self.data, "params": params, "headers": {"Content-Type": "image/jpeg"}},
        )


Entry = InspectionEntry | PhotoEntry


@dataclass
class Ack:
    entry: Entry
    status: int
    reply: dict[str, Any]
    attempts: int


@dataclass
class Record:
    """Everything the client saw; shared by every Outbox of one test run."""

    acks: list[Ack] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    finished_attempts: int = 0
    # Seconds per acknowledged attempt, by kind: what a phone waits when the server answers.
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"inspection": [], "photo": []})
    # Every failed attempt that had no answer or a retryable one, with how long it took to fail.
    failures: list[tuple[str, str, float]] = field(default_factory=list)

    def acked(self, kind: str) -> list[Ack]:
        return [a for a in self.acks if a.entry.kind == kind]

    @property
    def retried(self) -> list[Ack]:
        """Entries that were acknowledged only after one or more unacknowledged attempts."""
        return [a for a in self.acks if a.attempts > 1]


class Outbox:
    """Sends entries in order, each retried with exponential backoff and jitter until acknowledged.

    `on_attempt` is called after every attempt (a test's fault injector counts them). `patience`
    bounds the whole wait for one entry, so a server that never recovers fails the test instead of
    hanging it.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        token: str,
        record: Record,
        *,
        base_delay: float = 0.05,
        max_delay: float = 1.0,
        patience: float = 120.0,
        timeout: float = 20.0,
        on_attempt: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ):
        self.http = http
        self.token = token
        self.record = record
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.patience = patience
        self.timeout = timeout
        self.on_attempt = on_attempt
        self.rng = rng or random.Random()

    async def send(self, entry: Entry) -> Ack:
        method, path, kwargs = entry.request()
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        deadline = time.monotonic() + self.patience
        attempts = 0
        while True:
            attempts += 1
            self.record.attempts += 1
            started = time.perf_counter()
            try:
                response = await self.http.request(method, path, headers=headers, timeout=self.timeout, **kwargs)
            except httpx.TransportError as exc:
                # No answer: the server died, restarted or never heard us. The phone tries again.
                self.record.transport_errors[type(exc).__name__] += 1
                self.record.failures.append((entry.kind, type(exc).__name__, time.perf_counter() - started))
                response = None
            finally:
                self.record.finished_attempts += 1
                if self.on_attempt is not None:
                    self.on_attempt()
            if response is not None:
                self.record.statuses[response.status_code] += 1
                if response.is_success:
                    self.record.latencies[entry.kind].append(time.perf_counter() - started)
                    ack = Ack(entry=entry, status=response.status_code, reply=response.json(), attempts=attempts)
                    self.record.acks.append(ack)
                    return ack
                if response.status_code not in RETRY_STATUSES:
                    raise Parked(entry, response)
                self.record.failures.append((entry.kind, str(response.status_code), time.perf_counter() - started))
            if time.monotonic() > deadline:
                raise GaveUp(f"{entry.kind} {entry.ref} not acknowledged after {attempts} attempts")
            delay = min(self.max_delay, self.base_delay * 2 ** min(attempts - 1, 10))
            await asyncio.sleep(delay * (0.5 + self.rng.random()))

    async def drain(self, entries: list[Entry]) -> list[Ack]:
        """Send one inspection's entries in the PWA's order; a parked entry stops those after it."""
        return [await self.send(entry) for entry in entries]


# What a phone builds ------------------------------------------------------------------------------


def items(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in definition["sections"] for item in section["items"]]


def valid_value(item: dict[str, Any], rng: random.Random | None = None) -> Any:
    """A value `item` accepts; with `rng`, a random one (still within what submission accepts)."""
    kind = item["type"]
    options = [o["key"] for o in item.get("options") or []]
    if rng is None:
        return {
            "yes_no": "yes",
            "scale": item.get("max", 0),
            "number": item.get("min", item.get("max", 0)),
            "choice": options[0] if options else None,
            "multi_choice": options[:1],
            "text": "seen and checked",
            "date": "2026-11-20",
            "photo": None,
        }[kind]
    if kind == "yes_no":
        return rng.choice(["yes", "no", "na"])
    if kind == "scale":
        return rng.randint(0, int(item.get("max", 0)))
    if kind == "number":
        low, high = item.get("min", 0), item.get("max", 100)
        return rng.randint(int(low) - 2, int(high) + 2)
    if kind == "choice":
        return rng.choice(options)
    if kind == "multi_choice":
        return rng.sample(options, rng.randint(1, len(options)))
    if kind == "text":
        return rng.choice(["", "ok", "روزنامچہ درست ہے", "register kept, two entries late"])
    if kind == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return None


def photo_slots(definition: dict[str, Any]) -> list[str]:
    """One item key per photo a complete inspection needs (an item needing two appears twice)."""
    slots: list[str] = []
    for item in items(definition):
        slots.extend([item["key"]] * max(item.get("min_photos", 0), 1 if item["type"] == "photo" else 0))
    return slots


def complete_answers(
    definition: dict[str, Any], photos: dict[str, list[uuid.UUID]] | None = None, rng: random.Random | None = None
) -> dict[str, Any]:
    """Answers to every item that pass submission; `photos` maps item keys to their photo ids.

    With `rng`, values vary, but every item that some visible_if depends on keeps the default
    answer, so the set of visible required items never changes and every one of them is answered.
    """
    photos = photos or {}
    controlling = {item["visible_if"]["item"] for item in items(definition) if item.get("visible_if")}
    answers: dict[str, Any] = {}
    for item in items(definition):
        key = item["key"]
        value = valid_value(item, None if key in controlling or item["type"] == "text" else rng)
        answer: dict[str, Any] = {"value": value, "note": "", "photos": [str(p) for p in photos.get(key, [])]}
        if item["type"] == "photo":
            answer.pop("value")
        answers[key] = answer
    return answers


def document(
    station_id: Any,
    version_id: Any,
    answers: dict[str, Any],
    *,
    base: int = 0,
    status: str = "draft",
    lat: float | None = None,
    lon: float | None = None,
) -> dict[str, Any]:
    return {
        "station_id": str(station_id),
        "template_version_id": str(version_id),
        "base_revision": base,
        "status": status,
        "started_at": "2026-11-27T09:00:00Z",
        "finished_at": "2026-11-27T10:30:00Z" if status == "submitted" else None,
        "location": {
            "lat": lat if lat is not None else 31.55,
            "lon": lon if lon is not None else 74.34,
            "accuracy_m": 12,
        },
        "answers": answers,
    }


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (no interpolation): a value that was really observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]
