"""The index's queries about users and API keys. A part of `Index` (lite.catalog.index), kept apart
to stay small.

Records go in and come out (lite.catalog.records); rows are converted here only. A user's `data` is
JSON text in the index and an object in a `User`; an API key's `scopes` is comma-separated text in
both ('' = a key made before scopes: full access).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from lite.catalog.records import ApiKey, User
from lite.catalog.tables import Row, Tables

KEY_COLUMNS = ("id", "user_id", "key_hash", "created_at", "scopes", "name", "expires_at")


def user_columns(user: User) -> Row:
    """A user as the index keeps it: `data` as compact JSON text."""
    return user.columns() | {"data": json.dumps(user.data, separators=(",", ":"))}


def key_columns(key: ApiKey) -> Row:
    # last_used_at is the index's own (never in storage): an upsert from storage keeps its value.
    return {column: getattr(key, column) for column in KEY_COLUMNS}


def _data(text: object) -> dict[str, Any]:
    """A user's `data` column; text that is not a JSON object reads as {} (as it always has)."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _user(row: Row) -> User:
    return msgspec.convert(row | {"data": _data(row.get("data"))}, User)  # other columns are ignored


class AccountQueries(Tables):
    def insert_user(self, user: User) -> None:
        self.db["users"].insert(user_columns(user))

    def upsert_user(self, user: User) -> None:
        self.db["users"].upsert(user_columns(user), pk="id")

    def user_by_email(self, email: str) -> User | None:
        # Case-insensitive: users stored before emails were lower-cased keep their spelling.
        sql = "SELECT * FROM users WHERE email = ? COLLATE NOCASE ORDER BY email = ? DESC LIMIT 1"
        row = self._one(sql, (email, email))
        return None if row is None else _user(row)

    def get_user(self, user_id: int) -> User | None:
        row = self._one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    def list_users(self, skip: int = 0, limit: int = -1) -> list[User]:
        rows = self._all("SELECT * FROM users ORDER BY created_at, id LIMIT ? OFFSET ?", (limit, skip))
        return [_user(row) for row in rows]

    def insert_api_key(self, key: ApiKey) -> None:
        self.db["api_keys"].insert(key_columns(key))

    def upsert_api_key(self, key: ApiKey) -> None:
        self.db["api_keys"].upsert(key_columns(key), pk="id")

    def get_api_key(self, key_id: int) -> ApiKey | None:
        # Hot: a playback token names its key, and <audio>/<video> send one with every Range.
        sql = "SELECT * FROM api_keys WHERE id = ?"
        return self._hot(("key id", key_id), lambda: self._record(ApiKey, sql, (key_id,)))

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        sql = "SELECT * FROM api_keys WHERE key_hash = ?"
        return self._hot(("key", key_hash), lambda: self._record(ApiKey, sql, (key_hash,)))

    def api_key_hashes(self) -> set[str]:
        return {str(row[0]) for row in self.db.execute("SELECT key_hash FROM api_keys").fetchall()}

    def api_keys_of(self, user_id: int) -> list[ApiKey]:
        sql = "SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, id"
        return self._records(ApiKey, sql, (user_id,))

    def key_used(self, key_id: int, at: str) -> None:
        self.db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at, key_id))

    def delete_api_key(self, key_id: int) -> bool:
        return self.db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount > 0

    def delete_api_key_by_hash(self, key_hash: str) -> None:
        self.db.execute("DELETE FROM api_keys WHERE key_hash = ?", (key_hash,))
