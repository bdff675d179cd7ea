"""Catalog files that do not parse are moved aside, never silently dropped.

A corrupt `users/<id>.json` or `api-keys/<hash>.json` (a disk error, a hand edit gone wrong) must not
stop every other user's start, nor be skipped without a trace: it is copied to
`quarantine/<its key>`, then removed from where it was, with an error in the log and its name in
/readyz's body (`quarantined`), so an operator can repair it and move it back. Users and keys are
small and stand alone, so moving one aside loses nothing else.

Manifests are not moved: the media beside a manifest would then look orphaned to the reconciler.
An unreadable manifest stays where it is, its recording is left out of the index, and it is listed
in /readyz's body (`unreadable_manifests`) and by `python -m lite verify`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import msgspec

from lite.catalog.records import ApiKey, R, User
from lite.errors import NotFound
from lite.storage import Storage

log = logging.getLogger("lite.catalog.manifests")
PREFIX = "quarantine/"
LISTED = 100  # names kept for /readyz; the count goes on


class Unreadable(ValueError):
    pass


def parse_user(data: bytes) -> User:
    """A user file; Vexa's fields (image_url, max_concurrent_bots, data) default for files written
    before Lite had them."""
    doc = _object(data)
    if not isinstance(doc.get("id"), int) or not isinstance(doc.get("email"), str) or not doc["email"]:
        raise Unreadable("a user needs an integer id and an email")
    bots, fields = doc.get("max_concurrent_bots", 3), doc.get("data", {})
    if not isinstance(bots, int) or isinstance(bots, bool) or not isinstance(fields, dict):
        raise Unreadable("a user's max_concurrent_bots must be an integer and its data an object")
    return _record(doc, User)


def parse_api_key(data: bytes, key_hash: str) -> ApiKey:
    """The key file `api-keys/<key_hash>.json`; scopes, name and expiry default (full access,
    unnamed, never) for older files. Scopes are a list in the file, comma-separated text in a key."""
    doc = _object(data)
    if not isinstance(doc.get("id"), int) or not isinstance(doc.get("user_id"), int):
        raise Unreadable("an API key needs an integer id and user_id")
    scopes = doc.get("scopes") or []
    if isinstance(scopes, str):
        scopes = [s for s in scopes.split(",") if s]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise Unreadable("an API key's scopes must be a list of names")
    for field in ("name", "expires_at"):
        if doc.get(field) is not None and not isinstance(doc[field], str):
            raise Unreadable(f"an API key's {field} must be text")
    # The hash is the file's name, not a field of it.
    return _record(doc | {"scopes": ",".join(scopes), "key_hash": key_hash}, ApiKey)


def _record(doc: dict[str, Any], kind: type[R]) -> R:
    """The document as a record: fields it lacks take their defaults, fields it has that the record
    does not are ignored, and a wrong type (a missing created_at, say) makes it unreadable."""
    try:
        return msgspec.convert(doc, kind)
    except msgspec.ValidationError as exc:
        raise Unreadable(str(exc)) from None


def _object(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise Unreadable("not a JSON object")
    return doc


class Quarantine:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.moved: list[str] = []
        self.count = 0

    async def move_aside(self, key: str, data: bytes, reason: str) -> None:
        try:
            await self.storage.put_bytes(PREFIX + key, data)
            await self.storage.delete(key)
        except NotFound:
            return  # another replica moved it first
        self.count += 1
        if len(self.moved) < LISTED:
            self.moved.append(key)
        log.error("%s is unreadable (%s): moved to %s%s; repair it, move it back", key, reason, PREFIX, key)
