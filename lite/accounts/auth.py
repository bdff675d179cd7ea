"""API keys and the admin token; users are lite.accounts.users, the key JSON lite.accounts.api_keys.

API keys are random strings of 190 bits or more, so a plain SHA-256 is a safe way to store them (no
salt or slow hash is needed for secrets nobody can guess); only the hash is kept. A key's scopes
decide what it may do (lite.accounts.scopes); a key past its `expires_at` is refused (401)
everywhere. `last_used_at` is kept in the index only, written at most once a minute per key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

from lite.accounts import scopes as scope_rules
from lite.accounts.api_keys import check_name, expired, expiry, key_out, new_token
from lite.accounts.keyfiles import ensure_secret
from lite.accounts.scopes import Need
from lite.accounts.users import UserAccounts, normalise_email
from lite.catalog.index import Index, Row
from lite.catalog.manifests import Catalog
from lite.clock import now_iso
from lite.errors import Forbidden, NotFound, Unauthorized
from lite.ids import new_id

__all__ = ["Auth", "ensure_admin_token", "hash_key", "normalise_email"]

KEY_RECHECK_SECONDS = 5.0  # documented: a revoked key stops working on every replica within this
UNKNOWN_KEY_SECONDS = 2.0
LAST_USED_SECONDS = 60.0  # last_used_at is written at most this often per key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_admin_token(configured: str | None, data_dir: Path) -> str:
    """The admin secret: from ADMIN_API_TOKEN, else generated once into $DATA_DIR/admin-token."""
    return ensure_secret(configured, data_dir / "admin-token", "ADMIN_API_TOKEN")


class Auth(UserAccounts):
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
        self._used: dict[int, float] = {}

    def check_admin(self, presented: str | None) -> None:
        if not presented or not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), self._admin):
            raise Unauthorized("a valid X-Admin-API-Key header is required")

    async def user_for_key(self, key: str | None, need: Need = "read") -> int:
        """The owner of a live key whose scopes allow `need`: else 401 (no, unknown, revoked or
        expired key) or 403 (the key's scopes do not allow it)."""
        row = await self._live_key(key)
        scope_rules.check(row.get("scopes"), need)
        return int(row["user_id"])

    async def _live_key(self, key: str | None) -> Row:
        if not key:
            raise Unauthorized("an API key is required (X-API-Key header or Authorization: Bearer)")
        key_hash = hash_key(key)
        row = self.index.api_key_by_hash(key_hash)
        if row is not None and (not self.shared or await self._still_valid(key_hash)):
            return self._in_date(row)
        if row is None and self.shared and self._unknown.get(key_hash, 0) < time.monotonic():
            found = await self.catalog.load_api_key(key_hash)
            if found is not None:
                self._confirmed[key_hash] = time.monotonic()
                return self._in_date(found)
            self._remember_unknown(key_hash)
        raise Unauthorized("the API key is not valid")

    def _in_date(self, row: Row) -> Row:
        if expired(row.get("expires_at")):
            raise Unauthorized("the API key has expired")
        key_id, now = int(row["id"]), time.monotonic()
        if now - self._used.get(key_id, -1e9) >= LAST_USED_SECONDS:
            if len(self._used) > 10_000:
                self._used.clear()
            self._used[key_id] = now
            self.index.key_used(key_id, now_iso())
        return row

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
        """The owner of API key `key_id` while it is not revoked nor expired and may read, on this
        replica or any other (what a playback token issued with that key reads as)."""
        row = self.index.get_api_key(key_id)
        if row is not None:
            if self.shared and not await self._still_valid(row["key_hash"]):
                return None
        elif self.shared:
            key_hash = await self.catalog.api_key_hash(key_id)
            row = await self.catalog.load_api_key(key_hash) if key_hash else None
        if row is None or expired(row.get("expires_at")):
            return None
        try:
            scope_rules.check(row.get("scopes"), "read")
        except Forbidden:
            return None
        return int(row["user_id"])

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

    async def create_key(
        self,
        user_id: int,
        scopes: list[str] | None = None,
        name: str | None = None,
        expires_in: int | None = None,
    ) -> Row:
        """A new key, its secret shown only in this answer. No scopes: a legacy full-access `lite_`
        key (what Lite always made, and still makes when asked without scopes)."""
        if not await self._known_user(user_id):
            raise NotFound("User not found")
        token = new_token(scopes or [])
        row = {"id": new_id(), "user_id": user_id, "key_hash": hash_key(token), "created_at": now_iso(),
               "scopes": ",".join(scopes or []), "name": check_name(name), "expires_at": expiry(expires_in),
               "last_used_at": None}  # fmt: skip
        await self.catalog.save_api_key(row)
        self.index.insert_api_key(row)
        self._confirmed[row["key_hash"]] = time.monotonic()
        return key_out(row, token)

    async def keys_of(self, user_id: int) -> list[Row]:
        """A user's keys (rows without secrets), including keys made or revoked on other replicas."""
        if self.shared:
            await self.sync_keys()
        return self.index.api_keys_of(user_id)

    async def sync_keys(self) -> None:
        """The index's keys made to agree with storage: one listing, a read per key new here."""
        stored = await self.catalog.api_key_hashes()
        for key_hash in stored:
            if self.index.api_key_by_hash(key_hash) is None:
                await self.catalog.load_api_key(key_hash)
        for key_hash in self.index.api_key_hashes() - stored:
            self.index.delete_api_key_by_hash(key_hash)
            self._confirmed.pop(key_hash, None)

    async def revoke_key(self, key_id: int) -> None:
        row = self.index.get_api_key(key_id)
        key_hash = row["key_hash"] if row else await self.catalog.api_key_hash(key_id)
        if key_hash is None:
            raise NotFound("Token not found")
        await self.catalog.delete_api_key(key_id, key_hash)
        self.index.delete_api_key(key_id)
        self._confirmed.pop(key_hash, None)
