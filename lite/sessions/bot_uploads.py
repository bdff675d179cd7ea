"""Chunked recording by meeting bots (Vexa's bot upload contract).

A bot sends a chunk every few seconds while the meeting runs. Each chunk is stored under its own
key before it is acknowledged, so nothing acknowledged is ever only in memory; a resent chunk
replaces the earlier copy. The first chunk of an unseen session creates the recording.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO, Any

from anyio import to_thread

from lite.accounts.bot_auth import BotIdentity, Meeting
from lite.catalog.catalog_service import CatalogService
from lite.catalog.manifest_writes import Change, RecordingGone
from lite.catalog.manifests import Catalog
from lite.catalog.records import Chunk, MediaFile, Recording
from lite.clock import now_iso
from lite.config import Settings
from lite.errors import BadInput, Busy, Conflict, Forbidden, NotFound, TooLarge
from lite.http.multipart import FilePart
from lite.sessions.chunk_meta import FIELDS, ChunkMeta
from lite.sessions.finalize import is_ready
from lite.sessions.finalize_queue import FinalizeQueue
from lite.sessions.session_rows import answer, chunk_key, new_media, new_recording, reopened, with_chunk

SPOOL_IN_MEMORY = 1024 * 1024
__all__ = ["BotUploads", "chunk_key"]  # chunk_key: where the tests and tools have imported it from


async def _spool(part: FilePart, limit: int) -> tuple[IO[bytes], int]:
    """Keep the chunk (small) until the metadata, which may come after it, says where it goes."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        async for block in part.chunks:
            size += len(block)
            if size > limit:
                raise TooLarge(f"a chunk may be at most {limit} bytes (RECORDING_CHUNK_MAX_BYTES)")
            spool.write(block)  # at most 64 KiB at a time, into the page cache
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


async def _blocks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while block := await to_thread.run_sync(spool.read, SPOOL_IN_MEMORY):
        yield block


class BotUploads(CatalogService):
    def __init__(self, settings: Settings, catalog: Catalog, queue: FinalizeQueue) -> None:
        super().__init__(settings, catalog)
        self.queue = queue
        self.finalizer = queue.finalizer
        self.in_flight = 0

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """One of BOT_MAX_INFLIGHT_CHUNKS places, taken before the body is read: past the bound a bot
        is told to come back (503 + Retry-After) at the cost of a header parse, instead of every
        chunk slowing down until requests time out."""
        metrics = self.finalizer.metrics
        if self.in_flight >= self.settings.bot_max_inflight_chunks:
            metrics.chunks_refused.inc()
            raise Busy(
                "the server is receiving as many chunks as it takes at once; send this chunk again "
                "after Retry-After seconds",
                # From base to twice base, at random: bots refused together do not all come back together.
                retry_after=random.randint(base := self.settings.bot_retry_after_seconds, 2 * base),
            )
        self.in_flight += 1
        metrics.chunks_in_flight.inc()
        try:
            yield
        finally:
            self.in_flight -= 1
            metrics.chunks_in_flight.dec()

    def check_declared_size(self, content_length: str | None) -> None:
        limit = self.settings.chunk_max_bytes
        if content_length and content_length.isdigit() and int(content_length) > limit + 64 * 1024:
            raise TooLarge(f"a chunk may be at most {limit} bytes (RECORDING_CHUNK_MAX_BYTES)")

    async def upload_chunk(
        self, who: BotIdentity, form: AsyncIterator[tuple[str, str | FilePart]]
    ) -> dict[str, Any]:
        fields: dict[str, str] = {}
        spool: IO[bytes] | None = None
        size = 0
        try:
            async for name, value in form:
                if isinstance(value, FilePart):
                    if spool is not None:
                        raise BadInput("send exactly one 'file' part")
                    spool, size = await _spool(value, self.settings.chunk_max_bytes)
                elif name in (*FIELDS, "metadata"):
                    fields[name] = value
            if spool is None:
                raise BadInput("the form has no 'file' part")
            meta = ChunkMeta.parse(fields, self.settings.max_chunks)
            user_id = self._owner(who, meta)
            async with self.finalizer.locks(user_id, meta.session_uid):
                if size == 0:  # Vexa's "completed" signal carries no bytes
                    answer = await self._empty(user_id, meta, who.meeting)
                else:
                    answer = await self._store(user_id, meta, spool, who.meeting)
        finally:
            if spool is not None:
                spool.close()
        # Outside the session's lock, which the queue's worker takes to finalize it.
        if answer["status"] == "in_progress" and answer["recording_id"] is not None:
            waited = await self.queue.outcome(answer["recording_id"], self.settings.finalize_wait_ms / 1000)
            answer["status"] = waited or answer["status"]
        return answer

    def _owner(self, who: BotIdentity, meta: ChunkMeta) -> int:
        if who.user_id is not None:
            return who.user_id
        owner = meta.user_id or self.index.bot_session_owner(meta.session_uid)
        if owner is None:
            raise BadInput("with INTERNAL_API_SECRET, a session's first chunk names its user_id in metadata")
        return owner

    async def _empty(self, user_id: int, meta: ChunkMeta, meeting: Meeting | None) -> dict[str, Any]:
        """A zero-byte chunk stores nothing. A final one ends the session after the chunks before it
        (its own number is the next one); a non-final one is ignored, as Vexa's newest version does."""
        recording = await self.replicas.session_recording(user_id, meta.session_uid)
        media = self.index.media_of_type(recording.id, meta.media_type) if recording else None
        if not meta.is_final or recording is None or media is None:
            if meta.is_final:
                raise NotFound(f"no {meta.media_type} of session {meta.session_uid!r} to finish")
            return answer(recording, None, meta, "ignored: the chunk is empty")
        self._check_acceptable(recording, media, meta, meeting)
        chunks = self.index.chunks_of(media.id)
        last = max([meta.chunk_seq - 1, *(c.seq for c in chunks)])
        await self._save_manifest(recording, with_chunk(media, last), fresh=False, written=[])
        self.index.mark_final(media.id, last, now_iso())
        return await self._finish_if_ready(recording, media, meta, None)

    async def _store(
        self, user_id: int, meta: ChunkMeta, spool: IO[bytes], meeting: Meeting | None
    ) -> dict[str, Any]:
        now = now_iso()
        recording = await self.replicas.session_recording(user_id, meta.session_uid)
        if recording is None:
            recording = await self._start(user_id, meta, meeting, now)
        # Not in this index yet: this chunk makes the recording (or joins the one a claim names).
        fresh = self.index.get_recording_by_id(recording.id) is None
        media = None if fresh else self.index.media_of_type(recording.id, meta.media_type)
        self._check_acceptable(recording, media, meta, meeting)
        created = None if media else new_media(self.storage.backend, user_id, recording.id, meta, now)
        media = media or created
        assert media is not None
        if not fresh and recording.status != "in_progress":  # new media reopens it until it is done
            recording = reopened(recording)
            self.index.set_status(recording.id, "in_progress", now)

        # Stored as sent: a chunk is never refused for its bytes (the master says what became of them).
        key = chunk_key(media.storage_key, meta.chunk_seq)
        stored = await self.storage.put_stream(key, _blocks(spool))
        chunk = Chunk(media_id=media.id, seq=meta.chunk_seq, storage_key=key, size=stored.size,
                      sha256=stored.sha256, is_final=int(meta.is_final), created_at=now)  # fmt: skip
        if fresh or created or meta.is_final:
            # What a rebuild needs besides the chunk objects: the recording, its media, the final mark.
            change = with_chunk(media, meta.chunk_seq if meta.is_final else None)
            await self._save_manifest(recording, change, fresh=fresh, written=[key])
        made = (recording if fresh else None, created)
        recording, media = await self.replicas.index_chunk(recording, made, media, chunk, now)
        self.finalizer.metrics.chunk_received(stored.size)  # stored and indexed: acknowledged
        return await self._finish_if_ready(recording, media, meta, key)

    async def _start(self, user_id: int, meta: ChunkMeta, meeting: Meeting | None, now: str) -> Recording:
        """A session this index does not know: a new recording, or the one another replica claimed
        for the session first (lite.catalog.session_claims), indexed if its manifest is there."""
        return await self.replicas.claim_session(new_recording(user_id, meta, meeting, now))

    async def _save_manifest(
        self, recording: Recording, change: Change, fresh: bool, written: list[str]
    ) -> None:
        """The chunk's change to the manifest, merged with what other replicas wrote. A missing one is
        created for a new recording, else written again where only damage removes one
        (`rewrite_missing`); where a delete did, or another replica completed the media meanwhile,
        what this request stored goes too."""
        user_id, recording_id = recording.user_id, recording.id
        base = [] if fresh else self.index.media_for([recording_id])
        create = change(recording, base) if fresh else self.replicas.rewrite_missing(change, recording, base)
        try:
            await self.catalog.update_manifest(user_id, recording_id, change, create=create)
            # A delete may have come between this request's read of the claim and its manifest write.
            claimed = not fresh or await self.replicas.session_still_claimed(recording)
            if not claimed:
                await self.catalog.delete_manifest(user_id, recording_id)
                raise RecordingGone(f"recording {recording_id} was deleted")
        except RecordingGone:
            await self.catalog.discard_deleted(user_id, recording_id, written)
            raise RecordingGone(f"recording {recording_id} was deleted; start a new session") from None
        except Conflict:
            # Its media was completed by another replica meanwhile (a final chunk that reached both):
            # the master is stored, and what this request stored is named by nothing; it goes.
            for key in written:
                await self.storage.delete(key)
            raise

    async def _finish_if_ready(
        self, recording: Recording, media: MediaFile, meta: ChunkMeta, key: str | None
    ) -> dict[str, Any]:
        """A media file whose chunks are all here is due: the queue finalizes it (what makes it due is
        stored already, so it stays due across a restart); the chunk is acknowledged now."""
        current = self.index.media_of_type(recording.id, meta.media_type)
        # Chunks are listed only once the final one is known: before that nothing can be ready, and
        # the listing grows with the meeting (1.2 ms per chunk at 720 chunks, on every chunk).
        if (
            current is not None
            and current.final_seq is not None
            and is_ready(current, self.index.chunks_of(current.id))
        ):
            self.queue.submit(recording.id)
        return answer(recording, media, meta, recording.status, key)

    def _check_acceptable(
        self, recording: Recording | None, media: MediaFile | None, meta: ChunkMeta, meeting: Meeting | None
    ) -> None:
        if recording is not None and meeting is not None and recording.meeting_id != meeting.meeting_id:
            raise Forbidden("this session belongs to another meeting than the meeting token's")
        # A finished recording takes no more chunks of its media, but may get a media type it lacks:
        # Vexa's bot sends the video in one upload as it leaves, after the audio was finalized.
        if recording is not None and recording.status != "in_progress" and media is not None:
            raise Conflict(f"recording {recording.id} is already {recording.status}; start a new session")
        if media is None:
            return
        if media.state != "receiving":
            raise Conflict(f"the {meta.media_type} of recording {media.recording_id} is already complete")
        if media.format != meta.format:
            raise BadInput(f"this session's {meta.media_type} is {media.format}, not {meta.format}")
        final = media.final_seq
        if final is not None and meta.chunk_seq > final:
            raise BadInput(f"chunk {meta.chunk_seq} comes after the final chunk {final}")
