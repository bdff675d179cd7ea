"""Users, API keys and the admin token.

API keys are 256-bit random strings, so a plain SHA-256 is a safe way to store them (no salt or
slow hash is needed for secrets nobody can guess); only the hash is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import sqlite3
import time
from pathlib import Path

from lite.accounts.keyfiles import ensure_secret
from lite.catalog.index import Index, Row
from lite.catalog.manifests import Catalog
from lite.clock import now_iso
from lite.errors import BadInput, Conflict, NotFound, Unauthorized
from lite.ids import new_id

log = logging.getLogger("lite.accounts.auth")

KEY_PREFIX = "lite_"
KEY_RECHECK_SECONDS = 5.0  # documented: a revoked key stops working on every replica within this
UNKNOWN_KEY_SECONDS = 2.0


def normalise_email(email: str) -> str:
    """Emails name one person whatever their case (`A@x.io` is `a@x.io`): stored and compared in
    lower case (the index compares case-insensitively too, for users stored before this rule)."""
    return email.strip().lower()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_admin_token(configured: str | None, data_dir: Path) -> str:
    """The admin secret: from ADMIN_API_TOKEN, else generated once into $DATA_DIR/admin-token."""
    return ensure_secret(configured, data_dir / "admin-token", "ADMIN_API_TOKEN")


class Auth:
    """Users and keys live in the index and, durably, in the storage catalog.

    With shared object storage (several replicas) an index hit is re-confirmed against storage at
    most every KEY_RECHECK_SECONDS, so a key revoked on one replica stops working on all of them
    within that time; a key unknown here is looked up in storage (a key made on another replica).
    """

    def __init__(self, index: Index, catalog: Catalog, admin_token: str, shared: bool) -> None:
        self.index = index
        self.catalog = catalog
        self.shared = shared
        self._admin = admin_token.encode()
        self._confirmed: dict[str, float] = {}
        self._unknown: dict[str, float] = {}

    def check_admin(self, presented: str | None) -> None:
        if not presented or not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), self._admin):
            raise Unauthorized("a valid X-Admin-API-Key header is required")

    async def user_for_key(self, key: str | None) -> int:
        if not key:
            raise Unauthorized("an API key is required (X-API-Key header or Authorization: Bearer)")
        key_hash = hash_key(key)
        user_id = self.index.user_for_key_hash(key_hash)
        if user_id is not None and (not self.shared or await self._still_valid(key_hash)):
            return user_id
        if user_id is None and self.shared and self._unknown.get(key_hash, 0) < time.monotonic():
            row = await self.catalog.load_api_key(key_hash)
            if row is not None:
                self._confirmed[key_hash] = time.monotonic()
                return int(row["user_id"])
            self._remember_unknown(key_hash)
        raise Unauthorized("the API key is not valid")

    async def key_id_for(self, key: str) -> int:
        """The id of an API key the request was already authenticated with (playback tokens name it)."""
        key_hash = hash_key(key)
        row = self.index.api_key_by_hash(key_hash)
        if row is None and self.shared:
            row = await self.catalog.load_api_key(key_hash)
        if row is None:
            raise Unauthorized("the API key is not valid")
        return int(row["id"])

    async def user_for_key_id(self, key_id: int) -> int | None:
        """The owner of API key `key_id` while it is not revoked, on this replica or any other."""
        row = self.index.get_api_key(key_id)
        if row is not None:
            live = not self.shared or await self._still_valid(row["key_hash"])
            return int(row["user_id"]) if live else None
        if not self.shared:
            return None
        key_hash = await self.catalog.api_key_hash(key_id)
        found = await self.catalog.load_api_key(key_hash) if key_hash else None
        return int(found["user_id"]) if found else None

    async def _still_valid(self, key_hash: str) -> bool:
        if time.monotonic() - self._confirmed.get(key_hash, -1e9) < KEY_RECHECK_SECONDS:
            return True
        if await self.catalog.api_key_exists(key_hash):
            self._confirmed[key_hash] = time.monotonic()
            return True
        self.index.delete_api_key_by_hash(key_hash)  # revoked on another replica
        self._confirmed.pop(key_hash, None)
        return False

    def _remember_unknown(self, key_hash: str) -> None:
        # Wrong keys must not cost a storage round trip each: remember misses briefly, boundedly.
        if len(self._unknown) > 10_000:
            self._unknown.clear()
        self._unknown[key_hash] = time.monotonic() + UNKNOWN_KEY_SECONDS

    async def create_user(self, email: str, name: str | None) -> Row:
        email = normalise_email(email)
        if not email or "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
            raise BadInput("email must be an address like person@example.com")
        if name is not None and len(name) > 200:
            raise BadInput("name must be at most 200 characters")
        if self.shared:
            await self.sync_users()
        if self.index.user_by_email(email):
            raise Conflict("a user with this email already exists")
        user = {"id": new_id(), "email": email, "name": name, "created_at": now_iso()}
        await self.catalog.save_user(user)
        try:
            self.index.insert_user(user)
        except sqlite3.IntegrityError:
            raise Conflict("a user with this email already exists") from None
        return user

    async def adopt_user(self, user_id: int) -> None:
        """A user another system vouches for (a Vexa MeetingToken names its user): known, or created
        with that id and a placeholder email, so that a recording never waits for an account."""
        if self.index.get_user(user_id) is not None:
            return
        if self.shared:
            await self.sync_users()
            if self.index.get_user(user_id) is not None:
                return
        user = {"id": user_id, "email": f"vexa-user-{user_id}@users.invalid", "name": f"Vexa user {user_id}",
                "created_at": now_iso()}  # fmt: skip
        await self.catalog.save_user(user)
        with contextlib.suppress(sqlite3.IntegrityError):  # two first chunks at once
            self.index.insert_user(user)
        log.info("created user %s named by a meeting token", user_id)

    async def user_by_email(self, email: str) -> Row:
        if self.shared:
            await self.sync_users()
        user = self.index.user_by_email(normalise_email(email))
        if user is None:
            raise NotFound(f"no user has the email {email.strip()[:320]!r}")
        return user

    async def sync_users(self) -> None:
        """Users created on other replicas."""
        for user in await self.catalog.load_users():
            self.index.upsert_user(user)

    async def list_users(self) -> list[Row]:
        if self.shared:
            await self.sync_users()
        return self.index.list_users()

    async def create_key(self, user_id: int) -> Row:
        if self.index.get_user(user_id) is None and not (self.shared and await self._known_user(user_id)):
            raise NotFound("no such user")
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {"id": new_id(), "user_id": user_id, "key_hash": hash_key(token), "created_at": now_iso()}
        await self.catalog.save_api_key(row)
        self.index.insert_api_key(row)
        self._confirmed[row["key_hash"]] = time.monotonic()
        return {"id": row["id"], "token": token, "user_id": user_id, "created_at": row["created_at"]}

    async def _known_user(self, user_id: int) -> bool:
        await self.sync_users()
        return self.index.get_user(user_id) is not None

    async def revoke_key(self, key_id: int) -> None:
        row = self.index.get_api_key(key_id)
        key_hash = row["key_hash"] if row else await self.catalog.api_key_hash(key_id)
        if key_hash is None:
            raise NotFound("no such token")
        await self.catalog.delete_api_key(key_id, key_hash)
        self.index.delete_api_key(key_id)
        self._confirmed.pop(key_hash, None)
