"""The `recording.completed` webhook: signed, retried with backoff, never in an upload's way.

Signature: `X-Lite-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the
timestamp in `X-Lite-Timestamp`, so a receiver can check both origin and freshness.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from lite.catalog.index import Row
from lite.recordings.shapes import recording_out

log = logging.getLogger("lite.sessions.webhooks")
RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
QUEUE_LIMIT = 10_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Notifier:
    def __init__(self, url: str | None, secret: str, delays: tuple[float, ...] = RETRY_DELAYS) -> None:
        self.url = url
        self.secret = secret
        self.delays = delays
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)

    def recording_completed(self, recording: Row, media: list[Row]) -> None:
        if not self.url:
            return
        # The API's own shape, so receivers parse one format.
        event = {"event": "recording.completed", "recording": recording_out(recording, media)}
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.error("webhook queue full; dropped recording.completed for %s", recording["id"])

    async def _deliver(self, client: httpx.AsyncClient, event: dict[str, Any]) -> None:
        assert self.url
        body = json.dumps(event, separators=(",", ":")).encode()
        for attempt, delay in enumerate((0.0, *self.delays)):
            await asyncio.sleep(delay)
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Lite-Event": event["event"],
                "X-Lite-Timestamp": timestamp,
                "X-Lite-Signature": sign(self.secret, timestamp, body),
            }
            try:
                answer = await client.post(self.url, content=body, headers=headers)
                if answer.status_code < 300:
                    return
                reason = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            log.warning("webhook attempt %d failed (%s)", attempt + 1, reason)
        log.error("webhook gave up after %d attempts", len(self.delays) + 1)

    async def run(self) -> None:
        """Deliver events one after another; runs until cancelled at shutdown."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                event = await self.queue.get()
                with contextlib.suppress(Exception):
                    await self._deliver(client, event)
