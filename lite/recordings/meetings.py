"""Meetings as Vexa's clients read them: `GET /meetings` and `GET /transcripts/{platform}/{id}`.

Lite has no meeting table: a meeting is what a user's recordings share (platform, the platform's
meeting id, Vexa's meeting id; lite.catalog.meeting_queries). Its status, start and end come from
those recordings. Lite stores no transcripts: `segments` and `speaker_events` are always empty
lists, so Vexa's dashboard shows the meeting with its recordings and no transcript.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lite.catalog.index import Index
from lite.catalog.manifests import Catalog
from lite.catalog.meeting_queries import STATUS_OF_GROUP, Meeting, MeetingQuery
from lite.errors import BadInput, NotFound
from lite.recordings.shapes import NATIVE_MEETING_ID, PLATFORMS, meeting_id_out, recording_out

MEETING_URLS = {  # as Vexa's Platform.construct_meeting_url; Teams needs a passcode Lite never sees
    "google_meet": "https://meet.google.com/{}",
    "zoom": "https://zoom.us/j/{}",
}
MAX_PER_MEETING = 1000  # recordings listed with one meeting: bots rejoining make a few, not thousands


def check_platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise BadInput(f"platform must be one of {', '.join(PLATFORMS)}")
    return platform


def check_status(status: str | None) -> str | None:
    if status is not None and status not in STATUS_OF_GROUP:
        raise BadInput(f"status must be one of {', '.join(STATUS_OF_GROUP)}")
    return status


def _status(meeting: Meeting) -> str:
    if meeting.in_progress:  # as STATUS_OF_GROUP says it in SQL
        return "active"
    return "failed" if meeting.failed == meeting.recordings else "completed"


def meeting_out(user_id: int, meeting: Meeting) -> dict[str, Any]:
    native, platform = meeting.native_meeting_id, meeting.platform
    url = MEETING_URLS.get(platform or "")
    status = _status(meeting)
    return {
        "id": meeting_id_out(meeting.meeting_id) or meeting.first_id,
        "user_id": user_id,
        "platform": platform,
        "native_meeting_id": native,
        "constructed_meeting_url": url.format(native) if url and native else None,
        "status": status,
        "bot_container_id": None,
        "start_time": meeting.start_time,
        "end_time": (meeting.end_time or None) if status != "active" else None,
        "completion_reason": None,
        "failure_stage": None,
        "data": {},
        "created_at": meeting.start_time,
        "updated_at": meeting.updated_at,
    }


class Meetings:
    def __init__(self, index: Index, catalog: Catalog) -> None:
        self.index = index
        self.catalog = catalog

    async def list(self, user_id: int, query: MeetingQuery) -> dict[str, Any]:
        check_status(query.status)
        if query.platform is not None:
            check_platform(query.platform)
        await self.catalog.sync_user(user_id)  # recordings other replicas wrote
        # One more than asked says whether another page follows (Vexa's dashboard reads has_more).
        found = self.index.meetings(user_id, dataclasses.replace(query, limit=query.limit + 1))
        return {
            "meetings": [meeting_out(user_id, m) for m in found[: query.limit]],
            "has_more": len(found) > query.limit,
        }

    async def one(self, user_id: int, meeting_id: str) -> dict[str, Any]:
        await self.catalog.sync_user(user_id)  # recordings other replicas wrote
        found = self.index.meetings(user_id, MeetingQuery(meeting_id=meeting_id, limit=1))
        if not found:
            raise NotFound("Meeting not found")
        return meeting_out(user_id, found[0])

    async def transcript(
        self, user_id: int, platform: str, native_meeting_id: str, meeting_id: str | None
    ) -> dict[str, Any]:
        """The newest meeting of the user with that platform and id (or the one `meeting_id` names),
        in the shape of Vexa's transcript answer, with the meeting's recordings."""
        check_platform(platform)
        if not NATIVE_MEETING_ID.fullmatch(native_meeting_id):
            raise NotFound(f"Meeting not found for platform {platform} and ID {native_meeting_id[:256]}")
        await self.catalog.sync_user(user_id)  # recordings other replicas wrote
        query = MeetingQuery(
            platform=platform, native_meeting_id=native_meeting_id, meeting_id=meeting_id, limit=1
        )
        found = self.index.meetings(user_id, query)
        if not found:
            also = f" and meeting_id {meeting_id[:64]}" if meeting_id is not None else ""
            raise NotFound(f"Meeting not found for platform {platform} and ID {native_meeting_id}{also}")
        meeting = found[0]
        recordings = self.index.meeting_recordings(user_id, meeting)[-MAX_PER_MEETING:]
        media = self.index.media_by_recording([r.id for r in recordings])
        return meeting_out(user_id, meeting) | {
            "recordings": [recording_out(r, media[r.id]) for r in recordings],
            "notes": None,
            "speaker_events": [],
            "segments": [],  # Lite stores recordings, not transcripts
        }
