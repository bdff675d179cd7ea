"""The rows a bot session's chunks make (a recording, a media file, Vexa's answer), and the change a
chunk makes to its recording's manifest, applied again to what another replica wrote meanwhile."""

from __future__ import annotations

from typing import Any

from lite.accounts.bot_auth import Meeting
from lite.catalog.keys import media_key
from lite.catalog.manifest_writes import Change
from lite.catalog.records import MediaFile, Recording, changed
from lite.errors import Conflict
from lite.ids import new_id
from lite.media import formats as media
from lite.sessions.chunk_meta import ChunkMeta


def chunk_key(master_key: str, seq: int) -> str:
    return f"{master_key}.chunks/{seq:08d}"


def new_recording(user_id: int, meta: ChunkMeta, meeting: Meeting | None, now: str) -> Recording:
    return Recording(
        id=new_id(),
        user_id=user_id,
        session_uid=meta.session_uid,
        # The token's meeting is the meeting: Vexa's server ignores the metadata's meeting_id then.
        meeting_id=meeting.meeting_id if meeting else meta.meeting_id,
        platform=meeting.platform if meeting else None,
        native_meeting_id=meeting.native_meeting_id if meeting else None,
        title=meta.title,  # the first chunk's; later chunks do not rename
        source="bot",
        status="in_progress",
        created_at=now,
        updated_at=now,
    )


def session_media(
    recording_id: int, kind: tuple[str, str], stored: tuple[str, str], times: tuple[str, str], state: str
) -> MediaFile:
    """A bot session's media file: `kind` (type, format), `stored` (backend, key), `times` (created,
    updated). Also what `import-vexa` makes of a session Vexa's bot recorded."""
    media_type, fmt = kind
    return MediaFile(
        id=new_id(),
        recording_id=recording_id,
        type=media_type,
        format=fmt,
        content_type=media.content_type(fmt, media_type),
        storage_backend=stored[0],
        storage_key=stored[1],
        created_at=times[0],
        updated_at=times[1],
        state=state,
    )


def new_media(backend: str, user_id: int, recording_id: int, meta: ChunkMeta, now: str) -> MediaFile:
    kind = (meta.media_type, meta.format)
    key = media_key(user_id, recording_id, meta.session_uid, *kind)
    return session_media(recording_id, kind, (backend, key), (now, now), "receiving")


def reopened(recording: Recording) -> Recording:
    """A finished recording that gets a media file it lacks is in progress again."""
    return changed(recording, status="in_progress", completed_at=None, error_message=None)


def with_chunk(mine: MediaFile, final_seq: int | None) -> Change:
    """What a chunk changes in the manifest: its media file, if the manifest has none of its type
    yet (two replicas that both made one keep the first written: the key is the same), which
    reopens a finished recording; and the final mark (the higher of two, as a resend may differ)."""

    def change(recording: Recording, media_files: list[MediaFile]) -> tuple[Recording, list[MediaFile]]:
        found = next((m for m in media_files if m.type == mine.type), None)
        if found is None:
            found, media_files = mine, [*media_files, mine]
            if recording.status != "in_progress":
                recording = reopened(recording)
        elif found.state != "receiving":
            raise Conflict(f"the {mine.type} of recording {recording.id} is already complete")
        if final_seq is not None:
            final = max(final_seq, found.final_seq if found.final_seq is not None else -1)
            media_files = [changed(m, final_seq=final) if m is found else m for m in media_files]
        return recording, media_files

    return change


def answer(recording: Recording | None, media_file: MediaFile | None, meta: ChunkMeta, status: str,
           key: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Vexa's answer; media_file_id on every chunk, as its newest version sends it (v0.10.7 only
    on the final one, and its bot reads none of it)."""
    return {
        "recording_id": recording.id if recording else None,
        "media_file_id": media_file.id if media_file else None,
        "storage_path": key,
        "status": status,
        "chunk_seq": meta.chunk_seq,
    }
