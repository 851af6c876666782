"""Pure rules of the hierarchy: codes, names, coordinates, and reading a station CSV file.

Nothing here touches the database. Checks append to a list of FieldError instead of raising, so a
form or a 20,000-row import gets every problem in one reply.

CSV decisions (POST /api/v1/stations/import and `muaina import-stations`):
- Columns: code, name_en, name_ur, district_code, lat, lon are required; circle_code, sips and kind
  are optional (blank circle: none; blank sips: true; blank kind: police_station). Column order is
  free; an unknown column is an error, because a misspelt header would otherwise be ignored silently.
- Rows are numbered as a spreadsheet shows them: the header is row 1, the first station is row 2.
- A station that already exists is updated; its id, active flag and history stay. Codes are compared
  ignoring case (`ps-7` is the station `PS-7`, whose stored spelling is kept), as schema/0017 indexes them;
  so are the district and circle codes a row names (schema/0019), by the same rule (Codes below).
- What Excel's default "CSV (Comma delimited)" does to a file is refused, row by row, rather than
  written: Urdu letters saved as `?` (an English Windows has no code page for them), a numeric code whose
  leading zeros were dropped (`101` for the station `0101`), and a file separated by ';' or tabs.
- A station must lie in Pakistan's box (PAKISTAN below): a point outside it, or 0,0, would flag every
  inspection there as far from its station. Swapped lat and lon are named as such. The station API
  applies the same check (check_station_point), so a form and a file are refused alike.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from server.csvfile import Problems, read
from server.errors import FieldError
from server.structs import LocalText
from server.templates.rules import is_blank

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
KINDS = ("police_station", "khidmat_markaz", "driving_centre", "other")
REQUIRED_COLUMNS = ("code", "name_en", "name_ur", "district_code", "lat", "lon")
OPTIONAL_COLUMNS = ("circle_code", "sips", "kind")
CSV_COLUMNS = REQUIRED_COLUMNS[:4] + ("circle_code",) + REQUIRED_COLUMNS[4:] + OPTIONAL_COLUMNS[1:]
MAX_NAME = 200
# Pakistan's bounding box, a little generous: every station is inside, and swapped coordinates
# (lat 74, lon 31) never are.
PAKISTAN = {"lat": (23.5, 37.2), "lon": (60.8, 77.9)}
URDU_LOST = "Urdu letters were lost: in Excel use Save As → CSV UTF-8"
# Arabic-script letters (Arabic, its supplements and presentation forms): Urdu is written in them.
_ARABIC = (
    "\u0620-\u064a\u066e-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc"
)
_ARABIC_LETTER = re.compile(f"[{_ARABIC}]")
# A letter Excel could not write becomes '?'. Two in a row, or one touching an Urdu letter (a code page
# with most but not all of them), is never punctuation: Urdu's own question mark is '؟'.
_LOST_LETTERS = re.compile(f"\\?\\?|[{_ARABIC}]\\?|\\?[{_ARABIC}]")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}

Err = Callable[[str, str], None]
V = TypeVar("V")


def collector() -> tuple[list[FieldError], Err]:
    errors: list[FieldError] = []

    def err(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    return errors, err


# The Arabic letters an Arabic keyboard, an old system or a copied web page writes for Urdu's own yeh
# and kaf: they look the same, and a name stored with them is not found by a search typed on an Urdu
# keyboard (schema 0032 mended the names stored before).
_URDU_LETTERS = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})


def name_text(text: str) -> str:
    """A name as it is stored and searched: trimmed, with Urdu's own yeh and kaf, in NFC (a file saved
    on a Mac or by some web exports comes decomposed, NFD, which looks the same and compares different:
    a re-import then "changed" every Urdu name, and a search typed on a keyboard found none)."""
    return unicodedata.normalize("NFC", text.translate(_URDU_LETTERS)).strip()


def name_parts(name: str | LocalText) -> tuple[str, str]:
    """(English, Urdu) of a name given as a plain English string or as {en, ur}, as stored (name_text)."""
    if isinstance(name, str):
        return name_text(name), ""
    return name_text(name.en), name_text(name.ur)


def check_code(code: str, field: str, err: Err) -> None:
    if not CODE.match(code):
        err(field, "must be 1 to 40 letters, digits, '.', '-' or '_', starting with a letter or digit")


def check_name(en: str, ur: str, field: str, err: Err, *, urdu_required: bool) -> None:
    # A name of only invisible characters (a zero-width space pasted in) is blank, as a template's text is.
    if is_blank(en):
        err(f"{field}.en", "the English name must not be blank")
    elif len(en) > MAX_NAME:
        err(f"{field}.en", f"must be at most {MAX_NAME} characters")
    if urdu_required and is_blank(ur):
        err(f"{field}.ur", "the Urdu name must not be blank")
    elif len(ur) > MAX_NAME:
        err(f"{field}.ur", f"must be at most {MAX_NAME} characters")


def check_coordinates(lat: float | None, lon: float | None, err: Err, prefix: str = "") -> None:
    if lat is not None and not (math.isfinite(lat) and -90 <= lat <= 90):
        err(f"{prefix}lat", "must be between -90 and 90")
    if lon is not None and not (math.isfinite(lon) and -180 <= lon <= 180):
        err(f"{prefix}lon", "must be between -180 and 180")


def check_station_point(lat: float | None, lon: float | None, err: Err, prefix: str = "") -> None:
    """Where a station is, from a form or a file: each number in range, then the point in Pakistan.
    A coordinate not known (None: a PATCH of a station that has none) is not checked."""
    found, err_here = collector()
    check_coordinates(lat, lon, err_here, prefix)
    for problem in found:
        err(problem.field, problem.message)
    if not found and lat is not None and lon is not None:
        check_in_pakistan(lat, lon, err, prefix)


def check_urdu_letters(ur: str, field: str, err: Err) -> None:
    """An Urdu name Excel saved without its letters: `????? ????` or Latin letters only."""
    if _LOST_LETTERS.search(ur):
        err(field, f"'{ur}': {URDU_LOST}")
    elif not _ARABIC_LETTER.search(ur):
        err(field, f"'{ur}' has no Urdu letters: write the name in Urdu (if it was, {URDU_LOST})")


def check_in_pakistan(lat: float, lon: float, err: Err, prefix: str = "") -> None:
    """Coordinates inside Pakistan, saying so when lat and lon were swapped."""

    def inside(axis: str, value: float) -> bool:
        low, high = PAKISTAN[axis]
        return low <= value <= high

    if inside("lat", lat) and inside("lon", lon):
        return
    if inside("lat", lon) and inside("lon", lat):
        err(f"{prefix}lat", f"lat and lon look swapped: {lat:g},{lon:g} is outside Pakistan, {lon:g},{lat:g} is inside")
        return
    for axis, value in (("lat", lat), ("lon", lon)):
        if not inside(axis, value):
            low, high = PAKISTAN[axis]
            err(f"{prefix}{axis}", f"{value:g} is outside Pakistan ({axis} {low:g} to {high:g})")


def code_key(code: str) -> str:
    """What makes two codes of one level the same: letter case does not (codes are ASCII, see CODE)."""
    return code.lower()


class Codes(Generic[V]):
    """The stored codes of one level (regions, districts or circles) with a value each, found as a file
    names them: ignoring case, giving back the stored spelling. A database older than schema/0019 may
    hold two that differ only in case: the exact spelling is that one, a third spelling is refused."""

    def __init__(self, what: str, by_code: Mapping[str, V]):
        self.what = what
        self.by_code = dict(by_code)
        self._folded: dict[str, list[str]] = {}
        for code in sorted(self.by_code):
            self._folded.setdefault(code_key(code), []).append(code)

    def find(self, code: str) -> tuple[str, V] | list[str]:
        """(stored code, value); else the stored codes it could be, none when no code is like it."""
        if code in self.by_code:
            return code, self.by_code[code]
        stored = self._folded.get(code_key(code), [])
        if len(stored) == 1:
            return stored[0], self.by_code[stored[0]]
        return stored

    def twins(self, stored: list[str]) -> str:
        return f"could be any of the {self.what}s {', '.join(stored)}: write the code exactly as stored"


def zeros_lost(code: str) -> str | None:
    """A numeric code without its leading zeros (`0101` -> `101`), as Excel writes it; None otherwise."""
    if not (code.isascii() and code.isdigit()):
        return None
    return code.lstrip("0") or "0"


# CSV import ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportRow:
    row: int
    code: str
    name_en: str
    name_ur: str
    district_code: str
    circle_code: str | None
    district_id: UUID
    circle_id: UUID | None
    lat: float
    lon: float
    sips: bool
    kind: str


def parse_station_csv(
    text: str,
    districts: Mapping[str, UUID],
    circles: Mapping[str, tuple[UUID, UUID]],
) -> tuple[list[ImportRow], Problems]:
    """Read and check every row. `districts` maps code -> id; `circles` maps code -> (id, district id).

    Returns the rows and the problems found; the caller writes nothing unless there are none.
    """
    district_codes, circle_codes = Codes("district", districts), Codes("circle", circles)
    problems = Problems()
    rows: list[ImportRow] = []
    first_row_of: dict[str, int] = {}
    for number, values in read(text, problems, REQUIRED_COLUMNS, CSV_COLUMNS):
        at = f"row {number}"
        parsed = _parse_row(number, values, district_codes, circle_codes, problems)
        code = values["code"]
        if code:
            if code_key(code) in first_row_of:
                problems(f"{at}.code", f"the code '{code}' is also on row {first_row_of[code_key(code)]}")
            else:
                first_row_of[code_key(code)] = number
        if parsed is not None:
            rows.append(parsed)
    if not first_row_of and not problems:
        problems("body", "the file has a header but no stations")
    return rows, problems


def _parse_row(
    number: int,
    values: dict[str, str],
    districts: Codes[UUID],
    circles: Codes[tuple[UUID, UUID]],
    err: Err,
) -> ImportRow | None:
    at = f"row {number}"
    values = {**values, "name_en": name_text(values["name_en"]), "name_ur": name_text(values["name_ur"])}
    row_errors, err_here = collector()
    code = values["code"]
    if not code:
        err_here(f"{at}.code", "is missing")
    else:
        check_code(code, f"{at}.code", err_here)
    for column, language in (("name_en", "English"), ("name_ur", "Urdu")):
        if is_blank(values[column]):
            err_here(f"{at}.{column}", f"the {language} name is missing")
        elif len(values[column]) > MAX_NAME:
            err_here(f"{at}.{column}", f"must be at most {MAX_NAME} characters")
        elif "\x00" in values[column]:
            # PostgreSQL refuses NUL in text: caught here, the row and column are named (and a dry run agrees).
            err_here(f"{at}.{column}", "must not contain the NUL character (U+0000)")
        elif column == "name_ur":
            check_urdu_letters(values[column], f"{at}.{column}", err_here)
    # A district or circle named in another case is the stored one, and keeps its stored spelling.
    district_code = values["district_code"]
    district_id = None
    if not district_code:
        err_here(f"{at}.district_code", "is missing")
    elif isinstance(found := districts.find(district_code), tuple):
        district_code, district_id = found
    else:
        err_here(
            f"{at}.district_code", districts.twins(found) if found else f"no district has the code '{district_code}'"
        )
    circle_code = values.get("circle_code") or None
    circle_id = None
    if circle_code is not None:
        if not isinstance(circle := circles.find(circle_code), tuple):
            err_here(
                f"{at}.circle_code", circles.twins(circle) if circle else f"no circle has the code '{circle_code}'"
            )
        elif district_id is not None and circle[1][1] != district_id:
            err_here(f"{at}.circle_code", f"the circle '{circle_code}' is not in the district '{district_code}'")
        else:
            circle_code, circle_id = circle[0], circle[1][0]
    lat = _number(values["lat"], f"{at}.lat", err_here)
    lon = _number(values["lon"], f"{at}.lon", err_here)
    check_station_point(lat, lon, err_here, f"{at}.")
    sips = _flag(values.get("sips", ""), f"{at}.sips", err_here)
    kind = values.get("kind") or "police_station"
    if kind not in KINDS:
        err_here(f"{at}.kind", f"must be one of: {', '.join(KINDS)}")
    for problem in row_errors:
        err(problem.field, problem.message)
    if row_errors:
        return None
    assert district_id is not None and lat is not None and lon is not None and sips is not None
    return ImportRow(
        row=number,
        code=code,
        name_en=values["name_en"],
        name_ur=values["name_ur"],
        district_code=district_code,
        circle_code=circle_code,
        district_id=district_id,
        circle_id=circle_id,
        lat=lat,
        lon=lon,
        sips=sips,
        kind=kind,
    )


def _number(text: str, field: str, err: Err) -> float | None:
    """A number as written; whether it is a place is check_station_point's to say."""
    if not text:
        err(field, "is missing")
        return None
    try:
        return float(text)
    except ValueError:
        err(field, f"'{text}' is not a number (use a dot for decimals)")
        return None


def _flag(text: str, field: str, err: Err) -> bool | None:
    word = text.lower()
    if not word or word in _TRUE:
        return True
    if word in _FALSE:
        return False
    err(field, f"'{text}' is not true or false")
    return None


def station_changes(existing: Mapping[str, Any], row: ImportRow) -> dict[str, tuple[Any, Any]]:
    """Fields of an existing station (a row with the same names) that the import would change."""
    new = {
        "name_en": row.name_en,
        "name_ur": row.name_ur,
        "district_code": row.district_code,
        "circle_code": row.circle_code,
        "lat": row.lat,
        "lon": row.lon,
        "sips": row.sips,
        "kind": row.kind,
    }
    return {k: (existing[k], v) for k, v in new.items() if existing[k] != v}
