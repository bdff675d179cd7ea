"""Finalizing off the request path: a bot's final chunk is acknowledged once it is stored, and a
few workers turn ready sessions into masters from this queue.

Durable without a table of its own. A session is due when what its final chunk left is durable (the
manifest's and the index's final mark, every chunk up to it stored), and that is written before the
chunk is acknowledged. The memory queue only orders the work: at start and every round of the
finalizer's loop, sessions that are due but still in progress are queued again. So the queue can be
bounded (past FINALIZE_QUEUE_MAX a session waits for the next round), and a restart, a crash or a
store that failed mid-finalize loses nothing: the next round finds the session again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from lite.catalog.index import Index
from lite.catalog.manifests import Catalog
from lite.errors import LiteError
from lite.sessions.finalize import Finalizer, is_ready

log = logging.getLogger("lite.sessions.finalize_queue")
ROUND_SECONDS = 5.0


class FinalizeQueue:
    def __init__(
        self, finalizer: Finalizer, index: Index, catalog: Catalog, workers: int, capacity: int
    ) -> None:
        self.finalizer = finalizer
        self.index = index
        self.catalog = catalog
        self.workers = workers
        self.capacity = capacity
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        # Queued or being finalized, with the status each one's waiters get when it is done.
        self._pending: dict[int, asyncio.Future[str]] = {}
        self._workers: list[asyncio.Task[None]] = []

    def __len__(self) -> int:
        return self._queue.qsize()

    def submit(self, recording_id: int) -> bool:
        """Queue a session that became due; False when it is queued already or the queue is full
        (it stays due, and the next round queues it). The workers start with the first one, on
        whatever holds this queue (the server, a CLI command, a test), and stop at `aclose`."""
        if recording_id in self._pending or len(self._pending) >= self.capacity:
            return False
        if not self._workers:
            self._workers = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self._pending[recording_id] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(recording_id)
        self.finalizer.metrics.finalize_queue.inc()
        return True

    async def outcome(self, recording_id: int, seconds: float) -> str | None:
        """The recording's status once its queued finalize ends, or None after `seconds`."""
        done = self._pending.get(recording_id)
        if done is None or seconds <= 0:
            return None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(done), seconds)
        return None

    def submit_due(self) -> int:
        """Queue every session that is due and not queued yet (at start, then every round)."""
        return sum(self.submit(recording.id) for recording in self.index.due_recordings())

    async def run(self) -> None:
        """The server's rounds: every ROUND_SECONDS, queue what is due and not queued (left over from
        before a restart, when the queue was full, or when a finalize failed); until cancelled."""
        while True:
            self.submit_due()
            await asyncio.sleep(ROUND_SECONDS)

    async def aclose(self) -> None:
        """Stop the workers (at shutdown): a finalize cut short is crash-safe, and still due."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            recording_id = await self._queue.get()
            self.finalizer.metrics.finalize_queue.dec()
            status = "in_progress"
            try:
                status = await self._finalize(recording_id)
            except LiteError as exc:  # storage down: still due, the next round queues it again
                log.warning("recording %s not finalized yet: %s", recording_id, exc.detail)
            except Exception:  # one session's fault must not stop the others'
                log.exception("recording %s could not be finalized", recording_id)
            finally:  # cancelled at shutdown too: waiters get "in_progress", the session stays due
                done = self._pending.pop(recording_id)
                if not done.done():
                    done.set_result(status)

    async def _finalize(self, recording_id: int) -> str:
        recording = self.index.get_recording_by_id(recording_id)
        if recording is None:
            return "deleted"
        async with self.finalizer.locks(recording.user_id, recording.session_uid):
            # Another replica may have finalized it, or a delete come first, while it waited (on a
            # private volume nothing else writes: no read).
            await self.catalog.replicas.refresh_recording(recording.user_id, recording_id)
            current = self.index.get_recording_by_id(recording_id)
            if current is None:
                return "deleted"
            if current.status != "in_progress" or not self._due(recording_id):
                return current.status
            return await self.finalizer.finalize(current, force=False)

    def _due(self, recording_id: int) -> bool:
        return any(
            media.state == "receiving" and is_ready(media, self.index.chunks_of(media.id))
            for media in self.index.media_for([recording_id])
        )
