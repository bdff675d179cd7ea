"""The API's shapes of a recording and its media files, built in one place: the routes, the
webhook and Vexa's clients all read these; and the rules for the ids they carry.

The fields and value sets are Vexa's (v0.10.7's stored recording, which its dashboard, webhook
receivers and `/transcripts` readers see), plus Lite's own (`content_type`, `missing_chunks`).
Timestamps are ISO 8601 in UTC with an explicit offset (`+00:00`): Vexa's dashboard parses them
with `new Date()` and sorts them as strings, which works for both; Vexa's own naive strings would
be read as local time by a browser.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lite.catalog.records import MediaFile, Recording
from lite.errors import BadInput

MEETING_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
PLATFORMS = ("google_meet", "teams", "zoom")  # Vexa's Platform enum
NATIVE_MEETING_ID = re.compile(r"[^\s/?#\\\x00-\x1f\x7f]{1,256}")


MASTER = "recording_finalizer.master"  # Vexa's finalized_by for a playable master file
PLAYBACK_TYPES = ("audio", "video")


def raw_path(recording_id: int, media_id: int) -> str:
    return f"/recordings/{recording_id}/media/{media_id}/raw"


def master_path(recording_id: int, media_type: str) -> str:
    return f"/recordings/{recording_id}/master?type={media_type}"


def is_master(media: MediaFile) -> bool:
    """A media file is playable as a whole (Vexa's "master") once it is no longer receiving chunks."""
    return media.state == "complete"


def check_meeting_id(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not MEETING_ID.fullmatch(value):
        raise BadInput("meeting_id must be 1-128 characters of letters, digits, '_', '.', ':' or '-'")
    return value


def meeting_of(fields: dict[str, str]) -> dict[str, str | None]:
    """The meeting an upload belongs to, from its form: Vexa's `meeting_id`, and the `platform` and
    `native_meeting_id` its dashboard finds a meeting's recordings by (/transcripts/...)."""
    platform = fields.get("platform") or None
    if platform is not None and platform not in PLATFORMS:
        raise BadInput(f"platform must be one of {', '.join(PLATFORMS)}")
    native = fields.get("native_meeting_id") or None
    if native is not None and not NATIVE_MEETING_ID.fullmatch(native):
        raise BadInput("native_meeting_id must be 1-256 characters without spaces, '/', '?' or '#'")
    if (platform is None) != (native is None):
        raise BadInput("send platform and native_meeting_id together (a meeting is named by both)")
    return {"meeting_id": check_meeting_id(fields.get("meeting_id")), "platform": platform,
            "native_meeting_id": native}  # fmt: skip


def meeting_id_out(value: str | None) -> int | str | None:
    # Vexa's clients expect numeric meeting ids as JSON numbers.
    return int(value) if value is not None and value.isdecimal() and len(value) < 16 else value


def media_out(media: MediaFile) -> dict[str, Any]:
    # `extra`: chunked recordings' chunk_count and missing_chunks, and the probed sample_rate.
    extra = json.loads(media.extra) if media.extra else {}
    sample_rate = extra.pop("sample_rate", None)
    complete = is_master(media)
    out = {
        "id": media.id,
        "type": media.type,
        "format": media.format,
        "content_type": media.content_type,
        "storage_path": media.storage_key,
        "storage_backend": media.storage_backend,
        "file_size_bytes": media.file_size_bytes,
        "duration_seconds": media.duration_seconds,
        "metadata": {"sample_rate": sample_rate} if sample_rate else {},
        "chunk_count": 1 if complete and media.final_seq is None else None,
        "created_at": media.created_at,
        "is_final": complete or media.final_seq is not None,
        "finalized_at": media.updated_at if complete else None,
        "finalized_by": MASTER if complete else None,
    }
    return out | extra


def master_out(media: MediaFile, filename: str, url: str | None, expires: int) -> dict[str, Any]:
    """Vexa's `/master?type=` answer. `url`: presigned straight to the store, or None (local):
    then the relative /raw path, for Vexa's dashboard proxy (it adds the key)."""
    raw = raw_path(media.recording_id, media.id)
    return {
        "url": url or raw,
        "download_url": url or raw,
        "raw_url": raw,
        "filename": filename,
        "content_type": media.content_type,
        "file_size_bytes": media.file_size_bytes,
        "expires_in": expires,  # Vexa's clients read a number; a relative /raw URL does not expire
        "media_file_id": media.id,
        "duration_seconds": media.duration_seconds,
    }


def download_out(
    media: MediaFile, filename: str, presigned: tuple[str | None, int], token: tuple[str, int] | None
) -> dict[str, Any]:
    """`/download`'s answer: `presigned` (the URL or None, and its lifetime); `token`, a playback
    token and its lifetime, makes `raw_url` work without headers, in a media element. `url` stays
    the plain API path for local: a link clients may keep or log is no credential."""
    raw = raw_path(media.recording_id, media.id)
    url, expires = presigned
    return {
        "url": url or raw,
        "download_url": url or raw,
        "raw_url": f"{raw}?token={token[0]}" if token else raw,
        "raw_url_expires_in": token[1] if token else None,
        "filename": filename,
        "content_type": media.content_type,
        "file_size_bytes": media.file_size_bytes,
        "expires_in": expires if url else None,
        "storage_backend": media.storage_backend,
    }


def playback_url(recording_id: int, media: list[MediaFile]) -> dict[str, str | None]:
    """Vexa's dashboard shows a player only when `playback_url.audio` is set; it then asks
    `/master?type=` for the file (404 there means "still finalizing")."""
    present = {m.type for m in media}
    return {t: master_path(recording_id, t) if t in present else None for t in PLAYBACK_TYPES}


def recording_out(recording: Recording, media: list[MediaFile]) -> dict[str, Any]:
    return {
        "id": recording.id,
        "user_id": recording.user_id,
        "session_uid": recording.session_uid,
        "title": recording.title,  # Lite's: the file's name, a bot's, or a rename; null when none
        "meeting_id": meeting_id_out(recording.meeting_id),
        "platform": recording.platform,
        "native_meeting_id": recording.native_meeting_id,
        "source": recording.source,
        "status": recording.status,
        "error_message": recording.error_message,
        "created_at": recording.created_at,
        "completed_at": recording.completed_at,
        "media_files": [media_out(m) for m in media],
        "playback_url": playback_url(recording.id, media),
    }
