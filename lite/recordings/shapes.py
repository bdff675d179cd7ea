"""The API's shapes of a recording and its media files, built in one place: the routes, the
webhook and Vexa's clients all read these; and the rules for the ids they carry."""

from __future__ import annotations

import json
import re
from typing import Any

from lite.catalog.index import Row
from lite.errors import BadInput

MEETING_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def raw_path(recording_id: int, media_id: int) -> str:
    return f"/recordings/{recording_id}/media/{media_id}/raw"


def check_meeting_id(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not MEETING_ID.fullmatch(value):
        raise BadInput("meeting_id must be 1-128 characters of letters, digits, '_', '.', ':' or '-'")
    return value


def _meeting_id_out(value: str | None) -> int | str | None:
    # Vexa's clients expect numeric meeting ids as JSON numbers.
    return int(value) if value is not None and value.isdecimal() and len(value) < 16 else value


def media_out(row: Row) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "type": row["type"],
        "format": row["format"],
        "content_type": row["content_type"],
        "storage_backend": row["storage_backend"],
        "file_size_bytes": row["file_size_bytes"],
        "duration_seconds": row["duration_seconds"],
        "created_at": row["created_at"],
    }
    if row.get("extra"):  # chunked recordings: how many chunks made it, and which never came
        out |= json.loads(row["extra"])
    return out


def recording_out(row: Row, media_rows: list[Row]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "session_uid": row["session_uid"],
        "meeting_id": _meeting_id_out(row["meeting_id"]),
        "platform": row.get("platform"),
        "native_meeting_id": row.get("native_meeting_id"),
        "source": row["source"],
        "status": row["status"],
        "error_message": row.get("error_message"),
        "created_at": row["created_at"],
        "completed_at": row["completed_at"],
        "media_files": [media_out(m) for m in media_rows],
    }
