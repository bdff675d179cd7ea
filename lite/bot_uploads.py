"""Chunked recording by meeting bots (Vexa's bot upload contract).

A bot sends a chunk every few seconds while the meeting runs. Each chunk is stored under its own
key before it is acknowledged, so nothing acknowledged is ever only in memory; a resent chunk
replaces the earlier copy. The first chunk of an unseen session creates the recording.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from anyio import to_thread

from lite import media
from lite.catalog import Catalog
from lite.clock import now_iso
from lite.config import Settings
from lite.errors import BadInput, Conflict, TooLarge
from lite.finalize import Finalizer, is_ready
from lite.ids import new_id
from lite.index import Index, Row
from lite.keys import check_session_uid, media_key
from lite.multipart import FilePart
from lite.recordings import check_meeting_id
from lite.storage import Storage

SPOOL_IN_MEMORY = 1024 * 1024
MAX_SEQ = 10_000_000
FIELDS = ("session_uid", "media_type", "format", "chunk_seq", "is_final", "duration_seconds", "sample_rate")


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadInput(f"{name} must be a whole number")
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return number


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise BadInput(f"{name} must be true or false")


def _float(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a number") from None
    if not 0 <= number < 1e7:
        raise BadInput(f"{name} must be between 0 and 10,000,000")
    return number


@dataclass(frozen=True)
class ChunkMeta:
    session_uid: str
    media_type: str
    format: str
    chunk_seq: int
    is_final: bool
    meeting_id: str | None

    @classmethod
    def parse(cls, fields: dict[str, str]) -> ChunkMeta:
        values: dict[str, Any] = {k: v for k, v in fields.items() if k != "metadata"}
        if "metadata" in fields:  # the JSON metadata wins over flat form fields
            try:
                decoded = json.loads(fields["metadata"])
            except ValueError:
                raise BadInput("metadata must be a JSON object") from None
            if not isinstance(decoded, dict):
                raise BadInput("metadata must be a JSON object")
            values |= decoded
        for required in ("session_uid", "format", "chunk_seq"):
            if values.get(required) in (None, ""):
                raise BadInput(f"{required} is required in metadata")
        media_type = str(values.get("media_type") or "audio").lower()
        if media_type not in media.MEDIA_TYPES:
            raise BadInput(f"media_type must be one of {', '.join(media.MEDIA_TYPES)}")
        fmt = str(values["format"]).lower()
        if fmt not in media.FORMATS:
            raise BadInput(f"unknown format {values['format']!r}; use one of {', '.join(media.FORMATS)}")
        _float(values.get("duration_seconds"), "duration_seconds")  # validated; the media decides
        if values.get("sample_rate") not in (None, ""):
            _int(values["sample_rate"], "sample_rate", 1, 1_000_000)
        meeting_id = values.get("meeting_id")
        return cls(
            session_uid=check_session_uid(str(values["session_uid"])),
            media_type=media_type,
            format=fmt,
            chunk_seq=_int(values["chunk_seq"], "chunk_seq", 0, MAX_SEQ),
            is_final=_bool(values.get("is_final", False), "is_final"),
            meeting_id=check_meeting_id(None if meeting_id is None else str(meeting_id)),
        )


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
        self, settings: Settings, index: Index, storage: Storage, catalog: Catalog, finalizer: Finalizer
    ) -> None:
        self.settings = settings
        self.index = index
        self.storage = storage
        self.catalog = catalog
        self.finalizer = finalizer
        self.shared = settings.storage_backend != "local"

    def check_declared_size(self, content_length: str | None) -> None:
        limit = self.settings.chunk_max_bytes
        if content_length and content_length.isdigit() and int(content_length) > limit + 64 * 1024:
            raise TooLarge(f"a chunk may be at most {limit} bytes (RECORDING_CHUNK_MAX_BYTES)")

    async def upload_chunk(
        self, user_id: int, form: AsyncIterator[tuple[str, str | FilePart]]
    ) -> dict[str, Any]:
        fields: dict[str, str] = {}
        spool: IO[bytes] | None = None
        try:
            async for name, value in form:
                if isinstance(value, FilePart):
                    if spool is not None:
                        raise BadInput("send exactly one 'file' part")
                    spool, size = await _spool(value, self.settings.chunk_max_bytes)
                elif name in (*FIELDS, "metadata", "meeting_id"):
                    fields[name] = value
            if spool is None:
                raise BadInput("the form has no 'file' part")
            if size == 0:
                raise BadInput("the chunk is empty")
            meta = ChunkMeta.parse(fields)
            async with self.finalizer.locks(user_id, meta.session_uid):
                return await self._store(user_id, meta, spool)
        finally:
            if spool is not None:
                spool.close()

    async def _store(self, user_id: int, meta: ChunkMeta, spool: IO[bytes]) -> dict[str, Any]:
        recording = await self._current_recording(user_id, meta.session_uid)
        media_row = self.index.media_of_type(recording["id"], meta.media_type) if recording else None
        self._check_acceptable(recording, media_row, meta)
        if meta.chunk_seq == 0:
            media.check_content(meta.format, spool.read(media.SNIFF_BYTES))
            spool.seek(0)

        now = now_iso()
        new_recording = None if recording else self._new_recording(user_id, meta, now)
        recording = recording or new_recording
        assert recording is not None
        new_media = None if media_row else self._new_media(user_id, recording["id"], meta, now)
        media_row = media_row or new_media
        assert media_row is not None

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
        if self.shared and not new_recording:  # chunks other replicas received count towards "ready"
            await self.catalog.load_recording(user_id, recording["id"])

        status = recording["status"]
        current = self.index.media_of_type(recording["id"], meta.media_type)
        if current is not None and is_ready(current, self.index.chunks_of(current["id"])):
            status = await self.finalizer.finalize(recording, force=False)
        return {
            "recording_id": recording["id"],
            "media_file_id": media_row["id"],
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

    def _check_acceptable(self, recording: Row | None, media_row: Row | None, meta: ChunkMeta) -> None:
        if recording is not None and recording["status"] != "in_progress":
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
    def _new_recording(user_id: int, meta: ChunkMeta, now: str) -> Row:
        return {
            "id": new_id(),
            "user_id": user_id,
            "session_uid": meta.session_uid,
            "meeting_id": meta.meeting_id,
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
