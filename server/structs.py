"""The one policy every request body follows, and the constraint aliases capabilities share.

Request bodies are decoded straight into these Structs, so the policy lives here once: keyword-only
construction (no positional mix-ups as fields are added) and unknown fields rejected, which is what
stops a client from smuggling `score`, `status` or `inspector_id` into a body (mass assignment).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class Base(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# A human-facing name: never empty, short enough for a list row or a report heading.
Name = Annotated[str, Meta(min_length=1, max_length=200)]

# A stable machine key (template, section, item, option). Keys end up in URLs, CSV column names and
# score overrides, so they are restricted to lower-case ASCII that survives all of them unchanged.
Key = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

# Longer bilingual prose such as an item's label or help. The bound is generous for a checklist
# question but stops a template from carrying megabytes of text into every phone's offline bundle.
Prose = Annotated[str, Meta(max_length=2000)]


class LocalText(Base):
    """A text shown to users in both languages of the app."""

    # Blank strings decode here on purpose: whether a blank is acceptable is a rule of the
    # capability that uses the text, and rules report every problem at once instead of the first.
    en: Prose
    ur: Prose
