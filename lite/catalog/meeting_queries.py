"""The index's queries about meetings: a meeting is what a user's recordings share, the platform and
the platform's meeting id (from Vexa's bot token, or an upload's form) and Vexa's meeting id. A part
of `Index` (lite.catalog.index), kept apart to stay small."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from lite.catalog.records import Recording
from lite.catalog.tables import Tables

# One row per meeting, with what its recordings say about it. `first_id` names a meeting that has no
# meeting id of its own (an upload with only platform and native_meeting_id).
MEETING_COLUMNS = """
    meeting_id, platform, native_meeting_id, MIN(id) AS first_id, COUNT(*) AS recordings,
    MIN(created_at) AS start_time, MAX(updated_at) AS updated_at,
    MAX(COALESCE(completed_at, '')) AS end_time,
    SUM(status = 'in_progress') AS in_progress, SUM(status = 'failed') AS failed
"""
HAS_MEETING = "(meeting_id IS NOT NULL OR native_meeting_id IS NOT NULL)"
# Vexa's meeting status from its recordings: a bot still sending makes it active.
STATUS_OF_GROUP = {
    "active": "in_progress > 0",
    "failed": "in_progress = 0 AND failed = recordings",
    "completed": "in_progress = 0 AND failed < recordings",
}


class Meeting(msgspec.Struct, kw_only=True):
    """A meeting as its recordings describe it (one row of MEETING_COLUMNS)."""

    meeting_id: str | None
    platform: str | None
    native_meeting_id: str | None
    first_id: int
    recordings: int
    start_time: str
    updated_at: str
    end_time: str  # '' while none of its recordings has completed
    in_progress: int
    failed: int


@dataclass(frozen=True, kw_only=True)
class MeetingQuery:
    limit: int = 100
    offset: int = 0
    platform: str | None = None
    native_meeting_id: str | None = None
    status: str | None = None  # one of STATUS_OF_GROUP
    meeting_id: str | None = None  # Vexa's meeting id, or the first recording's id for one without


class MeetingQueries(Tables):
    def meetings(self, user_id: int, query: MeetingQuery) -> list[Meeting]:
        """The user's meetings, newest first."""
        where, params = f"user_id = ? AND {HAS_MEETING}", [user_id]
        if query.platform is not None:
            where, params = where + " AND platform = ?", [*params, query.platform]
        if query.native_meeting_id is not None:
            where, params = where + " AND native_meeting_id = ?", [*params, query.native_meeting_id]
        conditions = [STATUS_OF_GROUP[query.status]] if query.status else []
        if query.meeting_id is not None:
            conditions.append("(meeting_id = ? OR (meeting_id IS NULL AND CAST(first_id AS TEXT) = ?))")
            params += [query.meeting_id, query.meeting_id]
        having = "HAVING " + " AND ".join(conditions) if conditions else ""
        rows = self._all(
            f"SELECT {MEETING_COLUMNS} FROM recordings WHERE {where} "
            f"GROUP BY platform, native_meeting_id, meeting_id {having} "
            "ORDER BY start_time DESC, first_id DESC LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [msgspec.convert(row, Meeting) for row in rows]

    def meeting_recordings(self, user_id: int, meeting: Meeting) -> list[Recording]:
        return self._records(
            Recording,
            "SELECT * FROM recordings WHERE user_id = ? AND platform IS ? AND native_meeting_id IS ? "
            "AND meeting_id IS ? ORDER BY created_at, id",
            (user_id, meeting.platform, meeting.native_meeting_id, meeting.meeting_id),
        )
