"""The demo content: a Punjab hierarchy, two inspection templates and the demo users.

Data only; nothing here touches a database. The seeder (`muaina seed-demo`) reads these and inserts
them, mapping the region and district CODES below to the ids the database gives them.

- `load_hierarchy()` returns {"regions": [{code, name{en,ur}, districts: [{code, name, circles:
  [{code, name, stations: [{code, name{en,ur}, lat, lon, sips, kind}]}]}]}]}.
- `load_template(name)` returns a template definition in the DESIGN §7 shape, ready for
  PUT /api/v1/templates/{id}/draft. `TEMPLATES` gives the template key and title for each name.
- `DEMO_USERS` lists the demo accounts; `DEMO_PASSWORDS` is the one place their passwords are written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

# One password per role, printed by `make run` and the README. Demo only: never seed these in production.
DEMO_PASSWORDS: dict[str, str] = {
    "admin": "admin-demo-2026",
    "reviewer": "review-demo-2026",
    "inspector": "inspect-demo-2026",
}

# name accepted by load_template -> the template's stable key (POST /api/v1/templates) and its file.
TEMPLATES: dict[str, dict[str, str]] = {
    "sips": {"key": "sips_station", "file": "sips_template.json"},
    "khidmat": {"key": "khidmat_markaz", "file": "khidmat_template.json"},
}


def _user(username: str, display_name: str, role: str, *, regions=(), districts=()) -> dict[str, Any]:
    return {
        "username": username,
        "display_name": display_name,
        "role": role,
        "password": DEMO_PASSWORDS[role],
        # CODES, not database ids: the seeder looks each code up ("LHR" -> the id of region LHR).
        "region_ids": list(regions),
        "district_ids": list(districts),
    }


DEMO_USERS: list[dict[str, Any]] = [
    _user("admin", "SSP Farhan Qureshi (IT, Central Police Office)", "admin"),
    # One reviewer per region, scoped to that region (the RPO's office; CCPO's office in Lahore).
    _user("rpo.lahore", "DIG Ayesha Siddiqui", "reviewer", regions=["LHR"]),
    _user("rpo.sheikhupura", "DIG Khalid Mehmood", "reviewer", regions=["SKP"]),
    _user("rpo.rawalpindi", "DIG Kamran Aslam", "reviewer", regions=["RWP"]),
    _user("rpo.faisalabad", "DIG Naveed Akhtar", "reviewer", regions=["FSD"]),
    _user("rpo.multan", "DIG Shahid Hussain Bukhari", "reviewer", regions=["MLN"]),
    _user("rpo.gujranwala", "DIG Tariq Javed Cheema", "reviewer", regions=["GRW"]),
    _user("rpo.sahiwal", "DIG Asif Nawaz", "reviewer", regions=["SWL"]),
    # Inspectors, each scoped to one district in a different region, so scope tests have two sides.
    _user("inspector.ali", "DSP Ali Raza", "inspector", districts=["LHR-CITY"]),
    _user("inspector.sana", "DSP Sana Bashir", "inspector", districts=["RWP-CITY"]),
]


def _read_json(filename: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return json.loads(text)


def load_hierarchy() -> dict[str, Any]:
    """The demo region -> district -> circle -> station tree (a fresh copy on every call)."""
    return _read_json("hierarchy.json")


def load_template(name: str = "sips") -> dict[str, Any]:
    """A demo template definition by name: "sips" (police stations) or "khidmat" (Khidmat Markaz)."""
    try:
        entry = TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown demo template {name!r}; expected one of {sorted(TEMPLATES)}") from None
    return _read_json(entry["file"])


def iter_stations(hierarchy: dict[str, Any]) -> Iterator[tuple[dict, dict, dict, dict]]:
    """Yield (region, district, circle, station) for every station, in file order."""
    for region in hierarchy["regions"]:
        for district in region["districts"]:
            for circle in district["circles"]:
                for station in circle["stations"]:
                    yield region, district, circle, station
