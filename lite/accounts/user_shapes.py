"""A user as Vexa's admin API shows it, and the checks on what an admin or the user may change.

`data` is a free JSON object (Vexa keeps billing keys and the per-user webhook there). Changes are
merged into it key by key, shallowly, as Vexa's `PATCH /admin/users/{id}` does; Lite adds one rule
Vexa lacks: a key sent as null is removed (Vexa would store the null), so a client can delete a
key at all. An empty `webhook_url` removes the hook too. `webhook_url` is checked against private
networks (lite.accounts.webhook_targets) however it arrives. `webhook_secret` never leaves the
server: user JSON leaves it out, `GET /user/webhook` shows only its last four characters.
"""

from __future__ import annotations

import json
from typing import Any

from lite.accounts.webhook_targets import check_webhook_url
from lite.catalog.records import User
from lite.errors import BadInput, LiteError

Row = dict[str, Any]
MAX_DATA_BYTES = 64 * 1024
MAX_NAME = 200
MAX_URL = 2048
MAX_BOTS = 10_000
MAX_SECRET = 1024


class BadRequest(LiteError):
    """What Vexa answers 400 to (changing a user's email)."""

    status_code, code = 400, "bad_request"


def user_out(user: User) -> Row:
    data = {k: v for k, v in user.data.items() if k != "webhook_secret"}
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "image_url": user.image_url,
        "max_concurrent_bots": user.max_concurrent_bots,
        "data": data,
        "created_at": user.created_at,
    }


def webhook_out(user: User) -> Row:
    data = user.data
    secret = data.get("webhook_secret")
    shown = None
    if isinstance(secret, str) and secret:
        shown = "********" + (secret[-4:] if len(secret) >= 12 else "")  # a short secret shows nothing
    return {
        "webhook_url": data.get("webhook_url"),
        "webhook_secret_set": bool(shown),
        "webhook_secret": shown,
        "webhook_events": data.get("webhook_events") or {},
    }


def check_profile(changes: Row) -> Row:
    """name, image_url and max_concurrent_bots, checked; keys not present are left out."""
    checked: Row = {}
    if "name" in changes:
        name = changes["name"]
        if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
            raise BadInput(f"name must be text of at most {MAX_NAME} characters")
        checked["name"] = name
    if "image_url" in changes:
        url = changes["image_url"]
        if url is not None and (not isinstance(url, str) or len(url) > MAX_URL):
            raise BadInput(f"image_url must be text of at most {MAX_URL} characters")
        checked["image_url"] = url
    if "max_concurrent_bots" in changes:
        bots = changes["max_concurrent_bots"]
        if isinstance(bots, bool) or not isinstance(bots, int) or not 0 <= bots <= MAX_BOTS:
            raise BadInput(f"max_concurrent_bots must be a whole number from 0 to {MAX_BOTS}")
        checked["max_concurrent_bots"] = bots
    return checked


def merged(stored: dict[str, Any], changes: object) -> dict[str, Any]:
    if not isinstance(changes, dict):
        raise BadInput("data must be a JSON object")
    data = dict(stored)
    for key, value in changes.items():
        if value is None or (key == "webhook_url" and value == ""):
            data.pop(key, None)
        else:
            data[key] = value
    return data


async def checked_data(data: dict[str, Any], allow_private: bool, url_changed: bool) -> dict[str, Any]:
    """`data` as it may be stored: its webhook settings well formed, its size bounded. The URL is
    checked when it changes (a stored one was checked then, and again at every delivery)."""
    if url_changed and "webhook_url" in data:
        await check_webhook_url(data["webhook_url"], allow_private)
    secret = data.get("webhook_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) > MAX_SECRET):
        raise BadInput(f"webhook_secret must be text of at most {MAX_SECRET} characters")
    events = data.get("webhook_events")
    if events is not None and (
        not isinstance(events, dict) or not all(isinstance(v, bool) for v in events.values())
    ):
        raise BadInput("webhook_events must be an object of event names and true or false")
    if len(json.dumps(data)) > MAX_DATA_BYTES:
        raise BadInput(f"data must be at most {MAX_DATA_BYTES} bytes as JSON")
    return data
