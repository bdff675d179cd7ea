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
from lite.accounts.api_keys import IssuedKey, check_name, expired, expiry, new_token
from lite.accounts.keyfiles import ensure_secret
from lite.accounts.scopes import Need
from lite.accounts.users import UserAccounts, normalise_email
from lite.catalog.index import Index
from lite.catalog.manifests import Catalog
from lite.catalog.records import ApiKey
from lite.catalog.shared_bucket import KEY_RECHECK_SECONDS
from lite.clock import now_iso
from lite.errors import Forbidden, NotFound, Unauthorized
from lite.ids import new_id

__all__ = ["KEY_RECHECK_SECONDS", "Auth", "ensure_admin_token", "hash_key", "normalise_email"]

LAST_USED_SECONDS = 60.0  # last_used_at is written at most this often per key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_admin_token(configured: str | None, data_dir: Path) -> str:
    """The admin secret: from ADMIN_API_TOKEN, else generated once into $DATA_DIR/admin-token."""
    return ensure_secret(configured, data_dir / "admin-token", "ADMIN_API_TOKEN")


class Auth(UserAccounts):
    """Users and keys live in the index and, durably, in the storage catalog.

    What other replicas may have changed is the catalog's to answer (`catalog.replicas`,
    lite.catalog.replicas): whether an index hit is still stored (re-confirmed at most every
    KEY_RECHECK_SECONDS on a shared bucket, so a key revoked on one replica stops working on all of
    them within that time), and a key unknown here (made on another replica). On a private volume
    the index is the whole truth.
    """

    def __init__(self, index: Index, catalog: Catalog, admin_token: str) -> None:
        self.index = index
        self.catalog = catalog
        self.replicas = catalog.replicas
        self._admin = admin_token.encode()
        self._used: dict[int, float] = {}

    def check_admin(self, presented: str | None) -> None:
        if not presented or not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), self._admin):
            raise Unauthorized("a valid X-Admin-API-Key header is required")

    async def user_for_key(self, key: str | None, need: Need = "read") -> int:
        """The owner of a live key whose scopes allow `need`: else 401 (no, unknown, revoked or
        expired key) or 403 (the key's scopes do not allow it)."""
        found = await self._live_key(key)
        scope_rules.check(found.scopes, need)
        return found.user_id

    async def _live_key(self, key: str | None) -> ApiKey:
        if not key:
            raise Unauthorized("an API key is required (X-API-Key header or Authorization: Bearer)")
        key_hash = hash_key(key)
        record = self.index.api_key_by_hash(key_hash)
        # The hot path (every /raw request): on a private volume both answers are sync and trivial.
        if record is not None and (
            self.replicas.key_confirmed_recently(key_hash) or await self.replicas.confirm_key(key_hash)
        ):
            return self._in_date(record)
        if record is None and (found := await self.replicas.find_key(key_hash)) is not None:
            return self._in_date(found)
        raise Unauthorized("the API key is not valid")

    def _in_date(self, record: ApiKey) -> ApiKey:
        if expired(record.expires_at):
            raise Unauthorized("the API key has expired")
        key_id, now = record.id, time.monotonic()
        if now - self._used.get(key_id, -1e9) >= LAST_USED_SECONDS:
            if len(self._used) > 10_000:
                self._used.clear()
            self._used[key_id] = now
            self.index.key_used(key_id, now_iso())
        return record

    async def key_id_for(self, key: str) -> int:
        """The id of an API key the request was already authenticated with (playback tokens name it)."""
        key_hash = hash_key(key)
        record = self.index.api_key_by_hash(key_hash) or await self.replicas.find_key(key_hash)
        if record is None:
            raise Unauthorized("the API key is not valid")
        return record.id

    async def user_for_key_id(self, key_id: int) -> int | None:
        """The owner of API key `key_id` while it is not revoked nor expired and may read, on this
        replica or any other (what a playback token issued with that key reads as)."""
        record = self.index.get_api_key(key_id)
        if record is not None:
            key_hash = record.key_hash
            confirmed = self.replicas.key_confirmed_recently(key_hash)
            if not confirmed and not await self.replicas.confirm_key(key_hash):
                return None
        else:
            record = await self.replicas.find_key_by_id(key_id)
        if record is None or expired(record.expires_at):
            return None
        try:
            scope_rules.check(record.scopes, "read")
        except Forbidden:
            return None
        return record.user_id

    async def create_key(
        self,
        user_id: int,
        scopes: list[str] | None = None,
        name: str | None = None,
        expires_in: int | None = None,
    ) -> IssuedKey:
        """A new key, its secret shown only in this answer. No scopes: a legacy full-access `lite_`
        key (what Lite always made, and still makes when asked without scopes)."""
        if not await self._known_user(user_id):
            raise NotFound("User not found")
        token = new_token(scopes or [])
        key = ApiKey(
            id=new_id(),
            user_id=user_id,
            key_hash=hash_key(token),
            created_at=now_iso(),
            scopes=",".join(scopes or []),
            name=check_name(name),
            expires_at=expiry(expires_in),
        )
        await self.catalog.save_api_key(key)
        self.index.insert_api_key(key)
        self.replicas.key_saved(key.key_hash)
        return IssuedKey(key, token)

    async def keys_of(self, user_id: int) -> list[ApiKey]:
        """A user's keys (hashes only, no secrets), including keys made or revoked on other replicas."""
        await self.replicas.sync_keys()
        return self.index.api_keys_of(user_id)

    async def revoke_key(self, key_id: int) -> None:
        record = self.index.get_api_key(key_id)
        key_hash = record.key_hash if record else await self.catalog.api_key_hash(key_id)
        if key_hash is None:
            raise NotFound("Token not found")
        await self.catalog.delete_api_key(key_id, key_hash)
        self.index.delete_api_key(key_id)
        self.replicas.key_revoked(key_hash)
