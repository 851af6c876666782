"""Users, sessions and the signed-in principal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from server.errors import Forbidden
from server.structs import Base, Name

Role = Literal["admin", "reviewer", "inspector"]
# Whole-string, as structs.KEY_PATTERN: a bare `$` would let "admin\n" in beside "admin".
Username = Annotated[str, Meta(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$(?!\n)")]
Password = Annotated[str, Meta(min_length=8, max_length=256)]


def scope_sql(first: int = 1) -> str:
    """The filter of every scoped query (see Principal): `d` is the districts row of the object's
    station, $first..$first+2 are Principal.scope_args()."""
    return f"(${first}::bool OR d.id = ANY(${first + 1}::uuid[]) OR d.region_id = ANY(${first + 2}::uuid[]))"


# With the scope first ($1-$3), as most scoped queries have it.
SCOPE_SQL = scope_sql()
# Whether the districts and regions of user row `u` take in district row `d`: where an inspector can do
# the visits, a reviewer can look, an action's owner works. The role and `active` are the caller's to
# judge, since what they mean differs (an admin owns actions everywhere; only inspectors make visits).
COVERS_SQL = "(d.id = ANY(u.district_ids) OR d.region_id = ANY(u.region_ids))"


def readable_inspection_sql(first: int, own_at: int | None = None) -> str:
    """Whether inspection row `i`, at a station of district row `d`, is the caller's to read, with
    $first..$first+2 the caller's scope_args() and $own_at (else $first+3) own_id(): reviewers and admins read what
    their scope covers; an inspector reads their own inspections, wherever the station now is. A
    transfer, or a station moved to another district, must not strand work done before it: photos
    still on their way to a submitted inspection, a draft or a returned inspection to send again."""
    own = f"${own_at or first + 3}::uuid"
    scope = scope_sql(first)
    # Never NULL (callers negate it too): own is NULL exactly for reviewers and admins.
    return f"(({own} IS NULL AND {scope}) OR ({own} IS NOT NULL AND i.inspector_id = {own}))"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, and what part of the province they may see.

    Scoped queries filter in SQL with three parameters from `scope_args()`, always through SCOPE_SQL:
        ($1::bool OR d.id = ANY($2::uuid[]) OR d.region_id = ANY($3::uuid[]))
    where `d` is the districts row of the object's station. Admins see everything.
    """

    id: UUID
    username: str
    display_name: str
    role: Role
    region_ids: tuple[UUID, ...] = ()
    district_ids: tuple[UUID, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def scope_args(self) -> tuple[bool, list[UUID], list[UUID]]:
        return self.is_admin, list(self.district_ids), list(self.region_ids)

    def own_id(self) -> UUID | None:
        """The id readable_inspection_sql takes: an inspector's own, None for reviewers and admins."""
        return self.id if self.role == "inspector" else None

    def require(self, *roles: Role) -> Principal:
        if self.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return self


class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    username: str
    display_name: str
    role: Role
    region_ids: list[UUID]
    district_ids: list[UUID]
    active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The password was set by an admin (a new account, a reset, an imported account) and the person has
    # not chosen their own yet: the app takes them to its password screen. Nothing on the server is
    # refused meanwhile (an inspector offline for days must still send their work).
    password_must_change: bool = False


class LoginIn(Base):
    username: Annotated[str, Meta(min_length=1, max_length=256)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]
    # The token an earlier sign-in of this name on this device gave it (LoginOut.device).
    device: Annotated[str, Meta(min_length=1, max_length=256)] | None = None


class LoginOut(msgspec.Struct, kw_only=True):
    token: str
    user: UserOut
    expires_at: datetime
    # Kept by the device for this name and sent with its next sign-in: sign-ins from it are counted on
    # their own, so no one guessing at the name elsewhere can lock it out. Not a credential.
    device: str | None = None


class PasswordChange(Base):
    """A signed-in user's change of their own password. The current one is asked for again: a session
    left open on a borrowed or lost phone must not be enough to take the account over."""

    current_password: Annotated[str, Meta(min_length=1, max_length=256)]
    new_password: Password  # the rules of a password an admin sets


# What the single-user API takes as a username. The rule itself (rules.username_problem) is checked by
# the route, so that a refusal says it in words rather than as msgspec's regular expression; this
# bound only stops absurd input before it gets there.
UsernameText = Annotated[str, Meta(max_length=256, description="3 to 64 letters, digits and . _ @ -")]


class UserCreate(Base):
    username: UsernameText
    display_name: Name
    password: Password
    role: Role
    region_ids: list[UUID] = []
    district_ids: list[UUID] = []
    active: bool = True


class UserPatch(Base):
    display_name: Name | None = None
    password: Password | None = None
    role: Role | None = None
    region_ids: list[UUID] | None = None
    district_ids: list[UUID] | None = None
    active: bool | None = None


# The CSV import's replies (POST /api/v1/users/import, `muaina import-users`): a dry run lists who
# would be created; the real import says how many, and gives each new account's first password once.


class ImportedUser(msgspec.Struct, kw_only=True):
    row: int
    username: str
    display_name: str
    role: Role
    region_codes: list[str]
    district_codes: list[str]


class UserImportPreview(msgspec.Struct, kw_only=True):
    dry_run: bool = True
    created: list[ImportedUser]
    # Accounts already there with the same role and area: left exactly as they are.
    unchanged: list[str]
    rows: int


class NewPassword(msgspec.Struct, kw_only=True):
    username: str
    display_name: str
    # None only in a retried import's reply (`replayed`), for an account whose first password is no
    # longer unused (`in_use`: signed in, reset, deactivated): it is left as it is.
    password: str | None
    in_use: bool = False


class UserImportCounts(msgspec.Struct, kw_only=True):
    created: int
    unchanged: int
    rows: int
    # The only place these passwords ever appear: they are not stored (only their hashes), not
    # logged, not audited. The admin hands them out; each owner can change theirs under Settings.
    passwords: list[NewPassword]
    # The reply to a retry of an import already made (the same Idempotency-Key and file): its accounts,
    # with fresh first passwords for those still unused (server/auth/importer.py, replay).
    replayed: bool = False
