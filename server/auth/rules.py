"""Passwords and tokens: no I/O here, only the cryptography and the policy."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with the library's RFC 9106 "low memory" profile: strong, and quick enough that a login
# burst on two cores does not starve the event loop's worker threads.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the username is unknown makes both failures cost the same time,
    so response timing does not reveal which usernames exist. Made at the first such sign-in, not at
    import: hashing takes about 0.2 s of a core, which every process (the CLI's too) paid at start."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# Who an account may be ----------------------------------------------------------------------------
# Said in words wherever a username is refused (the single-user API, the CSV import, the PWA's own
# translation of it): a regular expression is no answer for the IT officer typing one.
USERNAME_RULE = "must be 3 to 64 letters, digits and . _ @ -, beginning with a letter or digit"
# ASCII only, on purpose: sign-in lowers the name to find the account, and Python and PostgreSQL
# lower other letters differently (see AuthController.login).
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,63}")
DISPLAY_NAME_MAX = 200


def username_problem(name: str) -> str | None:
    return None if _USERNAME.fullmatch(name) else USERNAME_RULE


def display_name_problem(name: str) -> str | None:
    """What is wrong with a display name once its surrounding spaces are taken off, if anything."""
    if not name:
        return "must not be blank"
    if len(name) > DISPLAY_NAME_MAX:
        return f"must be at most {DISPLAY_NAME_MAX} characters"
    if "\x00" in name:
        return "must not contain the NUL character (U+0000)"
    return None


def scope_problem(role: str, region_ids: Sequence[object], district_ids: Sequence[object]) -> str | None:
    """A reviewer or inspector with no region and no district would see nothing and serve nowhere."""
    if role != "admin" and not region_ids and not district_ids:
        return f"a {role} needs at least one region or district"
    return None


# Letters and digits nobody mistakes for another when read off a printed sheet: no 0/o, 1/l/i.
_PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"


def new_password() -> str:
    """A first password to hand to a new account's owner: four groups of four (about 79 bits), which
    can be read out over the telephone and typed on a phone without the shift key."""
    return "-".join("".join(secrets.choice(_PASSWORD_LETTERS) for _ in range(4)) for _ in range(4))
