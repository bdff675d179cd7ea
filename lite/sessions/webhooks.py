"""The `recording.completed` webhook as Vexa (v0.10.7) sends it, queued durably (docs/webhooks.md).

Envelope: `{"event_id": "evt_<32 hex>", "event_type", "api_version", "created_at", "data":
{"recording": …}}`, the body is `json.dumps(envelope)`. With a secret: `Authorization: Bearer
<secret>`, `X-Webhook-Timestamp: <unix seconds>`, `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>." + body)>`.

Subscribers of one event: the system hooks (WEBHOOK_URL, POST_MEETING_HOOKS; the server's webhook
secret) and the recording owner's own hook (the user's `data`: `webhook_url`, `webhook_secret`,
`webhook_events`). Each gets one row in the index's outbox (lite.catalog.outbox_queries); the worker
in lite.sessions.webhook_delivery sends them, retries them and drops them after the maximum age.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from lite.catalog.index import Index
from lite.catalog.records import MediaFile, OutboxEntry, Recording, User
from lite.config import Settings
from lite.recordings.shapes import recording_out

log = logging.getLogger("lite.sessions.webhooks")
API_VERSION = "2026-03-01"
RECORDING_COMPLETED = "recording.completed"
OUTBOX_LIMIT = 100_000  # rows; past it new events are dropped with a log line
SYSTEM, USER = "s", "u"  # a row's kind, in its key: only users' URLs are checked against SSRF


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers_for(secret: str | None, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers of one delivery attempt (a fresh timestamp each time, as Vexa does)."""
    headers = {"Content-Type": "application/json"}
    secret = (secret or "").strip()
    if secret:
        timestamp = str(int(time.time() if now is None else now))
        headers["Authorization"] = f"Bearer {secret}"
        headers["X-Webhook-Timestamp"] = timestamp
        headers["X-Webhook-Signature"] = sign(secret, timestamp, body)
    return headers


def envelope(event_id: str, event_type: str, data: dict[str, Any], created_at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "api_version": API_VERSION,
        "created_at": created_at,
        "data": data,
    }


def url_host(url: str) -> str:
    """What a log line may say about a URL: its host (its path or query may hold a secret)."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def row_key(event_id: str, kind: str, url: str) -> str:
    """The outbox key of one event for one subscriber: `evt_…:<kind>:<url hash>`."""
    return f"{event_id}:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:24]}"


def parse_row_key(key: str) -> tuple[str, str]:
    """(the envelope's event id, the subscriber's kind) of an outbox key."""
    event_id, _, rest = key.partition(":")
    return event_id, rest.partition(":")[0]


@dataclass(frozen=True)
class Subscriber:
    url: str
    secret: str | None
    kind: str


def user_hook(user: User | None, event_type: str) -> Subscriber | None:
    """The user's own hook from their `data`, unless they switched this event off."""
    if user is None:
        return None
    data = user.data
    url = data.get("webhook_url")
    if not isinstance(url, str) or not url.strip():
        return None
    events = data.get("webhook_events")
    if isinstance(events, dict) and events.get(event_type) is False:
        return None
    secret = data.get("webhook_secret")
    return Subscriber(
        url.strip(), secret.strip() if isinstance(secret, str) and secret.strip() else None, USER
    )


class Notifier:
    """Queues events in the outbox and wakes the delivery worker (lite.sessions.webhook_delivery)."""

    def __init__(self, settings: Settings, index: Index, secret: str) -> None:
        self.settings = settings
        self.index = index
        self.secret = secret.strip()
        self.wake = asyncio.Event()
        self.limit = OUTBOX_LIMIT

    def system_hooks(self) -> list[Subscriber]:
        urls = [self.settings.webhook_url, *self.settings.post_meeting_hooks]
        return [Subscriber(url.strip(), self.secret, SYSTEM) for url in urls if url and url.strip()]

    def subscribers(self, user_id: int, event_type: str) -> list[Subscriber]:
        """System hooks first, then the user's; one URL gets one event once."""
        found: dict[str, Subscriber] = {}
        for hook in [*self.system_hooks(), user_hook(self.index.get_user(user_id), event_type)]:
            if hook is not None and hook.url not in found:
                found[hook.url] = hook
        return list(found.values())

    def event_id(self, event_type: str, *identity: Any) -> str:
        """`evt_<32 hex>`, the same for one logical event (here: one recording's completion), so a
        repeated call never queues it twice; keyed by the server's secret, so two servers' ids differ."""
        text = "|".join([event_type, *(str(part) for part in identity)])
        return "evt_" + hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]

    def recording_completed(self, recording: Recording, media: list[MediaFile]) -> None:
        event_id = self.event_id(RECORDING_COMPLETED, recording.id, recording.completed_at)
        data = {"recording": recording_out(recording, media)}
        self.publish(event_id, RECORDING_COMPLETED, recording.user_id, data)

    def publish(self, event_id: str, event_type: str, user_id: int, data: dict[str, Any]) -> None:
        """Queue the event for each subscriber (one row each, same body); never raises into the
        caller's work (a recording is complete whether or not its webhook could be queued)."""
        try:
            hooks = self.subscribers(user_id, event_type)
            if not hooks:
                return
            created_at = datetime.now(UTC).isoformat()
            body = json.dumps(envelope(event_id, event_type, data, created_at))
            now = time.time()
            rows = [
                OutboxEntry(
                    event_id=row_key(event_id, hook.kind, hook.url),
                    url=hook.url,
                    secret=hook.secret,
                    body=body,
                    created_at=created_at,
                    next_at=now,
                )
                for hook in hooks
            ]
            added = self.index.outbox_add(rows, self.limit)
        except Exception:
            log.exception("webhook %s (%s) could not be queued", event_id, event_type)
            return
        if added < 0:
            log.error(
                "webhook outbox full (%d events); dropped %s %s for %s",
                self.limit,
                event_type,
                event_id,
                ", ".join(url_host(hook.url) for hook in hooks),
            )
            return
        self.wake.set()
