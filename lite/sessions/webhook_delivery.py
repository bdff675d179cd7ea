"""The webhook worker: sends the outbox's due rows (lite.sessions.webhooks queues them), as Vexa does.

- 30 s per attempt; up to PARALLEL receivers at once, so one slow receiver holds up no other.
- 2xx: delivered. 4xx other than 429: delivered too (a receiver's refusal is not retried, as Vexa).
- 3xx: not followed for a user's hook (a redirect could lead to this server's own network, past the
  SSRF check), and not retried: a receiver that moved answers the same next time; the log says so.
  System hooks (the operator's) follow redirects, as Vexa does.
- 5xx, 429, timeouts, connection errors: tried again after WEBHOOK_RETRY_SECONDS[attempt]; once the
  schedule runs out, every last delay; dropped with a log line once WEBHOOK_MAX_AGE_SECONDS old.
- A user's URL is checked again before every attempt (lite.accounts.webhook_targets): a refused
  one is dropped (its name may now resolve to a private address); one that does not resolve is
  retried like a connection error.

Each attempt's outcome is counted (lite_webhook_deliveries_total): delivered (2xx), refused (3xx,
4xx, a refused URL: not retried), retried (scheduled again), dropped (too old).

A row being sent stays due in the index (the worker skips it while its attempt runs), so after a
crash mid-attempt it is sent again at the next start: at least once; receivers dedupe on event_id,
as with Vexa.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

import httpx

from lite.accounts.webhook_targets import check_webhook_url
from lite.catalog.index import Index
from lite.catalog.records import OutboxEntry
from lite.config import Settings
from lite.errors import BadInput
from lite.ops.metrics import Metrics
from lite.sessions.webhooks import USER, headers_for, parse_row_key, url_host

log = logging.getLogger("lite.sessions.webhooks")
TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 1.0  # at most this long between looks at the outbox, when nothing wakes the worker
PARALLEL = 16


def _created(row: OutboxEntry, now: float) -> float:
    try:
        return datetime.fromisoformat(row.created_at).timestamp()
    except (TypeError, ValueError):
        return now


class Delivery:
    def __init__(
        self, settings: Settings, index: Index, wake: asyncio.Event, metrics: Metrics | None = None
    ) -> None:
        self.index = index
        self.metrics = metrics or Metrics.of(index)  # lite.background builds this from the index
        self.wake = wake
        self.schedule = settings.webhook_retry_seconds or (60.0,)
        self.max_age = settings.webhook_max_age_seconds
        self.allow_private = settings.webhook_allow_private_networks

    async def run(self) -> None:
        """Until cancelled (at shutdown); a cancelled attempt is sent again at the next start."""
        inflight: dict[str, asyncio.Task[None]] = {}

        def finished(key: str) -> None:
            inflight.pop(key, None)
            self.wake.set()

        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            try:
                while True:
                    self.wake.clear()
                    if len(inflight) < PARALLEL:
                        for row in self.index.outbox_due(
                            time.time(), PARALLEL - len(inflight), tuple(inflight)
                        ):
                            key = row.event_id
                            task = asyncio.create_task(self._guarded(client, row))
                            inflight[key] = task
                            task.add_done_callback(lambda _, key=key: finished(key))
                    await self._sleep(tuple(inflight), full=len(inflight) >= PARALLEL)
            finally:
                pending = list(inflight.values())  # the done callbacks empty `inflight` meanwhile
                for task in pending:
                    task.cancel()  # their rows stay due: sent again at the next start
                await asyncio.gather(*pending, return_exceptions=True)

    async def _sleep(self, busy: tuple[str, ...], full: bool) -> None:
        timeout = POLL_SECONDS
        if not full:
            next_at = self.index.outbox_next_at(busy)
            if next_at is not None:
                timeout = min(POLL_SECONDS, next_at - time.time())
        if timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    async def _guarded(self, client: httpx.AsyncClient, row: OutboxEntry) -> None:
        try:
            await self.attempt(client, row)
        except Exception:  # the index failed: the row stays due and is tried again
            log.exception("webhook %s: delivery attempt crashed", parse_row_key(row.event_id)[0])
            await asyncio.sleep(POLL_SECONDS)  # busy meanwhile: not picked again at once

    async def attempt(self, client: httpx.AsyncClient, row: OutboxEntry) -> None:
        key, url, attempts = row.event_id, row.url, row.attempts
        event_id, kind = parse_row_key(key)
        host = url_host(url)
        started = time.time()
        created = _created(row, started)
        if started - created >= self.max_age:
            self.index.outbox_done(key)
            self.metrics.webhook("dropped")
            log.error(
                "webhook %s to %s dropped: not delivered within %.0f s (%d attempts)",
                event_id,
                host,
                self.max_age,
                attempts,
            )
            return
        outcome = await self._send(client, row, kind)
        if outcome is None:
            self.index.outbox_done(key)
            return
        self.metrics.webhook("retried")
        attempts += 1
        delay = self.schedule[min(attempts, len(self.schedule)) - 1]
        next_at = min(time.time() + delay, created + self.max_age)
        self.index.outbox_retry_later(key, attempts, next_at)
        log.warning(
            "webhook %s to %s: attempt %d failed (%s); next in %.1f s",
            event_id,
            host,
            attempts,
            outcome,
            max(0.0, next_at - time.time()),
        )

    async def _send(self, client: httpx.AsyncClient, row: OutboxEntry, kind: str) -> str | None:
        """None when the row is done (delivered, refused for good); else why to try again."""
        url, event_id, host = row.url, parse_row_key(row.event_id)[0], url_host(row.url)
        if kind == USER:
            try:
                await check_webhook_url(url, self.allow_private)
            except BadInput as exc:
                if "does not resolve" in exc.detail:
                    return "the host name does not resolve"
                log.warning("webhook %s to %s not sent, the URL is refused: %s", event_id, host, exc.detail)
                self.metrics.webhook("refused")
                return None
        body = row.body.encode()
        try:
            answer = await client.post(
                url, content=body, headers=headers_for(row.secret, body), follow_redirects=kind != USER
            )
        except httpx.TimeoutException:
            return "timeout"
        except Exception as exc:  # connection errors, and anything else the URL leads to
            return type(exc).__name__
        status = answer.status_code
        if status < 300:
            log.info("webhook %s delivered to %s (HTTP %d)", event_id, host, status)
            self.metrics.webhook("delivered")
            return None
        if status == 429 or status >= 500:
            return f"HTTP {status}"
        why = "a redirect, not followed" if status < 400 else "refused by the receiver"
        log.warning("webhook %s to %s answered HTTP %d (%s): not retried", event_id, host, status, why)
        self.metrics.webhook("refused")  # by the receiver (4xx), or a redirect not followed
        return None
