"""What the reviewer browser tests share: submissions seeded through the API, and signing in a reviewer.

No tests live here. A submission is made the way a phone makes it (PUT of the whole document, then the
photos it references, each with what the phone knew at capture), so the reviewer's screens see exactly
what an inspector's sync leaves on the server.
"""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from server.demo.content import DEMO_PASSWORDS
from tests.e2e.test_pwa_support import answer_for, bundle, visible, watch_errors

REVIEWER_PASSWORD = DEMO_PASSWORDS["reviewer"]
INSPECTOR_PASSWORD = DEMO_PASSWORDS["inspector"]
LAPTOP = {"width": 1280, "height": 800}


def photo(seed: int) -> bytes:
    """A small JPEG of random coloured blocks: unlike plain stripes, two seeds never look alike to the
    server's perceptual hash, so only a photo a test reuses on purpose is flagged as reused."""
    rng = random.Random(seed)
    img = Image.new("RGB", (8, 6))
    img.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(48)])
    out = io.BytesIO()
    img.resize((480, 360), Image.NEAREST).save(out, "JPEG", quality=85)
    return out.getvalue()


def failing_value(item: dict) -> Any:
    """An answer that scores 0 for the item's type (what a failed check looks like)."""
    t = item["type"]
    if t == "yes_no":
        return "no"
    if t == "scale":
        return 0
    if t == "choice":
        return min(item["options"], key=lambda o: o["points"])["key"]
    if t == "number":
        return (item["max"] + 1) if item.get("max") is not None else item["min"] - 1
    raise ValueError(f"no failing value for a {t} item")


def police_version(data: dict) -> dict:
    """The newest template version for police stations in a bundle."""
    best: dict | None = None
    for v in data["templates"]:
        kinds = v["definition"].get("kinds")
        if (not kinds or "police_station" in kinds) and (best is None or v["version"] > best["version"]):
            best = v
    assert best is not None, "the bundle has no police station template"
    return best


def police_stations(data: dict) -> list[dict]:
    return sorted(
        (s for s in data["stations"] if s.get("kind", "police_station") == "police_station"), key=lambda s: s["code"]
    )


def build_document(
    station: dict,
    version: dict,
    *,
    fail: tuple[str, ...] = (),
    far: bool = False,
    photo_bytes: dict[str, bytes] | None = None,
    seed: int = 1,
) -> tuple[dict, list[tuple]]:
    """A submitted document answering every visible item (passing unless named in `fail`), and its photos.

    Returns (document, [(photo_id, item_key, jpeg bytes)]). `photo_bytes` maps an item key to the bytes
    its first photo must have, which is how a test makes a photo "reused" from another inspection.
    """
    definition = version["definition"]
    values: dict[str, Any] = {}
    answers: dict[str, dict] = {}
    photos: list[tuple] = []
    n = seed * 1000
    for section in definition["sections"]:
        for item in section["items"]:
            if not visible(item, values):
                continue
            value = failing_value(item) if item["key"] in fail else answer_for(item)
            ids = []
            for k in range(item.get("min_photos", 0) or 0):
                n += 1
                data = (photo_bytes or {}).get(item["key"]) if k == 0 else None
                pid = str(uuid.uuid4())
                photos.append((pid, item["key"], data or photo(n)))
                ids.append(pid)
            if item["type"] == "photo" and not ids:
                continue
            answers[item["key"]] = {"value": value, "photos": ids} if item["type"] != "photo" else {"photos": ids}
            if item["type"] != "photo":
                values[item["key"]] = value
    now = datetime.now(UTC)
    # About 5 km north of the station when `far`, well beyond any presence radius; and, as a real fix
    # jitters, never exactly another document's (that is flagged: test_reviewer_location_repeated.py).
    lat = station["lat"] + (0.045 if far else 0.0001) + (uuid.uuid4().int % 999 + 1) * 1e-9
    document = {
        "station_id": station["id"],
        "template_version_id": version["id"],
        "base_revision": 0,
        "status": "submitted",
        "started_at": (now - timedelta(hours=1)).isoformat(),
        "finished_at": now.isoformat(),
        "location": {"lat": lat, "lon": station["lon"], "accuracy_m": 9},
        "answers": answers,
    }
    return document, photos


def submit(server: Any, token: str, station: dict, version: dict, **kwargs: Any) -> dict:
    """PUTs a submitted inspection and uploads its photos, as the phone's outbox would; returns the stored copy."""
    document, photos = build_document(station, version, **kwargs)
    iid = str(uuid.uuid4())
    reply = server.api("PUT", f"/api/v1/inspections/{iid}", token, json=document)
    assert reply.status_code == 201, reply.text
    taken = datetime.now(UTC).isoformat()
    upload_photos(
        server,
        token,
        iid,
        photos,
        lambda n: {"taken_at": taken, "lat": document["location"]["lat"], "lon": station["lon"]},
    )
    stored = server.api("GET", f"/api/v1/inspections/{iid}", token)
    assert stored.status_code == 200, stored.text
    return stored.json()


def upload_photos(
    server: Any,
    token: str,
    iid: str,
    photos: list[tuple[str, str, bytes]],
    evidence: Callable[[int], dict],
    expect: tuple[int, ...] = (200, 201),
) -> None:
    """Uploads each photo (id, item key, bytes) of the inspection as the phone's outbox does, with the
    taken_at/lat/lon `evidence(n)` gives the n-th (a fix of 9 m)."""
    for n, (pid, key, data) in enumerate(photos):
        params = {"inspection_id": iid, "item_key": key, "accuracy_m": 9, **evidence(n)}
        up = server.api("PUT", f"/api/v1/photos/{pid}", token, content=data, params=params)
        assert up.status_code in expect, up.text


def inspector_setup(server: Any, username: str = "inspector.ali") -> tuple[str, list[dict], dict]:
    """(token, police stations in scope, the police template version) for an inspector."""
    token = server.login(username, INSPECTOR_PASSWORD)
    data = bundle(server, token)
    return token, police_stations(data), police_version(data)


def sign_in_reviewer(page: Any, url: str, username: str = "rpo.lahore") -> None:
    page.goto(url + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_selector(".rv-queue")


def reviewer_desk(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    """A laptop context with the Lahore regional officer signed in: (context, page, page errors)."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_reviewer(page, url)
    return context, page, errors
