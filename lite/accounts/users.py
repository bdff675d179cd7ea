"""Users: made, found, changed. A part of `Auth` (lite.accounts.auth), kept apart to stay small.

Every change is written to storage (`users/<id>.json`, the source of truth) before the index, so a
replica on the same bucket and an index rebuilt from storage see it. A change starts from the user
as stored (`catalog.replicas.stored_user`: on a shared bucket this replica's index may be behind).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from typing import Any

from lite.accounts.user_shapes import BadRequest, check_profile, checked_data, merged
from lite.catalog.index import Index
from lite.catalog.manifests import Catalog
from lite.catalog.records import User, changed
from lite.clock import now_iso
from lite.errors import BadInput, Conflict, NotFound
from lite.ids import new_id

log = logging.getLogger("lite.accounts.auth")
USER_NOT_FOUND = "User not found"  # Vexa's words: its dashboard's login looks for a 404


def normalise_email(email: str) -> str:
    """Emails name one person whatever their case (`A@x.io` is `a@x.io`): stored and compared in
    lower case (the index compares case-insensitively too, for users stored before this rule)."""
    return email.strip().lower()


def _checked_email(email: object) -> str:
    if not isinstance(email, str):
        raise BadInput("email must be an address like person@example.com")
    email = normalise_email(email)
    if not email or "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise BadInput("email must be an address like person@example.com")
    return email


PLACEHOLDER_DOMAIN = "@users.invalid"  # adopted users' emails until they are named (RFC 2606 .invalid)


class UserAccounts:
    index: Index
    catalog: Catalog

    async def create_user(self, email: str, name: str | None) -> User:
        """A new user; Conflict if the email is taken (the command line's create-user)."""
        user, created = await self.find_or_create_user({"email": email, "name": name}, False)
        if not created:
            raise Conflict("a user with this email already exists")
        return user

    async def find_or_create_user(self, fields: dict[str, Any], allow_private: bool) -> tuple[User, bool]:
        """(user, made now): the user with this email as it is, or a new one (Vexa's POST /admin/users).
        `fields` is the request's body, as sent."""
        email = _checked_email(fields.get("email"))
        given = {k: v for k, v in fields.items() if v is not None}
        profile = check_profile({"max_concurrent_bots": 3} | given)
        data = merged({}, fields.get("data") or {})
        data = await checked_data(data, allow_private, url_changed=True)
        if found := await self.find_user_by_email(email):
            return found, False
        user = User(id=new_id(), email=email, data=data, created_at=now_iso(), **profile)
        await self.catalog.save_user(user)
        try:
            self.index.insert_user(user)
        except sqlite3.IntegrityError:  # the same email at the same moment: that one was first
            if found := self.index.user_by_email(email):
                return found, False
            raise
        return user, True

    async def adopt_user(self, user_id: int) -> None:
        """A user another system vouches for (a Vexa MeetingToken names its user): known, or created
        with that id and a placeholder email, so that a recording never waits for an account."""
        if self.index.get_user(user_id) is not None:
            return
        await self.catalog.replicas.sync_users()  # made on another replica?
        if self.index.get_user(user_id) is not None:
            return
        email = f"vexa-user-{user_id}{PLACEHOLDER_DOMAIN}"
        user = User(id=user_id, email=email, name=f"Vexa user {user_id}", created_at=now_iso())
        await self.catalog.save_user(user)
        with contextlib.suppress(sqlite3.IntegrityError):  # two first chunks at once
            self.index.insert_user(user)
        log.info("created user %s named by a meeting token", user_id)

    async def name_user(self, user_id: int, email: str, name: str | None) -> str:
        """Give a user another system knows its id and email (`import-vexa --users`), so that Vexa's
        dashboard, which logs in by email, finds the user its recordings belong to: created with that
        id, or an adopted placeholder given the email. Returns "created", "named" or "kept" (the
        user has a real email already); Conflict when the email is another user's."""
        email = _checked_email(email)
        other = await self.find_user_by_email(email)
        if other is not None and other.id != user_id:
            raise Conflict(f"{email} is already user {other.id}'s")
        user = self.index.get_user(user_id)
        if user is None:
            await self._save(User(id=user_id, email=email, name=name, created_at=now_iso()))
            return "created"
        if not user.email.endswith(PLACEHOLDER_DOMAIN):
            return "kept"
        await self._save(changed(user, email=email, name=name or user.name))
        return "named"

    async def find_user_by_email(self, email: str) -> User | None:
        await self.catalog.replicas.sync_users()
        return self.index.user_by_email(normalise_email(email))

    async def user_by_email(self, email: str) -> User:
        user = await self.find_user_by_email(email)
        if user is None:
            raise NotFound(f"no user has the email {email.strip()[:320]!r}")
        return user

    async def get_user(self, user_id: int) -> User:
        """The user, as storage has it now (changed on another replica?); NotFound `User not found`."""
        user = await self.catalog.replicas.stored_user(user_id)
        if user is None:
            raise NotFound(USER_NOT_FOUND)
        return user

    async def update_user(self, user_id: int, changes: dict[str, Any], allow_private: bool) -> User:
        """Vexa's PATCH (`changes` is its body): name, image_url, max_concurrent_bots replaced; data
        merged (lite.accounts.user_shapes); the email cannot change (400)."""
        user = await self.get_user(user_id)
        email = changes.get("email")
        same = isinstance(email, str) and normalise_email(email) == user.email.lower()
        if email is not None and not same:
            raise BadRequest("a user's email cannot be changed")
        profile = check_profile(changes)
        data = user.data
        if "data" in changes and changes["data"] is not None:
            url_changed = isinstance(changes["data"], dict) and "webhook_url" in changes["data"]
            data = await checked_data(merged(data, changes["data"]), allow_private, url_changed)
        return await self._save(changed(user, **profile, data=data))

    async def set_webhook(self, user_id: int, hook: dict[str, Any], allow_private: bool) -> User:
        """PUT /user/webhook: the URL (empty clears it), and the secret and event switches when sent."""
        changes: dict[str, Any] = {"webhook_url": hook.get("webhook_url") or None}
        for field in ("webhook_secret", "webhook_events"):
            if hook.get(field) is not None:
                changes[field] = hook[field] or None  # "" removes the secret
        user = await self.get_user(user_id)
        data = await checked_data(merged(user.data, changes), allow_private, url_changed=True)
        return await self._save(changed(user, data=data))

    async def _save(self, user: User) -> User:
        await self.catalog.save_user(user)
        self.index.upsert_user(user)
        return user

    async def list_users(self, skip: int = 0, limit: int = -1) -> list[User]:
        await self.catalog.replicas.sync_users()  # users created (or changed) on other replicas
        return self.index.list_users(skip, limit)

    async def _known_user(self, user_id: int) -> bool:
        if self.index.get_user(user_id) is not None:
            return True
        return await self.catalog.replicas.stored_user(user_id) is not None  # made on another replica?
