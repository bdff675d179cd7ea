"""Vexa's meeting reads: `GET /meetings` and `GET /transcripts/{platform}/{native_meeting_id}`, which
Vexa's dashboard takes a meeting's recordings from (lite.recordings.meetings)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter

from lite.catalog.meeting_queries import MeetingQuery
from lite.http.routes.deps import current_user, services


class MeetingsController(Controller):
    path = "/"
    tags = ["meetings"]
    security = [{"ApiKey": []}]
    dependencies = {"user_id": Provide(current_user)}

    @get("/meetings", summary="The meetings the user's recordings belong to, newest first")
    async def list_meetings(
        self,
        state: State,
        user_id: NamedDependency[int],
        limit: int = Parameter(default=100, ge=1, le=1000),
        offset: int = Parameter(default=0, ge=0, le=2**62),
        status: FromQuery[str | None] = None,
        platform: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        query = MeetingQuery(limit=limit, offset=offset, platform=platform, status=status)
        return await services(state).meetings.list(user_id, query)

    @get("/meetings/{meeting_id:str}", summary="One meeting, by Vexa's meeting id")
    async def get_meeting(
        self, state: State, user_id: NamedDependency[int], meeting_id: FromPath[str]
    ) -> dict[str, Any]:
        return await services(state).meetings.one(user_id, meeting_id)

    @get(
        "/transcripts/{platform:str}/{native_meeting_id:str}",
        summary="A meeting with its recordings (Vexa's shape; Lite keeps no transcript: segments is empty)",
    )
    async def meeting_by_native_id(
        self,
        state: State,
        user_id: NamedDependency[int],
        platform: FromPath[str],
        native_meeting_id: FromPath[str],
        meeting_id: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        return await services(state).meetings.transcript(user_id, platform, native_meeting_id, meeting_id)
