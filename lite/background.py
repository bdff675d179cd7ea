"""The server's background work, in one place: started with the server, supervised, stopped on
shutdown.

- the index rebuild from storage, when the index is empty (not ready until it succeeds);
- then, with a complete index: finalizing bot sessions whose final chunk came (from a bounded
  queue, sessions.finalize_queue) or that went quiet (sessions.finalize), and reconciling storage
  with the index after a crash (catalog.reconcile);
- webhook delivery from the index's outbox (sessions.webhook_delivery; queued by sessions.webhooks);
- deleting what a recording's delete could not (storage failed half-way), until storage is clean.

A job that crashes is logged with its traceback and started again after RESTART_SECONDS: never
silently gone, as idle finalizing and webhooks would otherwise just stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from lite.catalog.reconcile import Reconciler
from lite.services import Services
from lite.sessions.webhook_delivery import Delivery

log = logging.getLogger("lite.background")
REBUILD_RETRY_SECONDS = 5.0
RESTART_SECONDS = 30.0  # before a crashed background job starts again
DELETE_RETRY_SECONDS = 30.0


async def supervised(name: str, job: Callable[[], Awaitable[None]]) -> None:
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %r crashed; starting it again in %.0f s", name, RESTART_SECONDS)
            await asyncio.sleep(RESTART_SECONDS)


async def _rebuild_then_maintain(services: Services, reconciler: Reconciler) -> None:
    while True:
        try:
            await services.rebuild_if_empty()
            break
        except asyncio.CancelledError:
            raise
        except Exception:  # logged by rebuild_if_empty; /readyz shows it
            await asyncio.sleep(REBUILD_RETRY_SECONDS)
    await asyncio.gather(
        supervised("finalize idle bot sessions", services.finalizer.run),
        supervised("queue due bot sessions", services.finalize_queue.run),
        supervised("reconcile storage", reconciler.run),
    )


async def _finish_deletes(services: Services) -> None:
    while True:
        await services.recordings.finish_deletes()
        await asyncio.sleep(DELETE_RETRY_SECONDS)


class BackgroundWork:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.tasks: list[asyncio.Task[None]] = []
        self.reconciler: Reconciler | None = None

    def start(self) -> None:
        services = self.services
        services.finalizer.prepare()  # the server's own scratch space; CLI commands leave it alone
        if services.index.is_empty():
            services.rebuild.running = True  # requests are gated from the first one on
        self.reconciler = Reconciler(services)  # notes the start time before any request can write
        # The outbox's worker: events pending from before a restart go out now, new ones when queued.
        delivery = Delivery(services.settings, services.index, services.notifier.wake)
        self.tasks = [
            asyncio.create_task(_rebuild_then_maintain(services, self.reconciler)),
            asyncio.create_task(supervised("webhook delivery", delivery.run)),
            asyncio.create_task(supervised("finish interrupted deletes", lambda: _finish_deletes(services))),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.services.aclose()
        if self.reconciler is not None:
            self.reconciler.stopped_cleanly()
