"""Turning a bot's chunks into one playable master: on the final chunk, or when the bot went quiet.

Crash-safe by order: the master is written (atomically) first, then the index says `complete`,
then the chunk objects go. A crash before the index update finalizes again from the same chunks;
a crash after it leaves chunk objects that `sweep()` removes at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from lite.catalog.catalog_service import CatalogService
from lite.catalog.manifest_writes import RecordingGone
from lite.catalog.manifests import Catalog
from lite.catalog.records import Chunk, MediaFile, Recording, changed
from lite.clock import now_iso
from lite.config import Settings
from lite.errors import Conflict, LiteError, NotFound
from lite.media.assemble import Assembled, AssemblyError, assemble_wav, assemble_webm
from lite.media.probe import probe_sample_rate
from lite.ops.metrics import Metrics
from lite.sessions.finished import Finished
from lite.sessions.locks import SessionLocks
from lite.sessions.webhooks import Notifier

log = logging.getLogger("lite.sessions.finalize")
SWEPT = "start-up sweep done"  # starts the line logged once the sweep after a start has ended
BLOCK = 1024 * 1024


def missing_ranges(chunks: list[Chunk], final_seq: int | None) -> list[list[int]]:
    """The chunk numbers that never came, as [first, last] ranges: a client that sends chunk 0 and
    then chunk 10,000,000 makes one range, not ten million numbers (manifest, index, answers)."""
    present = sorted({c.seq for c in chunks})
    last = max(present[-1] if present else -1, final_seq if final_seq is not None else -1)
    gaps, expected = [], 0
    for seq in present:
        if seq > expected:
            gaps.append([expected, seq - 1])
        expected = seq + 1
    if expected <= last:
        gaps.append([expected, last])
    return gaps


def is_ready(media: MediaFile, chunks: list[Chunk]) -> bool:
    final = media.final_seq
    return final is not None and not missing_ranges(chunks, final)


def _concatenate(chunks: Iterable[BinaryIO], out: BinaryIO) -> Assembled:
    size = 0
    for chunk in chunks:
        while block := chunk.read(BLOCK):
            out.write(block)
            size += len(block)
    return Assembled(duration_seconds=None, size=size)


async def _file_blocks(path: Path) -> AsyncIterator[bytes]:
    f = await to_thread.run_sync(open, path, "rb")
    try:
        while block := await to_thread.run_sync(f.read, BLOCK):
            yield block
    finally:
        f.close()


class Finalizer(CatalogService):
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        notifier: Notifier,
        locks: SessionLocks,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings, catalog)
        self.notifier = notifier
        self.locks = locks
        self.workdir = settings.data_dir / "tmp"
        self.metrics = metrics or Metrics.of(self.index)  # bot_uploads counts its chunks here too

    def prepare(self) -> None:
        """At start: a clean scratch directory (a crash may have left half-assembled files)."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True, exist_ok=True)

    async def finalize(self, recording: Recording, force: bool) -> str:
        """Assemble every media file that is ready (all of them when `force`); the caller holds the lock.

        Order: masters are stored, then the manifest says so, then the index, then chunks go.
        Returns the recording's status afterwards.
        """
        with self.metrics.finalizing() as measured:  # in the queue gauge meanwhile, then timed
            measured["result"] = await self._finalize(recording, force)
            return measured["result"]

    async def _finalize(self, recording: Recording, force: bool) -> str:
        user_id, recording_id = recording.user_id, recording.id
        # Read before assembling: its tag is the condition of the manifest write at the end, so a
        # delete (or a finalize) on another replica meanwhile is noticed, never overwritten.
        before = await self.catalog.read_manifest(user_id, recording_id)
        if before is None and await self.replicas.deleted_elsewhere(user_id, recording_id):
            return "deleted"
        media_files = self.index.media_for([recording_id])
        assembled: dict[int, MediaFile] = {}
        error = None
        for media in media_files:
            chunks = self.index.chunks_of(media.id)
            if media.state == "receiving" and (force or is_ready(media, chunks)):
                try:
                    assembled[media.id] = await self.assemble_media(media, chunks)
                except AssemblyError as exc:
                    # Nothing a bot sent is lost: the master is the chunks' bytes in order, the
                    # chunks stay (the recording can be finalized again), and the recording says why.
                    error = f"the {media.type} chunks cannot be assembled as {media.format}"
                    error += f" ({exc}); the file is their bytes joined in order"
                    log.error("recording %s media %s: %s", recording_id, media.id, error)
                    assembled[media.id] = await self.assemble_media(media, chunks, joined=True)
        change = Finished(assembled, error, now_iso())
        # Written again where only damage removes a manifest; where a delete did, never.
        create = self.replicas.rewrite_missing(change, recording, media_files)
        try:
            updated, media_files = await self.catalog.update_manifest(
                user_id, recording_id, change, known=before, create=create
            )
        except RecordingGone:  # deleted on another replica meanwhile: the masters just stored go too
            masters = [m.storage_key for m in assembled.values()]
            await self.catalog.discard_deleted(user_id, recording_id, masters)
            return "deleted"
        status = updated.status
        if status == "completed" and change.completes:  # the owner's webhook settings, changed elsewhere?
            await self.catalog.refresh_user(user_id)
        for media in media_files:
            self.index.finish_media(media)
        self.index.set_status(recording_id, status, updated.updated_at, updated.error_message)
        if status == "completed":
            if change.completes:  # once: not again where another replica's finalize completed it first
                # Queued into the index's outbox right after the status, with nothing awaited between:
                # only a kill in that instant could complete a recording without its webhook.
                self.notifier.recording_completed(updated, media_files)
            await self._drop_chunks(recording_id)
        return status

    async def retry(self, user_id: int, recording_id: int) -> str:
        """Assemble a failed recording again from the chunks it kept (after a fix, or once its
        missing chunks arrived). Only a failed recording: a completed one has no chunks left."""
        recording = self.index.get_recording(user_id, recording_id)
        if recording is None:
            raise NotFound("recording not found")
        async with self.locks(user_id, recording.session_uid):
            recording = self.index.get_recording(user_id, recording_id)
            if recording is None or recording.status != "failed":
                raise Conflict("only a failed recording can be finalized again")
            for media in self.index.media_for([recording_id]):
                if self.index.chunks_of(media.id):
                    self.index.reopen_media(media.id)
            return await self.finalize(recording, force=True)

    async def assemble_media(self, media: MediaFile, chunks: list[Chunk], joined: bool = False) -> MediaFile:
        """Store the master (`joined`: the chunks' bytes as they are); the media file it makes is
        returned, not yet written anywhere."""
        keys = [c.storage_key for c in chunks]
        fmt = "bytes" if joined else media.format
        self.workdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.workdir) as scratch:
            master = Path(scratch) / f"master.{media.format}"
            assembled = await to_thread.run_sync(self._assemble, keys, fmt, master)
            stored = await self.storage.put_stream(media.storage_key, _file_blocks(master))
            sample_rate = await to_thread.run_sync(probe_sample_rate, master)
        missing = missing_ranges(chunks, media.final_seq)
        extra = {"chunk_count": len(chunks), "missing_chunks": missing}
        if sample_rate:
            extra["sample_rate"] = sample_rate
        return changed(
            media,
            state="complete",
            file_size_bytes=stored.size,
            sha256=stored.sha256,
            duration_seconds=assembled.duration_seconds,
            extra=json.dumps(extra),
            updated_at=now_iso(),
        )

    def _opened(self, keys: list[str]) -> Iterator[BinaryIO]:
        for key in keys:
            reader = self.storage.open_sync(key)
            try:
                yield reader
            finally:
                reader.close()

    def _assemble(self, keys: list[str], fmt: str, master: Path) -> Assembled:
        chunks = self._opened(keys)
        if fmt == "webm":
            return assemble_webm(chunks, master, master.parent)
        with open(master, "wb") as out:
            return assemble_wav(chunks, out) if fmt == "wav" else _concatenate(chunks, out)

    async def _drop_chunks(self, recording_id: int) -> int:
        dropped = 0
        for media in self.index.media_for([recording_id]):
            for chunk in self.index.chunks_of(media.id):
                await self.storage.delete(chunk.storage_key)
                self.index.delete_chunk(media.id, chunk.seq)
                dropped += 1
        return dropped

    async def sweep(self) -> None:
        """Remove chunk objects that a crash left behind after their master was complete."""
        dropped = 0
        for media in self.index.completed_media_with_chunks():
            with contextlib.suppress(LiteError):
                dropped += await self._drop_chunks(media.recording_id)
        log.info("%s: %d chunk objects of completed recordings removed", SWEPT, dropped)

    async def finalize_idle(self) -> int:
        """Finalize sessions that have received nothing for RECORDING_IDLE_FINALIZE_SECONDS."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.idle_finalize_seconds)
        done = 0
        idle = self.index.idle_recordings(cutoff.isoformat(timespec="microseconds"))
        # The round's sessions are the finalize queue until each one's turn (then `finalize` counts it).
        waiting = len(idle)
        self.metrics.finalize_queue.inc(waiting)
        try:
            for recording in idle:
                waiting -= 1
                self.metrics.finalize_queue.dec()
                done += await self._finalize_idle_one(recording, cutoff)
        finally:
            self.metrics.finalize_queue.dec(waiting)  # cancelled at shutdown mid-round
        return done

    async def _finalize_idle_one(self, recording: Recording, cutoff: datetime) -> int:
        """1 when it was finalized, else 0 (still active, finished meanwhile, or storage failed)."""
        async with self.locks(recording.user_id, recording.session_uid):
            if await self.replicas.active_elsewhere(recording, cutoff):  # chunks reach another replica
                return 0
            current = self.index.get_recording_by_id(recording.id)
            if current is None or current.status != "in_progress":
                return 0
            try:
                await self.finalize(current, force=True)
                return 1
            except LiteError as exc:  # storage down: the next round tries again
                log.warning("idle recording %s not finalized yet: %s", recording.id, exc.detail)
            except Exception:  # one recording's fault must not stop the others' finalizing
                log.exception("idle recording %s could not be finalized", recording.id)
        return 0

    async def run(self) -> None:
        """The background loop; runs until cancelled at shutdown."""
        interval = min(30.0, max(self.settings.idle_finalize_seconds / 4, 0.2))
        with contextlib.suppress(LiteError):
            await self.storage.remove_leftovers()  # temp files of a killed process
        with contextlib.suppress(LiteError):
            await self.sweep()
        while True:
            try:
                await self.finalize_idle()
            except Exception:
                log.exception("idle finalization round failed")
            await asyncio.sleep(interval)
