"""The index's queries about users and API keys. A part of `Index` (lite.catalog.index), kept apart
to stay small.

Rows are the index's own: a user's `data` is JSON text here (lite.accounts.users.user_data reads
it), an API key's `scopes` a comma-separated text ('' = a key made before scopes: full access).
"""

from __future__ import annotations

import json

from lite.catalog.tables import Row, Tables

USER_COLUMNS = ("id", "email", "name", "created_at", "image_url", "max_concurrent_bots", "data")
KEY_COLUMNS = ("id", "user_id", "key_hash", "created_at", "scopes", "name", "expires_at")


def user_columns(user: Row) -> Row:
    """A user document (as stored in `users/<id>.json`) as the index keeps it."""
    data = user.get("data")
    return {
        "id": user["id"],
        "email": user["email"],
        "name": user.get("name"),
        "created_at": user["created_at"],
        "image_url": user.get("image_url"),
        "max_concurrent_bots": user.get("max_concurrent_bots", 3),
        "data": data if isinstance(data, str) else json.dumps(data or {}, separators=(",", ":")),
    }


def key_columns(key: Row) -> Row:
    scopes = key.get("scopes") or ""
    return {
        "id": key["id"],
        "user_id": key["user_id"],
        "key_hash": key["key_hash"],
        "created_at": key["created_at"],
        "scopes": scopes if isinstance(scopes, str) else ",".join(scopes),
        "name": key.get("name"),
        "expires_at": key.get("expires_at"),
    }


class AccountQueries(Tables):
    def insert_user(self, user: Row) -> None:
        self.db["users"].insert(user_columns(user))

    def upsert_user(self, user: Row) -> None:
        self.db["users"].upsert(user_columns(user), pk="id")

    def user_by_email(self, email: str) -> Row | None:
        # Case-insensitive: users stored before emails were lower-cased keep their spelling.
        sql = "SELECT * FROM users WHERE email = ? COLLATE NOCASE ORDER BY email = ? DESC LIMIT 1"
        return self._one(sql, (email, email))

    def get_user(self, user_id: int) -> Row | None:
        return self._one("SELECT * FROM users WHERE id = ?", (user_id,))

    def list_users(self, skip: int = 0, limit: int = -1) -> list[Row]:
        return self._all("SELECT * FROM users ORDER BY created_at, id LIMIT ? OFFSET ?", (limit, skip))

    def insert_api_key(self, key: Row) -> None:
        self.db["api_keys"].insert(key_columns(key))

    def upsert_api_key(self, key: Row) -> None:
        # last_used_at is not among the columns: an upsert from storage keeps the index's value.
        self.db["api_keys"].upsert(key_columns(key), pk="id")

    def get_api_key(self, key_id: int) -> Row | None:
        return self._one("SELECT * FROM api_keys WHERE id = ?", (key_id,))

    def api_key_by_hash(self, key_hash: str) -> Row | None:
        return self._one("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,))

    def api_key_hashes(self) -> set[str]:
        return {str(row[0]) for row in self.db.execute("SELECT key_hash FROM api_keys").fetchall()}

    def api_keys_of(self, user_id: int) -> list[Row]:
        return self._all("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id", (user_id,))

    def key_used(self, key_id: int, at: str) -> None:
        self.db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at, key_id))

    def delete_api_key(self, key_id: int) -> bool:
        return self.db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0

    def delete_api_key_by_hash(self, key_hash: str) -> None:
        self.db.execute("DELETE FROM api_keys WHERE key_hash = ?", (key_hash,))
