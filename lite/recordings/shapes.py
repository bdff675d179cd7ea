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

from lite.catalog.index import Row
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


def is_master(row: Row) -> bool:
    """A media file is playable as a whole (Vexa's "master") once it is no longer receiving chunks."""
    return bool(row["state"] == "complete")


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


def media_out(row: Row) -> dict[str, Any]:
    # `extra`: chunked recordings' chunk_count and missing_chunks, and the probed sample_rate.
    extra = json.loads(row["extra"]) if row.get("extra") else {}
    sample_rate = extra.pop("sample_rate", None)
    complete = is_master(row)
    out = {
        "id": row["id"],
        "type": row["type"],
        "format": row["format"],
        "content_type": row["content_type"],
        "storage_path": row["storage_key"],
        "storage_backend": row["storage_backend"],
        "file_size_bytes": row["file_size_bytes"],
        "duration_seconds": row["duration_seconds"],
        "metadata": {"sample_rate": sample_rate} if sample_rate else {},
        "chunk_count": 1 if complete and row.get("final_seq") is None else None,
        "created_at": row["created_at"],
        "is_final": complete or row.get("final_seq") is not None,
        "finalized_at": row["updated_at"] if complete else None,
        "finalized_by": MASTER if complete else None,
    }
    return out | extra


def playback_url(recording_id: int, media_rows: list[Row]) -> dict[str, str | None]:
    """Vexa's dashboard shows a player only when `playback_url.audio` is set; it then asks
    `/master?type=` for the file (404 there means "still finalizing")."""
    present = {m["type"] for m in media_rows}
    return {t: master_path(recording_id, t) if t in present else None for t in PLAYBACK_TYPES}


def recording_out(row: Row, media_rows: list[Row]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "session_uid": row["session_uid"],
        "title": row.get("title"),  # Lite's: the file's name, a bot's, or a rename; null when none
        "meeting_id": meeting_id_out(row["meeting_id"]),
        "platform": row.get("platform"),
        "native_meeting_id": row.get("native_meeting_id"),
        "source": row["source"],
        "status": row["status"],
        "error_message": row.get("error_message"),
        "created_at": row["created_at"],
        "completed_at": row["completed_at"],
        "media_files": [media_out(m) for m in media_rows],
        "playback_url": playback_url(row["id"], media_rows),
    }
