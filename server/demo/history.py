"""`muaina seed-demo --history`: a year of inspection history for the demo stations, once.

`seed_demo` leaves the demo with its hierarchy, people and plan but no inspections, so a visitor
would meet empty dashboards, an empty review queue and no corrective actions. This module writes a
believable past on top of it, deterministically (one `random.Random` stream per station, derived
from `seed` and the station's code): every SIPS police station is inspected about monthly or every
other month; its answers follow a quality profile that drifts over the months (improving, declining,
steady, or troubled with a recurring critical failure such as a detainee missing from the roznamcha);
reviewers approve, return, and now and then override; corrective actions are opened by critical
failures, worked on, and verified at a later visit or left open and overdue; the latest few
submissions wait in the review queue.

Everything goes through the same service functions the API uses (sync_inspection, the photo upload,
review, action updates), each step in its own transaction as a request would be, so scores, answer
rows, flags, rollups, actions and audit rows are what real use would have produced. Stations are
written side by side (on a connection pool when one is given), like inspectors and reviewers at
work. Only time is made up: those functions stamp `now()`, so inside each step's transaction the
rows it wrote, which are exactly the rows still stamped with that transaction's `now()`, are moved
to the step's moment in the past. A submission is moved the way the dashboards require of any
change: taken out of the rollups, re-dated, put back. Revisions, reviews and action notes are
append-only evidence; they are dated at the end in one transaction, with their immutability
triggers off only inside it (DDL is transactional, so no other session ever sees them off). The
audit log is left exactly as written: it truthfully records when the history was generated, and the
closing "demo.history" row says that it was.

That row also marks the history as done, so a second run changes nothing. A run stopped part way
is finished by the next one, which leaves alone the stations it had reached.

The demo's current plan is kept as seed_demo made it: a submission completes the station's open
assignment, so inside each past submission's transaction the station's open assignments are set
aside and put back unchanged; the last past visit of such a station is well before the planned one
is due.
"""

from __future__ import annotations

import asyncio
import heapq
import io
import logging
import math
import os
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec
from asyncpg import Connection, Pool
from asyncpg.exceptions import DeadlockDetectedError, SerializationError
from PIL import Image, ImageDraw, ImageFont

from server import db
from server.actions import service as action_service
from server.actions.models import ActionPatch
from server.actions.rules import AUTO_DUE_DAYS, transition_problem
from server.audit import queries as audit
from server.auth.models import Principal
from server.auth.queries import principal_from
from server.auth.rules import hash_password
from server.config import Settings
from server.dashboards import rollup
from server.demo.content import DEMO_PASSWORDS, DEMO_USERS, TEMPLATES, iter_stations, load_hierarchy
from server.inspections import rules as inspection_rules
from server.inspections import service as inspection_service
from server.inspections.models import Answer, InspectionDoc, Location
from server.photos import rules as photo_rules
from server.photos import service as photo_service
from server.review import hooks as _review_hooks  # noqa: F401  (registers the submission hook: actions, rollups)
from server.review import service as review_service
from server.review.models import Override, ReviewIn
from server.storage import DirectoryStore, PhotoStore
from server.templates.models import Definition, Item, iter_items, to_definition
from server.templates.scoring import score
from server.workers import HealingProcessPool

T = TypeVar("T")

log = logging.getLogger("muaina.demo")

HISTORY_LOCK_ID = 0x68697374  # "hist": two servers starting at once write the history one after the other
MARKER = "demo.history"
PKT = ZoneInfo(rollup.REPORTING_TZ)
PRESENCE_RADIUS_M = 300  # the server's default; the CLI passes the configured one

# Inspectors for the districts that seed_demo's two inspectors (inspector.ali in Lahore city,
# inspector.sana in Rawalpindi city) do not cover, so every demo station has an inspector in scope.
# They sign in with the demo inspector password.
HISTORY_INSPECTORS: list[dict[str, Any]] = [
    {"username": "inspector.sheikhupura", "display_name": "DSP Usman Ghani", "districts": ["SKP-DIST", "KSR"]},
    {"username": "inspector.jhelum", "display_name": "DSP Rabia Anwar", "districts": ["JLM"]},
    {"username": "inspector.faisalabad", "display_name": "DSP Zahid Iqbal", "districts": ["FSD-CITY", "JHG"]},
    {"username": "inspector.multan", "display_name": "DSP Farah Naz", "districts": ["MLN-CITY", "KWL"]},
    {"username": "inspector.gujranwala", "display_name": "DSP Waqas Ahmad", "districts": ["GRW-CITY", "SKT"]},
    {"username": "inspector.sahiwal", "display_name": "DSP Muhammad Arif", "districts": ["SWL-DIST", "OKR"]},
]

# Submissions this recent are left for the reviewers: the queue a visitor opens has work in it.
QUEUE_DAYS = 7
# Stations worked on at once: enough to keep the process pool busy while another station's rows are
# written, and, with a connection pool, both cores of a small server busy with the database as well.
STATIONS_AT_ONCE = 4
# The history commits thousands of small transactions (every photo is one, as in real use). Waiting for
# each one's write-ahead log to reach the disk (~11 ms here) would take minutes, so these sessions do
# not wait: a crash can lose only the last moments of the run. The closing marker is written after
# everything else, so a run that lost it is not taken as done; the next run skips the stations
# already begun and finishes the others.
NO_COMMIT_WAIT = "SET LOCAL synchronous_commit = off"
# A step that deadlocked with another station's is run again, this many times in all.
STEP_ATTEMPTS = 4
# A station with planned work (seed_demo's assignments, some already overdue) was last visited at
# least this long before the planned inspection is due, so that one is the next visit, not a repeat.
PLAN_GAP_DAYS = 25
# The append-only tables whose rows are dated in the past, with the trigger that guards each.
APPEND_ONLY = (
    ("reviews", "reviews_immutable"),
    ("inspection_revisions", "inspection_revisions_immutable"),
    ("action_notes", "action_notes_append_only"),
)


# Station profiles -----------------------------------------------------------------------------------


@dataclass
class Profile:
    kind: str
    base: float  # quality at the first month, 0..1
    trend: float  # change of quality per month
    weak: frozenset[str]  # items this station keeps failing
    fault: str | None = None  # a critical item it fails again and again (troubled stations)
    fault_rate: float = 0.0


# Assigned in turn down the interleaved station list, so a small run still sees every kind and a
# troubled station comes second.
PROFILE_CYCLE = (
    "improving",
    "troubled",
    "steady_good",
    "declining",
    "steady_mid",
    "improving",
    "steady_good",
    "steady_mid",
    "declining",
    "steady_good",
)
# Province-wide weak spots (weights): what the "most failed items" chart should show near the top.
WEAK_SPOTS = {
    "cc_lockup": 5,
    "wc_staffed": 4,
    "ba_device": 4,
    "wa_washroom": 3,
    "cc_working_percent": 3,
    "cm_pending": 3,
    "fd_wait": 2,
    "rz_copy_gazetted": 2,
    "lu_conditions": 2,
    "fc_fire_extinguisher": 2,
    "drc_room": 2,
    "mk_sealed": 2,
    "it_internet_power": 1,
    "fir_computerised": 1,
    "wc_privacy": 1,
}
FAULTS = ("lu_all_recorded", "lu_all_recorded", "lu_magistrate_24h", "mk_matches")


def make_profile(kind: str, rng: random.Random) -> Profile:
    base, trend = {
        "improving": (rng.uniform(0.42, 0.58), rng.uniform(0.025, 0.035)),
        "declining": (rng.uniform(0.82, 0.92), -rng.uniform(0.02, 0.032)),
        "steady_good": (rng.uniform(0.82, 0.94), rng.uniform(-0.004, 0.004)),
        "steady_mid": (rng.uniform(0.6, 0.72), rng.uniform(-0.006, 0.006)),
        "troubled": (rng.uniform(0.45, 0.6), rng.uniform(-0.01, 0.01)),
    }[kind]
    keys, weights = zip(*WEAK_SPOTS.items(), strict=True)
    weak = frozenset(rng.choices(keys, weights=weights, k=rng.randint(2, 4)))
    if kind == "troubled":
        return Profile(kind, base, trend, weak, rng.choice(FAULTS), rng.uniform(0.35, 0.55))
    return Profile(kind, base, trend, weak)


# Answers --------------------------------------------------------------------------------------------

# (good range, bad range) of the number items, in whole units.
NUMBERS = {
    "fd_wait": ((1, 12), (18, 55)),
    "drc_days_since_sitting": ((2, 28), (35, 90)),
    "rz_hours_since_entry": ((0, 3), (4, 11)),
    "mk_items_checked": ((8, 40), (2, 4)),
    "lu_overdue_count": ((0, 0), (1, 3)),
    "cc_working_percent": ((90, 100), (55, 88)),
    "cc_retention_days": ((30, 90), (7, 25)),
    "ba_present_percent": ((82, 100), (60, 78)),
    "cm_pending": ((0, 4), (6, 18)),
}
# Yes/no items that are often not applicable, and how often.
NOT_APPLICABLE = {"lu_women_separate": 0.6, "lu_juveniles_separate": 0.5, "lu_magistrate_24h": 0.15}
OPTIONAL_SKIPPED = 0.2  # how often an optional item is left unanswered

TEXTS = {
    "fd_no_token_why": [
        "The front-desk printer has been out of order for a week and no manual receipt book is kept.",
        "The front-desk officer is on leave; the moharrar takes applications without receipts.",
    ],
    "wc_not_staffed_why": [
        "The woman constable was detailed for a court escort.",
        "The post of the woman ASI is vacant since her transfer.",
        "The woman officer is on leave and no replacement was detailed.",
    ],
    "drc_room_why": [
        "The room is used as a store for case property.",
        "The investigation wing has taken the room over.",
    ],
    "mk_mismatch_detail": [
        "FIR {fir}: a motorcycle entered in the register was not found in the compound.",
        "FIR {fir}: the sealed parcel of charas weighed 950 g against 1,010 g entered.",
    ],
    "lu_unrecorded_detail": [
        "One man (Imran s/o Bashir Ahmad) in the lock-up with no roznamcha entry; the moharrar "
        "said he had been 'called for inquiry' that morning.",
        "Two men held since the previous night for a quarrel; no entry and no FIR.",
        "Shahid s/o Nazir held on a complaint of theft; arrest not entered in the roznamcha.",
    ],
    "cc_lockup_down": [
        "Out of order since {since}; reported to the IT section, not repaired yet.",
        "The recorder's disk has been full since {since}; a complaint was lodged with PSCA.",
    ],
    "cm_citizen_remarks": [
        "Waited an hour for the investigation officer; the application was not acknowledged.",
        "Told to come back the next day with a 'reference'.",
        "The front desk was polite but nobody knew the progress of the case.",
    ],
}
REMARKS_GOOD = [
    "Station well kept; SHO briefed on the pending applications.",
    "Record keeping satisfactory. Front desk working well.",
    "تھانے کا ریکارڈ مکمل اور صاف پایا گیا۔",
    "Clear improvement since the last inspection.",
]
REMARKS_BAD = [
    "Record keeping poor; SHO warned and asked to report compliance within a week.",
    "حوالات کی صفائی ناقص پائی گئی، ایس ایچ او کو فوری درستگی کی ہدایت کی گئی۔",
    "Front desk unmanned for part of the visit; explanation of the duty officer called.",
    "Several registers not produced; moharrar to be proceeded against.",
]
FAILED_NOTES = [
    "Pointed out to the SHO.",
    "SHO directed to rectify within a week.",
    "ایس ایچ او کو درستگی کی ہدایت کی گئی۔",
    "Recorded in the inspection note in the roznamcha.",
]


@dataclass
class StationPast:
    """What a station's inspector writes and sees from visit to visit."""

    fir_serial: int
    fir_year: int
    visits: int = 0
    photos: dict[str, list[bytes]] = field(default_factory=dict)  # the previous visit's photos, per item


def make_answers(
    defn: Definition, profile: Profile, quality: float, visit: date, past: StationPast, rng: random.Random
) -> dict[str, dict[str, Any]]:
    """One inspection's answers (value and note per item; photos are added by the caller)."""
    answers: dict[str, dict[str, Any]] = {}
    if visit.year != past.fir_year:
        past.fir_year, past.fir_serial = visit.year, 0
    past.fir_serial += rng.randint(12, 45)
    fir = f"{past.fir_serial}/{visit.year}"
    for _, _, _, item in iter_items(defn):
        if not _visible(item, answers):
            continue
        if not item.required and item.type != "photo" and rng.random() < OPTIONAL_SKIPPED:
            continue
        # A troubled station is known for its fault: the first visit of the history finds it.
        passes = _passes(item, profile, quality, rng) and not (item.key == profile.fault and past.visits == 0)
        value = _value(item, passes, quality, visit, fir, rng)
        if value is _SKIP:
            continue
        answer: dict[str, Any] = {"value": value}
        if not passes and item.type == "yes_no" and value == "no" and rng.random() < 0.25:
            answer["note"] = rng.choice(FAILED_NOTES)
        answers[item.key] = answer
    past.visits += 1
    return answers


_SKIP = object()


def _visible(item: Item, answers: dict[str, dict[str, Any]]) -> bool:
    cond = item.visible_if
    if cond is None:
        return True
    given = answers.get(cond.item, {}).get("value")
    return given in cond.in_ if cond.in_ is not None else given == cond.equals


def _passes(item: Item, profile: Profile, quality: float, rng: random.Random) -> bool:
    if item.key == profile.fault:
        return rng.random() >= profile.fault_rate
    if item.critical:
        return rng.random() >= (1 - quality) * 0.04
    chance = quality * (0.45 if item.key in profile.weak else 1.0)
    return rng.random() < chance


def _value(item: Item, passes: bool, quality: float, visit: date, fir: str, rng: random.Random) -> Any:
    kind = item.type
    if kind == "yes_no":
        if item.key in NOT_APPLICABLE and rng.random() < NOT_APPLICABLE[item.key]:
            return "na"
        return "yes" if passes else "no"
    if kind == "scale":
        top = int(item.max or 5)
        level = quality + rng.gauss(0, 0.12) - (0 if passes else 0.25)
        return max(0, min(top, round(level * top)))
    if kind == "number":
        good, bad = NUMBERS.get(item.key) or _number_ranges(item)
        low, high = good if passes else bad
        return rng.randint(low, high)
    if kind == "choice":
        options = sorted(item.options or [], key=lambda o: -o.points)
        best = [o for o in options if o.points == options[0].points]
        if passes:
            return best[0].key if len(best) == 1 or rng.random() < 0.8 else rng.choice(best[1:]).key
        rest = [o for o in options if o not in best]
        return (rest[0] if rng.random() < 0.6 or len(rest) == 1 else rng.choice(rest)).key if rest else best[0].key
    if kind == "multi_choice":
        chance = min(0.97, quality + 0.1) if passes else quality * 0.5
        chosen = [o.key for o in item.options or [] if rng.random() < chance]
        return chosen or ([(item.options or [])[0].key] if item.required and item.options else [])
    if kind == "text":
        if item.key == "fir_last_entry":
            return f"FIR No. {fir}, {visit - timedelta(days=rng.randint(0, 3)):%d-%m-%Y}"
        if item.key == "sc_remarks":
            return rng.choice(REMARKS_GOOD if quality >= 0.7 else REMARKS_BAD)
        choices = TEXTS.get(item.key)
        if not choices:
            return "See the inspection note." if item.required else _SKIP
        since = visit - timedelta(days=rng.randint(5, 60))
        return rng.choice(choices).format(fir=fir, since=f"{since:%d-%m-%Y}")
    if kind == "date":
        if item.key == "fc_extinguisher_expiry":
            return (visit + timedelta(days=rng.randint(45, 500))).isoformat()
        days = rng.randint(2, 25) if passes else rng.randint(45, 120)
        return (visit - timedelta(days=days)).isoformat()
    if kind == "photo":
        return None
    return _SKIP


def _number_ranges(item: Item) -> tuple[tuple[int, int], tuple[int, int]]:
    low = int(item.min if item.min is not None else 0)
    high = int(item.max if item.max is not None else low + 10)
    return (low, high), (high + 1, high * 2 + 5)


# Photos ---------------------------------------------------------------------------------------------

PHOTO_SIZE = (240, 180)
PHOTO_CAPTIONS = {
    "fd": "Front desk",
    "wc": "Women & child desk",
    "mk": "Malkhana",
    "lu": "Lock-up",
    "cc": "CCTV",
    "fc": "Station frontage",
}
# A background per item, so a reviewer's thumbnails look like the places they stand for.
SCENES = {
    "fd": (214, 196, 160),
    "wc": (190, 170, 205),
    "mk": (150, 130, 100),
    "lu": (120, 120, 125),
    "cc": (40, 50, 70),
    "fc": (200, 190, 170),
}


def render_photo(seed: int, caption: str, scene: str) -> bytes:
    """A small JPEG standing in for an inspector's photo: blurred blocks of the scene's colour and a caption.

    The blocks come from `seed`, so photos look different to the perceptual hash: in a year's history
    about one pair is close enough to be flagged as reused by chance, against the few dozen reused
    on purpose. Pure and cheap, so it can run in the process pool.
    """
    rng = random.Random(seed)
    base = SCENES.get(scene, (180, 180, 180))
    cols, rows = 8, 6
    cells = bytes(max(0, min(255, c + rng.randint(-90, 90))) for _ in range(cols * rows) for c in base)
    img = Image.frombytes("RGB", (cols, rows), cells).resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    w, h = PHOTO_SIZE
    draw.rectangle((0, h - 30, w, h), fill=(20, 20, 20))
    # Pillow's small bitmap font: a twentieth of the cost of the scalable default, and legible here.
    font = ImageFont.load_default_imagefont()
    for n, line in enumerate(caption.split("\n")[:2]):
        draw.text((5, h - 28 + 13 * n), line, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


class _BulkDirectoryStore(DirectoryStore):
    """A directory store that writes thousands of objects without a disk flush after each one.

    DirectoryStore flushes every file and its directory to the disk before put returns (about 11 ms
    here), which for the history's ~20,000 objects would take minutes. Here each file is still
    written whole under a temporary name and renamed into place, and one sync at the end makes
    them all durable before the history is marked done. Demo data only: a machine that loses power
    mid-run may lose some pictures of the inspections written last.
    """

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        # A few kilobytes into the page cache: quicker done here than handed to a thread.
        _write_unflushed(self._path(key), data)

    async def flush(self) -> None:
        await asyncio.to_thread(os.sync)


def _write_unflushed(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# Review texts ---------------------------------------------------------------------------------------

RETURNS = [
    (
        "lu_photo",
        "The lock-up photo shows only the door; photograph the inside, as the item asks.",
        "Retaken from inside the lock-up during a second visit.",
    ),
    (
        "fir_last_entry",
        "Give the FIR number and date exactly as written in the register.",
        "Corrected from the register.",
    ),
    (
        "mk_items_checked",
        "Say which FIRs the items you checked belong to.",
        "Items of five FIRs of this year checked; list entered in the inspection note.",
    ),
    (
        "cc_screen_photo",
        "The CCTV screen photo is blurred; the camera tiles cannot be read.",
        "A clearer photo was taken at the next visit to the station.",
    ),
]
FAR_RETURN = "Your location was recorded {km:.1f} km from the station. Say in the remarks where the form was filled in."
FAR_REPLY = (
    "The station had no signal; the form was completed at the circle office after the visit, which is "
    "entered in the roznamcha."
)
APPROVE_COMMENTS = [
    "",
    "",
    "",
    "",
    "Seen.",
    "Good work; keep it up.",
    "Follow up the CCTV repairs with the IT section.",
    "Improvement noted since the last inspection.",
    "ملاحظہ کیا گیا۔",
]
# For a poor result or a critical failure: approved as a true record, with the follow-up it needs.
STERN_COMMENTS = [
    "SHO to report compliance on the failed items within two weeks.",
    "Poor result. SDPO to revisit the station and report within a week.",
    "Explanation of the SHO called for the critical failure.",
    "ایس ایچ او سے ناقص کارکردگی پر وضاحت طلب کی جائے۔",
]
# (item, score the reviewer gives as a function of the inspector's, reason)
OVERRIDES: list[tuple[str, Callable[[float], float | None], str]] = [
    (
        "fc_clean",
        lambda s: min(1.0, round(s + 0.2, 1)) if s < 1 else None,
        "The photographs show the station cleaner than rated.",
    ),
    (
        "wa_clean",
        lambda s: max(0.0, round(s - 0.2, 1)) if s > 0 else None,
        "The waiting area photo shows litter and a broken bench; rated too high.",
    ),
    ("cc_lockup", lambda s: 0.0 if s == 1 else None, "The CCTV screen photo shows the lock-up camera tile blank."),
    (
        "fd_courtesy",
        lambda s: min(1.0, round(s + 0.2, 1)) if s < 1 else None,
        "Citizen feedback calls received by the RPO office were positive.",
    ),
]
CRITICAL_OVERRIDE = (
    "lu_all_recorded",
    "The roznamcha copy sent to the SDPO that day does not list the person seen in the lock-up photo.",
)


# Action texts ---------------------------------------------------------------------------------------

PROGRESS_NOTES = [
    "SHO directed to rectify; compliance report due within a week.",
    "DSP asked to visit the station and confirm the correction.",
    "ایس ایچ او کو ایک ہفتے میں تعمیلی رپورٹ بھیجنے کی ہدایت کی گئی۔",
]
DONE_NOTE = "SHO reports the fault corrected; to be seen at the next inspection."
DONE_NOTES = {
    "lu_all_recorded": "The person was produced before the magistrate and the entries completed; "
    "explanation of the moharrar called.",
    "lu_magistrate_24h": "All detainees produced before the magistrate; SHO warned in writing.",
    "mk_matches": "Malkhana register reconciled with the case property; the missing item was traced.",
    "fir_no_tampering": "Inquiry by the SDPO ordered into the torn page; register sealed.",
    "lu_women_separate": "A separate lock-up for women made available in the adjoining room.",
}


# The run --------------------------------------------------------------------------------------------


@dataclass
class Station:
    id: UUID
    code: str
    region: str
    lat: float
    lon: float
    inspector: Principal
    reviewer: Principal
    next_due: date | None  # the earliest due date of the station's open assignments (seed_demo's plan)


@dataclass
class Line:
    """A database connection that several stations' steps take in turn.

    Without a pool every station shares the caller's connection; with one, each station worker has a
    connection of its own for as long as it works. A station's photo uploads share its line too, so a
    step's statements and savepoints never interleave with another step's.
    """

    conn: Connection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        async with self.lock:
            yield self.conn

    async def step(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `work(conn)` as one transaction, as one API request would be.

        Stations are worked on side by side, like inspectors and reviewers at work, so a step can
        deadlock with another station's in the same district (PostgreSQL ends one of them); the
        step changed nothing then and is run again. Steps do their deciding before `work`, so a
        retry repeats only database work.
        """
        for attempt in range(STEP_ATTEMPTS):
            try:
                async with self.connect() as conn, conn.transaction():
                    await conn.execute(NO_COMMIT_WAIT)
                    return await work(conn)
            except (DeadlockDetectedError, SerializationError):
                if attempt == STEP_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


@dataclass
class Run:
    """What every station needs: the template, the photo path, the clock and what to date at the end."""

    version_id: UUID
    defn: Definition
    store: PhotoStore
    executor: Executor
    radius_m: float
    now: datetime
    # (a step's now(), its station, the moment it stands for): dates the append-only rows at the end.
    stamps: list[tuple[datetime, UUID, datetime]] = field(default_factory=list)


async def seed_demo_history(
    conn: Connection,
    *,
    months: int = 12,
    seed: int = 2026,
    store: PhotoStore | None = None,
    executor: Executor | None = None,
    pool: Pool | None = None,
    stations: int | None = None,
    radius_m: float = PRESENCE_RADIUS_M,
) -> str:
    """Write `months` of inspection history for the demo stations, once; returns what was done.

    `stations` limits the run to the first few stations (interleaved across regions), for quick
    tests. Photos go to `store` (default: the configured store) and are processed on `executor`
    (default: a process pool of its own). With `pool`, several stations are written at once on
    its connections; without, every step runs on `conn`.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    own_store = store is None
    if store is None:
        from server.app import make_store
        from server.config import load_settings

        store = make_store(load_settings())
    own_executor = executor is None
    if executor is None:
        executor = HealingProcessPool(max_workers=os.cpu_count() or 1)
    try:
        await store.start()
        await conn.execute("SELECT pg_advisory_lock($1)", HISTORY_LOCK_ID)
        try:
            return await _seed_once(
                conn, pool, months=months, seed=seed, store=store, executor=executor, limit=stations, radius_m=radius_m
            )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", HISTORY_LOCK_ID)
    finally:
        if own_executor:
            executor.shutdown(cancel_futures=True)
        if own_store:
            await store.close()


async def seed_configured(settings: Settings) -> str:
    """The history as `muaina seed-demo --history` and `muaina serve --demo` write it: into the configured
    database and photo store, several stations at once on a small connection pool."""
    from server.app import make_store

    url = settings.database_url or ""
    conn = await db.connect(url)
    pool = await db.create_pool(url, min_size=1, max_size=STATIONS_AT_ONCE)
    store = make_store(settings)
    executor = HealingProcessPool(max_workers=settings.image_workers or os.cpu_count() or 1)
    try:
        return await seed_demo_history(
            conn, store=store, executor=executor, pool=pool, radius_m=settings.presence_radius_m
        )
    finally:
        executor.shutdown(cancel_futures=True)
        await store.close()
        await pool.close()
        await conn.close()


async def written_at(conn: Connection) -> datetime | None:
    """When the demo history was written, or None: it is written once."""
    return await conn.fetchval("SELECT min(at) FROM audit_log WHERE action = $1", MARKER)


async def _seed_once(
    conn: Connection,
    pool: Pool | None,
    *,
    months: int,
    seed: int,
    store: PhotoStore,
    executor: Executor,
    limit: int | None,
    radius_m: float,
) -> str:
    started = time.perf_counter()
    done_at = await written_at(conn)
    if done_at is not None:
        return f"demo history already present (written {done_at:%Y-%m-%d %H:%M} UTC); nothing changed"
    if await conn.fetchval("SELECT min(at) FROM audit_log WHERE action = 'demo.seed'") is None:
        return "demo history not written: load the demo first (muaina seed-demo)"
    async with conn.transaction():
        added = await _add_inspectors(conn)
    version = await conn.fetchrow(
        """SELECT tv.id, tv.definition FROM template_versions tv JOIN templates t ON t.id = tv.template_id
            WHERE t.key = $1 ORDER BY tv.version DESC LIMIT 1""",
        TEMPLATES["sips"]["key"],
    )
    bulk = _BulkDirectoryStore(store.root) if type(store) is DirectoryStore else None
    run = Run(
        version_id=version["id"],
        defn=to_definition(version["definition"]),
        store=bulk or store,
        executor=executor,
        radius_m=radius_m,
        now=await conn.fetchval("SELECT now()"),
    )
    chosen = await _stations(conn, limit)
    slots = {st.id: n for n, st in enumerate(chosen)}
    # One station per region is visited in the last few days, so every reviewer's queue has work: the
    # one whose planned work is due last (or that has none).
    latest: dict[str, tuple[date, UUID]] = {}
    for st in chosen:
        due = st.next_due or date.max
        if st.region not in latest or due > latest[st.region][0]:
            latest[st.region] = (due, st.id)
    recent = {station_id for _, station_id in latest.values()}
    # A run that was stopped part way is finished, not repeated: stations it reached are left as they are.
    begun = {
        r["station_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT station_id FROM inspections WHERE station_id = ANY($1::uuid[])", list(slots)
        )
    }
    todo = [st for st in chosen if st.id not in begun]
    log.info("writing %d months of demo inspection history for %d stations (once; about a minute)", months, len(todo))

    shared = Line(conn)

    async def worker() -> None:
        if pool is None:
            while todo:
                st = todo.pop(0)
                await _station_history(run, shared, st, slots[st.id], st.id in recent, months, seed)
            return
        async with pool.acquire() as own:
            line = Line(own)
            while todo:
                st = todo.pop(0)
                await _station_history(run, line, st, slots[st.id], st.id in recent, months, seed)

    # A failure cancels the other stations' work, then propagates.
    async with asyncio.TaskGroup() as group:
        for _ in range(STATIONS_AT_ONCE):
            group.create_task(worker())
    if bulk is not None:
        await bulk.flush()
    async with conn.transaction():
        await _date_append_only(conn, run.stamps)
        counts = await _summary(conn, [st.id for st in chosen])
        counts.update(
            months=months,
            seed=seed,
            inspectors_added=added,
            note="the generated inspections, photos, reviews and actions are dated in the past",
        )
        await audit.record(conn, MARKER, entity="demo", data=counts)
    seconds = time.perf_counter() - started
    users = f"; inspectors added: {', '.join(added)} (password {DEMO_PASSWORDS['inspector']})" if added else ""
    return (
        f"demo history written in {seconds:.0f} s: {counts['inspections']} inspections of {counts['stations']} "
        f"stations over {months} months ({counts['approved']} approved, {counts['submitted']} awaiting review, "
        f"{counts['returned']} returned), {counts['photos']} photos, {counts['actions']} corrective actions "
        f"({counts['actions_overdue']} overdue, {counts['actions_verified']} verified){users}"
    )


async def _date_append_only(conn: Connection, stamps: list[tuple[datetime, UUID, datetime]]) -> None:
    """Date the revisions, reviews and action notes the steps wrote, which the database keeps append-only.

    Their triggers are off only inside this transaction: DDL is transactional, so no other session
    ever sees them off (it waits for the ACCESS EXCLUSIVE lock instead, for a moment). A row is
    matched by its station and the time its step stamped (each step's own now()).
    """
    if not stamps:
        return
    for table, trigger in APPEND_ONLY:
        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    args = ([s[0] for s in stamps], [s[1] for s in stamps], [s[2] for s in stamps])
    moments = "unnest($1::timestamptz[], $2::uuid[], $3::timestamptz[]) AS m (stamp, station_id, at)"
    await conn.execute(
        f"""UPDATE inspection_revisions r SET at = m.at FROM {moments}, inspections i
             WHERE i.id = r.inspection_id AND i.station_id = m.station_id AND r.at = m.stamp""",
        *args,
    )
    await conn.execute(
        f"""UPDATE reviews r SET created_at = m.at FROM {moments}, inspections i
             WHERE i.id = r.inspection_id AND i.station_id = m.station_id AND r.created_at = m.stamp""",
        *args,
    )
    await conn.execute(
        f"""UPDATE action_notes n SET at = m.at FROM {moments}, actions a
             WHERE a.id = n.action_id AND a.station_id = m.station_id AND n.at = m.stamp""",
        *args,
    )
    for table, trigger in APPEND_ONLY:
        await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


async def _summary(conn: Connection, station_ids: list[UUID]) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"""SELECT cardinality($1::uuid[]) AS stations,
                   (SELECT count(*) FROM inspections WHERE station_id = ANY($1)) AS inspections,
                   (SELECT count(*) FROM inspections WHERE station_id = ANY($1) AND status = 'approved') AS approved,
                   (SELECT count(*) FROM inspections WHERE station_id = ANY($1) AND status = 'submitted') AS submitted,
                   (SELECT count(*) FROM inspections WHERE station_id = ANY($1) AND status = 'returned') AS returned,
                   (SELECT count(*) FROM photos p JOIN inspections i ON i.id = p.inspection_id
                     WHERE i.station_id = ANY($1)) AS photos,
                   (SELECT count(*) FROM reviews r JOIN inspections i ON i.id = r.inspection_id
                     WHERE i.station_id = ANY($1)) AS reviews,
                   (SELECT count(*) FROM actions WHERE station_id = ANY($1)) AS actions,
                   (SELECT count(*) FROM actions WHERE station_id = ANY($1) AND status IN ('open', 'in_progress')
                       AND due_date < (now() AT TIME ZONE '{rollup.REPORTING_TZ}')::date) AS actions_overdue,
                   (SELECT count(*) FROM actions WHERE station_id = ANY($1) AND status = 'verified')
                     AS actions_verified""",
        station_ids,
    )
    return dict(row)


async def _add_inspectors(conn: Connection) -> list[str]:
    codes = sorted({c for spec in HISTORY_INSPECTORS for c in spec["districts"]})
    districts = {
        r["code"]: r["id"]
        for r in await conn.fetch("SELECT code, id FROM districts WHERE code = ANY($1::text[])", codes)
    }
    taken = {r["u"] for r in await conn.fetch("SELECT lower(username) AS u FROM users")}
    wanted = [
        s
        for s in HISTORY_INSPECTORS
        if all(c in districts for c in s["districts"]) and s["username"].lower() not in taken
    ]
    if not wanted:
        return []
    # argon2 is slow on purpose: one hash for all of them (the demo password is published anyway).
    password = await asyncio.to_thread(hash_password, DEMO_PASSWORDS["inspector"])
    await conn.executemany(
        """INSERT INTO users (username, display_name, password_hash, role, region_ids, district_ids)
           VALUES ($1, $2, $3, 'inspector', '{}', $4) ON CONFLICT (lower(username)) DO NOTHING""",
        [(s["username"], s["display_name"], password, [districts[c] for c in s["districts"]]) for s in wanted],
    )
    return sorted(s["username"] for s in wanted)


async def _stations(conn: Connection, limit: int | None) -> list[Station]:
    """The demo's SIPS police stations, interleaved across regions (so a limited run spans several), each
    with the demo inspector whose district scope covers it and the reviewer of its region."""
    codes = [s["code"] for *_, s in iter_stations(load_hierarchy())]
    rows = await conn.fetch(
        """SELECT s.id, s.code, s.lat, s.lon, r.code AS region, s.district_id, d.region_id,
                  (SELECT min(a.due_date) FROM assignments a WHERE a.station_id = s.id AND a.status = 'open')
                    AS next_due
             FROM stations s JOIN districts d ON d.id = s.district_id JOIN regions r ON r.id = d.region_id
            WHERE s.code = ANY($1::text[]) AND s.sips AND s.kind = 'police_station' AND s.active
              AND s.lat IS NOT NULL AND s.lon IS NOT NULL
            ORDER BY s.code""",
        codes,
    )
    names = [u["username"] for u in DEMO_USERS if u["role"] != "admin"] + [u["username"] for u in HISTORY_INSPECTORS]
    people = [
        principal_from(u)
        for u in await conn.fetch(
            """SELECT id, username, display_name, role, region_ids, district_ids FROM users
                      WHERE active AND username = ANY($1::text[]) ORDER BY username""",
            names,
        )
    ]
    by_region: dict[str, list[Station]] = {}
    for r in rows:
        inspector = next((p for p in people if p.role == "inspector" and r["district_id"] in p.district_ids), None)
        reviewer = next((p for p in people if p.role == "reviewer" and r["region_id"] in p.region_ids), None)
        if inspector is not None and reviewer is not None:
            by_region.setdefault(r["region"], []).append(
                Station(
                    id=r["id"],
                    code=r["code"],
                    region=r["region"],
                    lat=r["lat"],
                    lon=r["lon"],
                    inspector=inspector,
                    reviewer=reviewer,
                    next_due=r["next_due"],
                )
            )
    interleaved: list[Station] = []
    queues = [by_region[k] for k in sorted(by_region)]
    while any(queues):
        interleaved += [q.pop(0) for q in queues if q]
    return interleaved[:limit] if limit is not None else interleaved


# One station's year ---------------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


@dataclass
class Life:
    """One inspection as the simulation drives it: the phone's document and what the server said."""

    id: UUID
    doc: dict[str, Any]
    revision: int
    distance_m: float
    reused: bool
    returned_once: bool = False


@dataclass
class Story:
    """One station's year as a queue of events in time order; each event may schedule later ones."""

    run: Run
    line: Line
    st: Station
    profile: Profile
    rng: random.Random
    past: StationPast
    events: list[Event] = field(default_factory=list)
    counter: int = 0

    def schedule(self, at: datetime, kind: str, **data: Any) -> None:
        if at < self.run.now - timedelta(minutes=5):  # nothing is made up in the future
            self.counter += 1
            heapq.heappush(self.events, Event(at, self.counter, kind, data))


async def _station_history(run: Run, line: Line, st: Station, slot: int, recent: bool, months: int, seed: int) -> None:
    """`slot` is the station's place in the run: it picks the profile and spreads the visits evenly.
    A `recent` station's last visit is in the last few days."""
    rng = random.Random(f"{seed}:{st.code}")
    kind = PROFILE_CYCLE[slot % len(PROFILE_CYCLE)]
    story = Story(run, line, st, make_profile(kind, rng), rng, StationPast(fir_serial=rng.randint(50, 400), fir_year=0))
    first_day = _months_back(run.now.astimezone(PKT).date(), months)
    for visit_at in _visits(rng, story.profile, slot, first_day, run.now, st.next_due, recent):
        story.schedule(visit_at, "visit", month=(visit_at.date() - first_day).days / 30.4)
    handlers = {"visit": _visit, "review": _review, "resubmit": _resubmit, "action": _move_action}
    while story.events:
        ev = heapq.heappop(story.events)
        await handlers[ev.kind](story, ev)


def _months_back(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(day.day, 28))


def _visits(
    rng: random.Random, profile: Profile, slot: int, first_day: date, now: datetime, next_due: date | None, recent: bool
) -> list[datetime]:
    """Monthly for stations that worry the district, every other month for the rest; on a working day,
    in office hours (Pakistan time)."""
    every = 1 if profile.kind in ("troubled", "declining") else 2
    # Odd and even months by turns down the list (and the other way round in the next turn of the
    # profile cycle), so each month has about as many inspections as the next.
    phase = (slot + slot // len(PROFILE_CYCLE)) % every
    today = now.astimezone(PKT).date()
    quiet_from = min(today, next_due - timedelta(days=PLAN_GAP_DAYS)) if next_due is not None else today
    out: list[datetime] = []
    year, month, n = first_day.year, first_day.month, 0
    while date(year, month, 1) <= today:
        if n % every == phase and rng.random() >= 0.07:  # a month missed now and then: leave, elections duty
            day = date(year, month, rng.randint(2, 27))
            if day.weekday() == 6:  # Sunday
                day += timedelta(days=1)
            at = datetime(day.year, day.month, day.day, rng.randint(9, 13), rng.choice((0, 15, 30, 45)), tzinfo=PKT)
            if first_day < day < quiet_from and at < now - timedelta(hours=6):
                out.append(at)
        n += 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if recent:
        out = [at for at in out if at.date() < today - timedelta(days=20)]
        day = today - timedelta(days=rng.randint(2, 5))
        if day.weekday() == 6:
            day -= timedelta(days=1)
        at = datetime(day.year, day.month, day.day, rng.randint(9, 12), rng.choice((0, 15, 30, 45)), tzinfo=PKT)
        if first_day < day < quiet_from:
            out.append(at)
    return out


def _new_id(rng: random.Random) -> UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _office_time(day: datetime, rng: random.Random) -> datetime:
    local = day.astimezone(PKT)
    if local.weekday() == 6:
        local += timedelta(days=1)
    return local.replace(hour=rng.randint(10, 16), minute=rng.randint(0, 59), second=0, microsecond=0)


def _offset(lat: float, lon: float, metres: float, rng: random.Random) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = metres * math.cos(bearing) / 111_320
    dlon = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


async def _date_step(
    conn: Connection, st: Station, at: datetime, inspection_id: UUID | None = None, *, submitted: bool = False
) -> tuple[list[UUID], datetime]:
    """Move what this step wrote (the rows stamped with its transaction's now()) to `at`.

    Returns the actions the step opened and the step's now() (the append-only rows are dated with it
    at the end). A submission is moved the way the dashboards require of any change: out of the
    rollups, changed, back in.
    """
    if inspection_id is not None and submitted:
        await rollup.apply_inspection(conn, inspection_id, -1)
        # A first submission is made again as of `at` (schema 0016's trigger fills a NULL made_at from
        # the phone's finish and the new submitted_at): made today, a finish months back was not believed.
        await conn.execute(
            """UPDATE inspections SET submitted_at = $2, updated_at = $2,
                      created_at = CASE WHEN created_at = now() THEN $2 ELSE created_at END,
                      made_at = CASE WHEN (SELECT count(*) FROM inspection_revisions r
                                            WHERE r.inspection_id = $1 AND r.status = 'submitted') = 1
                                     THEN NULL ELSE made_at END
                WHERE id = $1""",
            inspection_id,
            at,
        )
        await rollup.apply_inspection(conn, inspection_id, +1)
    # One statement: every part sees the rows as the step left them, so the actions it opened are
    # those still stamped now().
    row = await conn.fetchrow(
        f"""WITH i AS (UPDATE inspections SET updated_at = $3 WHERE id = $2 AND updated_at = now()),
                 o AS (UPDATE score_overrides
                          SET created_at = CASE WHEN created_at = now() THEN $3 ELSE created_at END,
                              superseded_at = CASE WHEN superseded_at = now() THEN $3 ELSE superseded_at END
                        WHERE inspection_id = $2 AND now() IN (created_at, superseded_at)),
                 a AS (UPDATE actions SET
                              created_at = CASE WHEN created_at = now() THEN $3 ELSE created_at END,
                              due_date = CASE WHEN created_at = now()
                                              THEN ($3 AT TIME ZONE '{rollup.REPORTING_TZ}')::date + {AUTO_DUE_DAYS}
                                              ELSE due_date END,
                              updated_at = CASE WHEN updated_at = now() THEN $3 ELSE updated_at END,
                              verified_at = CASE WHEN verified_at = now() THEN $3 ELSE verified_at END
                        WHERE station_id = $1 AND now() IN (created_at, updated_at, verified_at))
            SELECT now() AS stamp,
                   ARRAY(SELECT id FROM actions WHERE station_id = $1 AND created_at = now() ORDER BY id) AS opened""",
        st.id,
        inspection_id,
        at,
    )
    return list(row["opened"]), row["stamp"]


# Visits ---------------------------------------------------------------------------------------------


async def _visit(story: Story, ev: Event) -> None:
    run, st, rng, past = story.run, story.st, story.rng, story.past
    started = ev.at
    finished = started + timedelta(minutes=rng.randint(75, 170))
    if rng.random() < 0.15:  # no network at the station: synced from the office the next morning
        submitted = (finished + timedelta(days=1)).replace(hour=rng.randint(8, 10), minute=rng.randint(0, 59))
    else:
        submitted = finished + timedelta(minutes=rng.randint(3, 40))
    if submitted >= run.now - timedelta(minutes=10):
        return
    profile = story.profile
    quality = max(0.15, min(0.98, profile.base + profile.trend * ev.data["month"] + rng.gauss(0, 0.05)))
    answers = make_answers(run.defn, profile, quality, started.date(), past, rng)

    # Where the phone was: normally inside the station; now and then kilometres away, which reviewers see.
    far = rng.random() < 0.04
    where = _offset(st.lat, st.lon, rng.uniform(1200, 6000) if far else rng.uniform(5, 120), rng)
    location = {"lat": where[0], "lon": where[1], "accuracy_m": round(rng.uniform(4, 30), 1)}

    # Photos: new pictures for each item that asks for them; now and then one of last visit's sent again.
    shots = [
        (item.key, n)
        for _, _, _, item in iter_items(run.defn)
        for n in range(item.min_photos)
        if item.key in answers and answers[item.key].get("value") != "na"
    ]
    loop = asyncio.get_running_loop()
    pictures = await asyncio.gather(
        *(
            loop.run_in_executor(
                run.executor,
                render_photo,
                rng.getrandbits(62),
                f"{st.code}  {PHOTO_CAPTIONS.get(key[:2], key)}\n{started:%d-%m-%Y %H:%M}",
                key[:2],
            )
            for key, _ in shots
        )
    )
    photos: dict[str, list[tuple[UUID, bytes]]] = {}
    for (key, _), data in zip(shots, pictures, strict=True):
        photos.setdefault(key, []).append((_new_id(rng), data))
    again = sorted(k for k in photos if k in past.photos)
    reused = bool(again) and rng.random() < 0.025
    if reused:
        key = rng.choice(again)
        photos[key][0] = (photos[key][0][0], past.photos[key][0])
    past.photos = {key: [data for _, data in shots] for key, shots in photos.items()}
    for key, taken in photos.items():
        answers[key]["photos"] = [str(photo_id) for photo_id, _ in taken]

    doc = {
        "station_id": st.id,
        "template_version_id": run.version_id,
        "status": "submitted",
        "started_at": started,
        "finished_at": finished,
        "location": location,
        "answers": answers,
    }
    distance = inspection_rules.distance_m(where[0], where[1], st.lat, st.lon)
    life = Life(id=_new_id(rng), doc=doc, revision=0, distance_m=distance, reused=reused)

    # Before the new inspection is sent, the actions this visit finds fixed are verified by the inspector.
    await _verify_fixed(story, answers, started)
    opened = await _sync(story, life, submitted)
    await _upload_photos(story, life, photos, started, finished, where, submitted)
    _follow_up(story, opened, submitted)
    review_at = _office_time(submitted + timedelta(days=rng.randint(1, 6)), rng)
    if submitted < run.now - timedelta(days=QUEUE_DAYS) and review_at < run.now:
        story.schedule(review_at, "review", life=life)


async def _sync(story: Story, life: Life, at: datetime) -> list[UUID]:
    """Send the document as the phone would, dated `at`; returns the actions the submission opened."""
    run, st = story.run, story.st
    d = life.doc
    doc = InspectionDoc(
        station_id=d["station_id"],
        template_version_id=d["template_version_id"],
        base_revision=life.revision,
        status="submitted",
        started_at=d["started_at"],
        finished_at=d["finished_at"],
        location=Location(**d["location"]),
        answers={
            k: Answer(value=a.get("value"), note=a.get("note"), photos=[UUID(p) for p in a.get("photos", [])])
            for k, a in d["answers"].items()
        },
    )

    async def work(conn: Connection) -> tuple[int, list[UUID], datetime]:
        # A submission completes the station's open assignment; the planned work of today is not what
        # this past visit did, so it is set aside for the submission and put back as it was, all in
        # this transaction (its sync stamp moves on, which only makes phones look at it again).
        parked = (
            await conn.fetch(
                """UPDATE assignments SET status = 'cancelled' WHERE station_id = $1 AND status = 'open'
               RETURNING id, updated_at""",
                st.id,
            )
            if st.next_due is not None
            else []
        )
        _, reply = await inspection_service.sync_inspection(
            conn, st.inspector, life.id, doc, radius_m=run.radius_m, ip=None
        )
        if parked:
            await conn.execute(
                """UPDATE assignments a SET status = 'open', updated_at = p.updated_at
                     FROM unnest($1::uuid[], $2::timestamptz[]) AS p (id, updated_at) WHERE a.id = p.id""",
                [p["id"] for p in parked],
                [p["updated_at"] for p in parked],
            )
        return reply.revision, *await _date_step(conn, st, at, life.id, submitted=True)

    life.revision, opened, stamp = await story.line.step(work)
    run.stamps.append((stamp, st.id, at))
    return opened


async def _upload_photos(
    story: Story,
    life: Life,
    photos: dict[str, list[tuple[UUID, bytes]]],
    started: datetime,
    finished: datetime,
    where: tuple[float, float],
    submitted: datetime,
) -> None:
    """Upload each photo as the phone does after the inspection is sent: one request per photo."""
    run, st = story.run, story.st
    # The route's check (the inspector's own inspection, a real item) once per inspection: it reads the
    # whole template, and the other items of the same template need no second look.
    first = min(photos)
    async with story.line.connect() as conn:
        target = await photo_service.upload_target(
            conn, st.inspector, life.id, first, photos[first][0][0], radius_m=run.radius_m
        )
    targets = {key: msgspec.structs.replace(target, item_key=key) for key in photos}
    span = max(60.0, (finished - started).total_seconds())
    uploads = []
    for n, (key, taken) in enumerate(sorted(photos.items())):
        moment = started + timedelta(seconds=span * (n + 0.5) / (len(photos) + 1))
        device = photo_rules.Device(taken_at=moment.astimezone(UTC), lat=where[0], lon=where[1], accuracy_m=12.0)
        uploads += [
            photo_service.save_upload(
                story.line.connect, run.store, run.executor, st.inspector, photo_id, targets[key], device, data, None
            )
            for photo_id, data in taken
        ]
    await asyncio.gather(*uploads)
    new = [photo_id for taken in photos.values() for photo_id, _ in taken]
    at = submitted + timedelta(minutes=2)

    async def work(conn: Connection) -> None:
        await conn.execute("UPDATE photos SET created_at = $2 WHERE id = ANY($1::uuid[])", new, at)
        await conn.execute(
            "UPDATE photo_reuse SET found_at = $2 WHERE photo_id = ANY($1) OR other_id = ANY($1)", new, at
        )

    await story.line.step(work)


# Reviews --------------------------------------------------------------------------------------------


async def _review(story: Story, ev: Event) -> None:
    run, st, rng = story.run, story.st, story.rng
    life: Life = ev.data["life"]
    answers = life.doc["answers"]
    comment, items, overrides, reply = "", {}, {}, None
    if not life.returned_once and (life.distance_m > run.radius_m or life.reused or rng.random() < 0.08):
        decision = "return"
        if life.distance_m > run.radius_m:
            comment = FAR_RETURN.format(km=life.distance_m / 1000)
            items = {"sc_remarks": "Explain the distance here."}
            reply = ("sc_remarks", FAR_REPLY)
        elif life.reused:
            comment = "One photo is the same as the one from the previous inspection. Take a new one."
            reply = (
                "sc_remarks",
                "The photo was attached by mistake from the earlier visit; the place was seen "
                "in person and a new photo is with the next inspection.",
            )
        else:
            key, why, fix = rng.choice([r for r in RETURNS if r[0] in answers])
            comment, items, reply = "Returned for correction; see the item comment.", {key: why}, (key, fix)
    else:
        decision = "approve"
        result = score(run.defn, {k: Answer(value=a.get("value")) for k, a in answers.items()})
        poor = result.critical_failed or (result.percent or 0) < 60
        comment = rng.choice(STERN_COMMENTS if poor else APPROVE_COMMENTS)
        if rng.random() < 0.07:
            for key, change, reason in rng.sample(OVERRIDES, len(OVERRIDES)):
                original = result.items.get(key)
                if original is not None and original.score is not None and (new := change(original.score)) is not None:
                    overrides[key] = Override(score=new, reason=reason)
                    break
        key, reason = CRITICAL_OVERRIDE
        if rng.random() < 0.012 and answers.get(key, {}).get("value") == "yes":
            overrides[key] = Override(score=0.0, reason=reason)
        failed = [k for k, s in result.items.items() if s.score == 0]
        if failed and rng.random() < 0.15:
            items = {rng.choice(failed): "SHO to report compliance on this point within two weeks."}
    body = ReviewIn(
        decision=decision, revision=life.revision, comment=comment, item_comments=items, score_overrides=overrides
    )

    async def work(conn: Connection) -> tuple[int, list[UUID], datetime]:
        outcome = await review_service.review(conn, st.reviewer, life.id, body, ip=None)
        return outcome.revision, *await _date_step(conn, st, ev.at, life.id)

    life.revision, opened, stamp = await story.line.step(work)
    run.stamps.append((stamp, st.id, ev.at))
    _follow_up(story, opened, ev.at)
    if reply is not None:
        life.returned_once = True
        key, text = reply
        answer = dict(answers.get(key) or {})
        answer["value" if key == "sc_remarks" else "note"] = text
        answers[key] = answer
        story.schedule(_office_time(ev.at + timedelta(days=rng.randint(2, 9)), rng), "resubmit", life=life)


async def _resubmit(story: Story, ev: Event) -> None:
    run, rng = story.run, story.rng
    life: Life = ev.data["life"]
    opened = await _sync(story, life, ev.at)
    _follow_up(story, opened, ev.at)
    review_at = _office_time(ev.at + timedelta(days=rng.randint(1, 3)), rng)
    if ev.at < run.now - timedelta(days=QUEUE_DAYS) and review_at < run.now:
        story.schedule(review_at, "review", life=life)


# Corrective actions ---------------------------------------------------------------------------------


def _follow_up(story: Story, opened: list[UUID], at: datetime) -> None:
    """The office works on new actions: some taken up, some reported done (verified at a later visit)."""
    rng = story.rng
    for action_id in opened:
        if rng.random() < 0.7:
            story.schedule(
                _office_time(at + timedelta(days=rng.randint(1, 4)), rng),
                "action",
                id=action_id,
                status="in_progress",
                note=rng.choice(PROGRESS_NOTES),
            )
            if rng.random() < 0.6:
                story.schedule(
                    _office_time(at + timedelta(days=rng.randint(6, 18)), rng),
                    "action",
                    id=action_id,
                    status="done",
                    note=None,
                )


async def _move_action(story: Story, ev: Event) -> None:
    run, st = story.run, story.st
    status = ev.data["status"]

    async def work(conn: Connection) -> datetime | None:
        row = await conn.fetchrow("SELECT status, item_key FROM actions WHERE id = $1", ev.data["id"])
        if row is None or row["status"] == status or transition_problem(row["status"], status, "reviewer", True):
            return None  # overtaken: verified at a visit meanwhile, or reopened
        note = ev.data["note"] or DONE_NOTES.get(row["item_key"], DONE_NOTE)
        await action_service.update(conn, st.reviewer, ev.data["id"], ActionPatch(status=status, note=note), None)
        return (await _date_step(conn, st, ev.at))[1]

    if (stamp := await story.line.step(work)) is not None:
        run.stamps.append((stamp, st.id, ev.at))


async def _verify_fixed(story: Story, answers: dict[str, dict[str, Any]], at: datetime) -> None:
    """The inspector marks verified the station's open actions whose item passes on this visit; a
    cautious one only those the station has reported done."""
    run, st = story.run, story.st
    result = score(run.defn, {k: Answer(value=a.get("value")) for k, a in answers.items()})
    passing = [k for k, s in result.items.items() if s.score is not None and s.score > 0]
    statuses = ["done"] if story.rng.random() < 0.4 else ["open", "in_progress", "done"]
    note = f"Seen fixed during the inspection on {at:%d-%m-%Y}."

    async def work(conn: Connection) -> datetime | None:
        fixed = await conn.fetch(
            """SELECT id FROM actions
                WHERE station_id = $1 AND status = ANY($3::text[]) AND item_key = ANY($2::text[])
                ORDER BY id""",
            st.id,
            passing,
            statuses,
        )
        for action in fixed:
            await action_service.update(
                conn, st.inspector, action["id"], ActionPatch(status="verified", note=note), None
            )
        return (await _date_step(conn, st, at))[1] if fixed else None

    if (stamp := await story.line.step(work)) is not None:
        run.stamps.append((stamp, st.id, at))
