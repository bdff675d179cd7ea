"""Chunked recording by meeting bots (Vexa's bot upload contract).

A bot sends a chunk every few seconds while the meeting runs. Each chunk is stored under its own
key before it is acknowledged, so nothing acknowledged is ever only in memory; a resent chunk
replaces the earlier copy. The first chunk of an unseen session creates the recording.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO

from anyio import to_thread

from lite.accounts.bot_auth import BotIdentity, Meeting
from lite.catalog.index import Index, Row
from lite.catalog.keys import media_key
from lite.catalog.manifests import Catalog
from lite.clock import now_iso
from lite.config import Settings
from lite.errors import BadInput, Busy, Conflict, Forbidden, NotFound, TooLarge
from lite.http.multipart import FilePart
from lite.ids import new_id
from lite.media import formats as media
from lite.sessions.chunk_meta import FIELDS, ChunkMeta
from lite.sessions.finalize import is_ready
from lite.sessions.finalize_queue import FinalizeQueue
from lite.storage import Storage

SPOOL_IN_MEMORY = 1024 * 1024


def chunk_key(master_key: str, seq: int) -> str:
    return f"{master_key}.chunks/{seq:08d}"


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


class BotUploads:
    def __init__(
        self, settings: Settings, index: Index, storage: Storage, catalog: Catalog, queue: FinalizeQueue
    ) -> None:
        self.settings = settings
        self.index = index
        self.storage = storage
        self.catalog = catalog
        self.queue = queue
        self.finalizer = queue.finalizer
        self.shared = storage.shared
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
                retry_after=self.settings.bot_retry_after_seconds,
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

    async def upload_chunk(self, who: BotIdentity, form: AsyncIterator[tuple[str, str | FilePart]]) -> Row:
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

    async def _empty(self, user_id: int, meta: ChunkMeta, meeting: Meeting | None) -> Row:
        """A zero-byte chunk stores nothing. A final one ends the session after the chunks before it
        (its own number is the next one); a non-final one is ignored, as Vexa's newest version does."""
        recording = await self._current_recording(user_id, meta.session_uid)
        media_row = self.index.media_of_type(recording["id"], meta.media_type) if recording else None
        if not meta.is_final or recording is None or media_row is None:
            if meta.is_final:
                raise NotFound(f"no {meta.media_type} of session {meta.session_uid!r} to finish")
            return self._answer(recording, None, meta, "ignored: the chunk is empty")
        self._check_acceptable(recording, media_row, meta, meeting)
        chunks = self.index.chunks_of(media_row["id"])
        last = max([meta.chunk_seq - 1, *(int(c["seq"]) for c in chunks)])
        media_rows = self.index.media_for([recording["id"]])
        for row in media_rows:
            if row["id"] == media_row["id"]:
                row["final_seq"] = last
        await self.catalog.save_manifest(recording, media_rows)
        self.index.mark_final(media_row["id"], last, now_iso())
        return await self._finish_if_ready(recording, media_row, meta, None)

    async def _store(self, user_id: int, meta: ChunkMeta, spool: IO[bytes], meeting: Meeting | None) -> Row:
        recording = await self._current_recording(user_id, meta.session_uid)
        media_row = self.index.media_of_type(recording["id"], meta.media_type) if recording else None
        self._check_acceptable(recording, media_row, meta, meeting)

        now = now_iso()
        new_recording = None if recording else self._new_recording(user_id, meta, meeting, now)
        recording = recording or new_recording
        assert recording is not None
        new_media = None if media_row else self._new_media(user_id, recording["id"], meta, now)
        media_row = media_row or new_media
        assert media_row is not None
        if recording["status"] != "in_progress":  # the new media reopens it until that one is done
            recording = {**recording, "status": "in_progress", "completed_at": None, "error_message": None}
            self.index.set_status(recording["id"], "in_progress", now)

        # Stored as sent: a chunk is never refused for its bytes (the master says what became of them).
        key = chunk_key(media_row["storage_key"], meta.chunk_seq)
        stored = await self.storage.put_stream(key, _blocks(spool))
        chunk = {
            "media_id": media_row["id"],
            "seq": meta.chunk_seq,
            "storage_key": key,
            "size": stored.size,
            "sha256": stored.sha256,
            "is_final": int(meta.is_final),
            "created_at": now,
        }
        if new_recording or new_media or meta.is_final:
            # What a rebuild needs besides the chunk objects: the recording, its media, the final mark.
            media_rows = self.index.media_for([recording["id"]]) + ([new_media] if new_media else [])
            for row in media_rows:
                if meta.is_final and row["id"] == media_row["id"]:
                    row["final_seq"] = meta.chunk_seq
            await self.catalog.save_manifest(recording, media_rows)
        self.index.record_chunk(new_recording, new_media, chunk, now)
        self.finalizer.metrics.chunk_received(stored.size)  # stored and indexed: acknowledged
        if self.shared and not new_recording:  # chunks other replicas received count towards "ready"
            await self.catalog.load_recording(user_id, recording["id"])

        return await self._finish_if_ready(recording, media_row, meta, key)

    async def _finish_if_ready(self, recording: Row, media_row: Row, meta: ChunkMeta, key: str | None) -> Row:
        """A media file whose chunks are all here is due: the queue finalizes it (what makes it due is
        stored already, so it stays due across a restart); the chunk is acknowledged now."""
        current = self.index.media_of_type(recording["id"], meta.media_type)
        if current is not None and is_ready(current, self.index.chunks_of(current["id"])):
            self.queue.submit(recording["id"])
        return self._answer(recording, media_row, meta, recording["status"], key)

    @staticmethod
    def _answer(recording: Row | None, media_row: Row | None, meta: ChunkMeta, status: str,
                key: str | None = None) -> Row:  # fmt: skip
        """Vexa's answer; media_file_id on every chunk, as its newest version sends it (v0.10.7 only
        on the final one, and its bot reads none of it)."""
        return {
            "recording_id": recording["id"] if recording else None,
            "media_file_id": media_row["id"] if media_row else None,
            "storage_path": key,
            "status": status,
            "chunk_seq": meta.chunk_seq,
        }

    async def _current_recording(self, user_id: int, session_uid: str) -> Row | None:
        """The session's recording as it is now. With shared storage another replica may have started
        it, added chunks or finalized it, so the manifest and chunk listing are read again."""
        recording = self.index.bot_recording(user_id, session_uid)
        if not self.shared:
            return recording
        if recording is None:
            await self.catalog.sync_user(user_id)
        elif recording["status"] == "in_progress":
            await self.catalog.load_recording(user_id, recording["id"])
        return self.index.bot_recording(user_id, session_uid)

    def _check_acceptable(
        self, recording: Row | None, media_row: Row | None, meta: ChunkMeta, meeting: Meeting | None
    ) -> None:
        if recording is not None and meeting is not None and recording["meeting_id"] != meeting.meeting_id:
            raise Forbidden("this session belongs to another meeting than the meeting token's")
        # A finished recording takes no more chunks of its media, but may get a media type it lacks:
        # Vexa's bot sends the video in one upload as it leaves, after the audio was finalized.
        if recording is not None and recording["status"] != "in_progress" and media_row is not None:
            raise Conflict(
                f"recording {recording['id']} is already {recording['status']}; start a new session"
            )
        if media_row is None:
            return
        if media_row["state"] != "receiving":
            raise Conflict(
                f"the {meta.media_type} of recording {media_row['recording_id']} is already complete"
            )
        if media_row["format"] != meta.format:
            raise BadInput(f"this session's {meta.media_type} is {media_row['format']}, not {meta.format}")
        final = media_row["final_seq"]
        if final is not None and meta.chunk_seq > final:
            raise BadInput(f"chunk {meta.chunk_seq} comes after the final chunk {final}")

    @staticmethod
    def _new_recording(user_id: int, meta: ChunkMeta, meeting: Meeting | None, now: str) -> Row:
        return {
            "id": new_id(),
            "user_id": user_id,
            "session_uid": meta.session_uid,
            # The token's meeting is the meeting: Vexa's server ignores the metadata's meeting_id then.
            "meeting_id": meeting.meeting_id if meeting else meta.meeting_id,
            "platform": meeting.platform if meeting else None,
            "native_meeting_id": meeting.native_meeting_id if meeting else None,
            "error_message": None,
            "title": meta.title,  # the first chunk's; later chunks do not rename
            "source": "bot",
            "status": "in_progress",
            "created_at": now,
            "completed_at": None,
            "updated_at": now,
        }

    def _new_media(self, user_id: int, recording_id: int, meta: ChunkMeta, now: str) -> Row:
        return {
            "id": new_id(),
            "recording_id": recording_id,
            "type": meta.media_type,
            "format": meta.format,
            "content_type": media.content_type(meta.format, meta.media_type),
            "storage_backend": self.storage.backend,
            "storage_key": media_key(user_id, recording_id, meta.session_uid, meta.media_type, meta.format),
            "file_size_bytes": 0,
            "duration_seconds": None,
            "sha256": None,
            "created_at": now,
            "updated_at": now,
            "extra": None,
            "state": "receiving",
            "final_seq": None,
        }
