"""The one policy every request body follows, and the constraint aliases capabilities share.

Request bodies are decoded straight into these Structs, so the policy lives here once: keyword-only
construction (no positional mix-ups as fields are added) and unknown fields rejected, which is what
stops a client from smuggling `score`, `status` or `inspector_id` into a body (mass assignment).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# A human-facing name: never empty, short enough for a list row or a report heading.
Name = Annotated[str, Meta(min_length=1, max_length=200)]

# What one inspection document may carry (server/inspections/models.py), and so what a template may
# ask of one (server/templates/rules.py): a template asking for more would publish, and no inspection
# of it could ever be submitted. Photos per answer: generous for evidence of one item, small enough
# that one answer cannot reference a whole album. Answers: one per item of the template at most.
MAX_PHOTOS_PER_ITEM = 50
MAX_ITEMS = 2000

# A stable machine key (template, section, item, option). Keys end up in URLs, CSV column names and
# score overrides, so they are restricted to lower-case ASCII that survives all of them unchanged.
# The pattern must hold for the whole string: a bare `$` also matches before a final newline, which let
# "staffed\n" in beside "staffed". `(?!\n)` closes that in Python (msgspec searches with the pattern;
# match it with fullmatch elsewhere) and means the same to the OpenAPI document's readers, who apply it
# as ECMAScript, where `\Z` is a literal Z or an error.
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$(?!\n)"
Key = Annotated[str, Meta(pattern=KEY_PATTERN)]

# Longer bilingual prose such as an item's label or help. The bound is generous for a checklist
# question but stops a template from carrying megabytes of text into every phone's offline bundle.
Prose = Annotated[str, Meta(max_length=2000)]


# The instants a phone may report (when an inspection began or ended, when a photo was taken): far
# wider than any phone clock, even one reset to 1970 or set decades ahead, and clear of the edges that
# cannot be stored faithfully: year 1 in UTC+14 cannot be converted to UTC, and asyncpg writes the
# first and last instants of datetime as -infinity and infinity, which come back without a zone and
# make every later reply, export or report of the row fail.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(3000, 1, 1, tzinfo=UTC)
IMPLAUSIBLE_MOMENT = "must be between the years 1900 and 2999"


def plausible_moment(moment: datetime) -> bool:
    """Whether a zone-aware instant from a device is one the app stores (see _EARLIEST)."""
    return _EARLIEST <= moment < _LATEST


# How long a phone may hold an inspection offline before sending it. A time the phone tells (when the
# inspection was started or finished) is believed when it lies in the PHONE_CLOCK_DAYS before the
# server received the inspection (or up to PHONE_CLOCK_AHEAD_MINUTES after: a clock a little fast);
# otherwise the phone's clock was set wrong, and the server's time of receipt stands in for it
# (phone_time; an inspection's `made_at`, set by the database at its first submission, applies the
# same rule: schema/0016_made_at.sql).
PHONE_CLOCK_DAYS = 30
PHONE_CLOCK_AHEAD_MINUTES = 60


_HELD = timedelta(days=PHONE_CLOCK_DAYS)
_AHEAD = timedelta(minutes=PHONE_CLOCK_AHEAD_MINUTES)


def phone_time(told: datetime | None, received: datetime) -> datetime:
    """`told` if a phone's clock could have been right about it, else `received` (PHONE_CLOCK_DAYS)."""
    return told if told is not None and received - _HELD <= told <= received + _AHEAD else received


def phone_clock_off(
    started: datetime | None, finished: datetime | None, first_received: datetime, last_received: datetime
) -> bool:
    """Whether the start and finish a phone told of an inspection cannot both be right: one outside what
    phone_time believes (from PHONE_CLOCK_DAYS before the server first had the inspection to a little
    after it last had it from the inspector: a correction sent weeks later is finished later), or a
    finish before the start. A reviewer is told, rather than shown "Started 1 May 2031" as a fact."""
    earliest, latest = first_received - _HELD, last_received + _AHEAD
    for told in (started, finished):
        if told is not None and not earliest <= told <= latest:
            return True
    return started is not None and finished is not None and finished < started


def inspection_clock_off(
    started: datetime | None,
    finished: datetime | None,
    created_at: datetime,
    submitted_at: datetime | None,
    updated_at: datetime,
) -> bool:
    """phone_clock_off of a stored inspection: the server first had it at created_at, and last had it
    from the inspector when last submitted, else (a draft) when last saved. Not updated_at alone, which
    a reviewer's decision moves too: approving would widen the window and take the warning away."""
    return phone_clock_off(started, finished, created_at, submitted_at or updated_at)


class LocalText(Base):
    """A text shown to users in both languages of the app."""

    # Blank strings decode here on purpose: whether a blank is acceptable is a rule of the
    # capability that uses the text, and rules report every problem at once instead of the first.
    en: Prose
    ur: Prose
