"""Users and API keys in the durable catalog (see lite.catalog.manifests for the layout).

A mixin of `Catalog`: the part that accounts use, kept apart so each file stays readable. Records
(lite.catalog.records) are converted to and from their JSON documents here and in
lite.catalog.quarantine only; the documents keep the format older versions wrote and read.
"""

from __future__ import annotations

import json
import logging

from lite.catalog.index import Index
from lite.catalog.layout import api_key_id_key, api_key_key, dump, user_key
from lite.catalog.parallel import gather_limited
from lite.catalog.quarantine import Quarantine, Unreadable, parse_api_key, parse_user
from lite.catalog.records import ApiKey, User
from lite.catalog.replicas import Replicas
from lite.errors import NotFound
from lite.storage import Storage

log = logging.getLogger("lite.catalog.manifests")


class AccountManifests:
    storage: Storage
    index: Index
    quarantine: Quarantine
    replicas: Replicas

    # users and keys

    async def save_user(self, user: User) -> None:
        # Every field, keys sorted (dump): the file older versions wrote for a user made by the API.
        await self.storage.put_bytes(user_key(user.id), dump(user.columns()))

    async def load_users(self) -> list[User]:
        """Every readable user; an unreadable one is moved aside (lite.catalog.quarantine), not skipped."""
        keys = [info.key async for info in self.storage.list("users/")]
        users = []
        for key, data in zip(
            keys, await gather_limited([lambda k=k: self._read_or_none(k) for k in keys]), strict=True
        ):
            if data is None:
                continue  # deleted (or moved aside by another replica) since the listing
            try:
                users.append(parse_user(data))
            except Unreadable as exc:
                await self.quarantine.move_aside(key, data, str(exc))
        return users

    async def _read_or_none(self, key: str) -> bytes | None:
        try:
            return await self.storage.read_bytes(key)
        except NotFound:
            return None

    async def refresh_user(self, user_id: int) -> None:
        """The user as storage has it now, when other replicas may have changed it; else nothing."""
        await self.replicas.stored_user(user_id)

    async def load_user(self, user_id: int) -> User | None:
        """One user as stored (changed on another replica, perhaps), indexed too; None if absent."""
        data = await self._read_or_none(user_key(user_id))
        if data is None:
            return None
        try:
            user = parse_user(data)
        except Unreadable as exc:
            await self.quarantine.move_aside(user_key(user_id), data, str(exc))
            return None
        self.index.upsert_user(user)
        return user

    async def save_api_key(self, key: ApiKey) -> None:
        await self.storage.put_bytes(api_key_id_key(key.id), dump({"key_hash": key.key_hash}))
        # last_used_at stays in the index: a storage write per request would cost too much. The hash
        # is the file's name; scopes are a list in the file.
        scopes = [s for s in key.scopes.split(",") if s]
        document = {"id": key.id, "user_id": key.user_id, "created_at": key.created_at, "scopes": scopes,
                    "name": key.name, "expires_at": key.expires_at}  # fmt: skip
        await self.storage.put_bytes(api_key_key(key.key_hash), dump(document))

    async def delete_api_key(self, key_id: int, key_hash: str) -> None:
        await self.storage.delete(api_key_key(key_hash))  # auth stops here, on every replica
        await self.storage.delete(api_key_id_key(key_id))

    async def api_key_hash(self, key_id: int) -> str | None:
        try:
            return str(json.loads(await self.storage.read_bytes(api_key_id_key(key_id)))["key_hash"])
        except NotFound:
            return None

    async def load_api_key(self, key_hash: str) -> ApiKey | None:
        """The key as stored, with its user indexed too: how a key made on another replica works here."""
        try:
            key = parse_api_key(await self.storage.read_bytes(api_key_key(key_hash)), key_hash)
        except NotFound:
            return None
        except Unreadable as exc:
            log.error("api-keys/%s.json is unreadable (%s): the key is refused", key_hash, exc)
            return None
        if self.index.get_user(key.user_id) is None:
            self.index.upsert_user(parse_user(await self.storage.read_bytes(user_key(key.user_id))))
        self.index.upsert_api_key(key)
        return key

    async def api_key_hashes(self) -> set[str]:
        """The hashes of every stored key: one listing (a page per 1,000 keys), no reads."""
        return {
            info.key.removeprefix("api-keys/").removesuffix(".json")
            async for info in self.storage.list("api-keys/")
            if info.key.endswith(".json")
        }

    async def api_key_exists(self, key_hash: str) -> bool:
        try:
            await self.storage.stat(api_key_key(key_hash))
        except NotFound:
            return False
        return True
