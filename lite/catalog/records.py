"""The catalog's records, typed: what a recording, a media file, a chunk, a user and an API key are,
and a recording's manifest. Every layer passes these, not dictionaries; they are converted at the
edges only: from and to SQLite rows (lite.catalog.tables), from and to the JSON objects in storage
(lite.catalog.layout, lite.catalog.account_manifests), and to the API's JSON (lite.recordings.shapes,
lite.accounts.user_shapes).

msgspec Structs: typed attributes at about a dict's cost, and a JSON codec that validates a
manifest while it decodes it (a damaged one fails as a whole, never as a half-read row).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec


class Record(msgspec.Struct, kw_only=True, frozen=True):
    """The base of the index's records: each field is a column of its table. Frozen: the index
    hands the same record to every request that asks while nothing changed (Tables._hot)."""

    def columns(self) -> dict[str, Any]:
        """The record as the row to insert (every column, None included)."""
        return msgspec.structs.asdict(self)


R = TypeVar("R", bound=Record)


def changed(record: R, **fields: Any) -> R:
    """A copy with some fields changed: records are shared between layers, never edited in place."""
    return msgspec.structs.replace(record, **fields)


class Recording(Record, kw_only=True, frozen=True):
    id: int
    user_id: int
    session_uid: str
    meeting_id: str | None = None
    source: str  # "upload" or "bot"
    status: str  # "in_progress", "completed" or "failed"
    created_at: str
    completed_at: str | None = None
    updated_at: str
    platform: str | None = None  # the meeting's platform (google_meet, teams, zoom), from Vexa's token
    native_meeting_id: str | None = None  # the platform's own meeting id, from Vexa's token
    error_message: str | None = None  # why it failed, or how it was kept when not playable
    title: str | None = None  # the uploaded file's name, a bot's, or a rename


class MediaFile(Record, kw_only=True, frozen=True):
    id: int
    recording_id: int
    type: str  # "audio" or "video"
    format: str
    content_type: str
    storage_backend: str
    storage_key: str
    file_size_bytes: int = 0
    duration_seconds: float | None = None
    sha256: str | None = None
    created_at: str
    updated_at: str
    # JSON text: a chunked recording's chunk_count and missing_chunks, an upload's sample_rate.
    extra: str | None = None
    state: str = "complete"  # "receiving" while a bot sends chunks
    final_seq: int | None = None  # the final chunk's number, once it has arrived


class Chunk(Record, kw_only=True, frozen=True):
    """One chunk a bot sent, stored as its own object until the media file is assembled."""

    media_id: int
    seq: int
    storage_key: str
    size: int
    sha256: str
    is_final: int = 0  # SQLite's boolean
    created_at: str


class Manifest(msgspec.Struct, kw_only=True):
    """`recordings/<user_id>/<recording_id>/manifest.json`: a recording and its media files, the
    truth the index is rebuilt from (chunks are listed from storage, not kept here)."""

    version: int = 1
    recording: Recording
    media_files: list[MediaFile] = []


class User(Record, kw_only=True, frozen=True):
    id: int
    email: str
    name: str | None = None
    created_at: str
    image_url: str | None = None
    max_concurrent_bots: int = 3
    data: dict[str, Any] = {}  # Vexa's free object: billing keys, the per-user webhook


class ApiKey(Record, kw_only=True, frozen=True):
    id: int
    user_id: int
    key_hash: str
    created_at: str
    scopes: str = ""  # comma-separated (bot, tx, browser); "" = a key made before scopes: full access
    name: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None  # the index's own: not in the key's file


class OutboxEntry(Record, kw_only=True, frozen=True):
    """One webhook event waiting for one subscriber (lite.sessions.webhook_delivery)."""

    event_id: str  # the event's id, the subscriber's kind and URL (lite.sessions.webhooks.row_key)
    url: str
    secret: str | None = None
    body: str  # the envelope's JSON, as it will be sent
    created_at: str
    attempts: int = 0
    next_at: float  # time.time() of the next attempt
