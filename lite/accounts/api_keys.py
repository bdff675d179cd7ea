"""API keys as Vexa's admin API shows them: the token format, expiry, and the JSON of a key.

Scoped keys look like Vexa's (`vxa_<first scope>_<32 letters and digits>`, about 190 random bits);
keys made without scopes keep Lite's format (`lite_<43 base64url characters>`, 256 bits) and full
access. Only a SHA-256 of each key is stored (lite.accounts.auth), so a key's secret is shown once,
when it is made. Where Vexa lists keys with their `token` (v0.10.7 `GET /admin/users/{id}`), Lite
shows a masked value instead: the key's prefix and `********`, which tells the kinds apart and keeps
a client that reads `token` as a string working, but cannot be used.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from lite.accounts.scopes import scope_list
from lite.catalog.records import ApiKey
from lite.errors import BadInput

KEY_PREFIX = "lite_"
SCOPED_PREFIX = "vxa_"
ALPHANUMERIC = string.ascii_letters + string.digits
MAX_EXPIRES_IN = 100 * 365 * 86_400
MAX_NAME = 200
Row = dict[str, Any]


class IssuedKey(msgspec.Struct, frozen=True):
    """A key just made, and its secret: the one moment the secret exists outside the client."""

    key: ApiKey
    token: str


def new_token(scopes: list[str]) -> str:
    if not scopes:
        return KEY_PREFIX + secrets.token_urlsafe(32)
    return f"{SCOPED_PREFIX}{scopes[0]}_" + "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))


def masked(key: ApiKey) -> str:
    scopes = scope_list(key.scopes)
    return (f"{SCOPED_PREFIX}{scopes[0]}_" if scopes else KEY_PREFIX) + "********"


def expiry(expires_in: int | None, now: datetime | None = None) -> str | None:
    """`expires_in` seconds from now as an ISO time (UTC), or None for a key that never expires."""
    if expires_in is None:
        return None
    whole = isinstance(expires_in, int) and not isinstance(expires_in, bool)
    if not whole or not 0 < expires_in <= MAX_EXPIRES_IN:
        raise BadInput(f"expires_in must be a number of seconds from 1 to {MAX_EXPIRES_IN}")
    return ((now or datetime.now(UTC)) + timedelta(seconds=expires_in)).isoformat(timespec="microseconds")


def expired(expires_at: str | None, now: datetime | None = None) -> bool:
    if not expires_at:
        return False
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return True  # an expiry nobody can read is not a licence to live forever
    if moment.tzinfo is None:  # Vexa writes naive UTC times
        moment = moment.replace(tzinfo=UTC)
    return moment <= (now or datetime.now(UTC))


def check_name(name: str | None) -> str | None:
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        raise BadInput(f"name must be text of at most {MAX_NAME} characters")
    return name


def key_out(key: ApiKey, token: str | None = None, with_token: bool = True) -> Row:
    """A key in Vexa's shape: `token` is the secret right after creation, else masked (or left out,
    as Vexa's newest `GET /admin/users/{id}/tokens` does)."""
    out: Row = {"id": key.id}
    if with_token:
        out["token"] = token or masked(key)
    out |= {
        "user_id": key.user_id,
        "scopes": scope_list(key.scopes),
        "name": key.name,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
    }
    return out
