"""The rows a bot session's chunks make (a recording, a media file, Vexa's answer), and the change a
chunk makes to its recording's manifest, applied again to what another replica wrote meanwhile."""

from __future__ import annotations

from lite.accounts.bot_auth import Meeting
from lite.catalog.index import Row
from lite.catalog.keys import media_key
from lite.catalog.manifest_writes import Change
from lite.errors import Conflict
from lite.ids import new_id
from lite.media import formats as media
from lite.sessions.chunk_meta import ChunkMeta

REOPENED = {"status": "in_progress", "completed_at": None, "error_message": None}  # a media file added


def chunk_key(master_key: str, seq: int) -> str:
    return f"{master_key}.chunks/{seq:08d}"


def new_recording(user_id: int, meta: ChunkMeta, meeting: Meeting | None, now: str) -> Row:
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


def new_media(backend: str, user_id: int, recording_id: int, meta: ChunkMeta, now: str) -> Row:
    return {
        "id": new_id(),
        "recording_id": recording_id,
        "type": meta.media_type,
        "format": meta.format,
        "content_type": media.content_type(meta.format, meta.media_type),
        "storage_backend": backend,
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


def with_chunk(mine: Row, final_seq: int | None) -> Change:
    """What a chunk changes in the manifest: its media file, if the manifest has none of its type
    yet (two replicas that both made one keep the first written: the key is the same), which
    reopens a finished recording; and the final mark (the higher of two, as a resend may differ)."""

    def change(recording: Row, media_rows: list[Row]) -> tuple[Row, list[Row]]:
        found = next((m for m in media_rows if m["type"] == mine["type"]), None)
        if found is None:
            found, media_rows = mine, [*media_rows, mine]
            if recording["status"] != "in_progress":
                recording = {**recording, **REOPENED}
        elif found["state"] != "receiving":
            raise Conflict(f"the {mine['type']} of recording {recording['id']} is already complete")
        if final_seq is not None:
            final = max(final_seq, found["final_seq"] if found["final_seq"] is not None else -1)
            media_rows = [{**m, "final_seq": final} if m is found else m for m in media_rows]
        return recording, media_rows

    return change


def answer(recording: Row | None, media_row: Row | None, meta: ChunkMeta, status: str,
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
