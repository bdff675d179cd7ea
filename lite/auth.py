"""Users, API keys and the admin token.

API keys are 256-bit random strings, so a plain SHA-256 is a safe way to store them (no salt or
slow hash is needed for secrets nobody can guess); only the hash is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from pathlib import Path

from lite.clock import now_iso
from lite.errors import BadInput, Conflict, NotFound, Unauthorized
from lite.ids import new_id
from lite.index import Index, Row
from lite.keyfiles import ensure_secret

KEY_PREFIX = "lite_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_admin_token(configured: str | None, data_dir: Path) -> str:
    """The admin secret: from ADMIN_API_TOKEN, else generated once into $DATA_DIR/admin-token."""
    return ensure_secret(configured, data_dir / "admin-token", "ADMIN_API_TOKEN")


class Auth:
    def __init__(self, index: Index, admin_token: str) -> None:
        self.index = index
        self._admin = admin_token.encode()

    def check_admin(self, presented: str | None) -> None:
        if not presented or not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), self._admin):
            raise Unauthorized("a valid X-Admin-API-Key header is required")

    def user_for_key(self, key: str | None) -> int:
        if not key:
            raise Unauthorized("an API key is required (X-API-Key header or Authorization: Bearer)")
        user_id = self.index.user_for_key_hash(hash_key(key))
        if user_id is None:
            raise Unauthorized("the API key is not valid")
        return user_id

    def create_user(self, email: str, name: str | None) -> Row:
        email = email.strip()
        if not email or "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
            raise BadInput("email must be an address like person@example.com")
        if name is not None and len(name) > 200:
            raise BadInput("name must be at most 200 characters")
        if self.index.user_by_email(email):
            raise Conflict("a user with this email already exists")
        user = {"id": new_id(), "email": email, "name": name, "created_at": now_iso()}
        try:
            self.index.insert_user(user)
        except sqlite3.IntegrityError:
            raise Conflict("a user with this email already exists") from None
        return user

    def list_users(self) -> list[Row]:
        return self.index.list_users()

    def create_key(self, user_id: int) -> Row:
        if self.index.get_user(user_id) is None:
            raise NotFound("no such user")
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        row = {"id": new_id(), "user_id": user_id, "key_hash": hash_key(token), "created_at": now_iso()}
        self.index.insert_api_key(row)
        return {"id": row["id"], "token": token, "user_id": user_id, "created_at": row["created_at"]}

    def revoke_key(self, key_id: int) -> None:
        if not self.index.delete_api_key(key_id):
            raise NotFound("no such token")
