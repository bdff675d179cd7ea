"""The recordings API (compatible with Vexa's): upload, list, get, delete, download, raw bytes."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, route
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter, QueryParameter
from litestar.response import Stream

from lite.catalog.index import ListQuery
from lite.http import playback
from lite.http.multipart import iter_form
from lite.http.routes.deps import current_user, media_reader, playback_token, services

RecordingId = Parameter(ge=1, le=2**63 - 1)


class RecordingsController(Controller):
    path = "/recordings"
    tags = ["recordings"]
    security = [{"ApiKey": []}]
    dependencies = {"user_id": Provide(current_user)}

    @post(
        "/",
        status_code=201,
        summary="Upload a whole recording (multipart: file, session_uid, media_type, format, meeting_id)",
        request_max_body_size=None,  # enforced while streaming, against MAX_UPLOAD_BYTES
    )
    async def upload(self, request: Request, state: State, user_id: NamedDependency[int]) -> dict[str, Any]:
        svc = services(state).recordings
        svc.check_declared_size(request.headers.get("content-length"))
        form = iter_form(request.stream(), request.headers.get("content-type"))
        return await svc.upload(user_id, form)

    @get("/", summary="List recordings, newest first")
    async def list_recordings(
        self,
        state: State,
        user_id: NamedDependency[int],
        limit: int = Parameter(default=50, ge=1, le=200),
        offset: int = Parameter(default=0, ge=0, le=2**62),
        status: FromQuery[str | None] = None,
        session_uid: FromQuery[str | None] = None,
        meeting_id: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        query = ListQuery(
            limit=limit, offset=offset, status=status, session_uid=session_uid, meeting_id=meeting_id
        )
        return await services(state).recordings.list(user_id, query)

    @get("/{recording_id:int}", summary="One recording with its media files")
    async def get_recording(
        self, state: State, user_id: NamedDependency[int], recording_id: int = RecordingId
    ) -> dict[str, Any]:
        return await services(state).recordings.get(user_id, recording_id)

    @delete("/{recording_id:int}", status_code=200, summary="Delete a recording and its media")
    async def delete_recording(
        self, state: State, user_id: NamedDependency[int], recording_id: int = RecordingId
    ) -> dict[str, Any]:
        return await services(state).recordings.delete(user_id, recording_id)

    @post(
        "/{recording_id:int}/finalize",
        status_code=200,
        summary="Assemble a failed recording again from the chunks it kept",
    )
    async def finalize_again(
        self, state: State, user_id: NamedDependency[int], recording_id: int = RecordingId
    ) -> dict[str, Any]:
        await services(state).finalizer.retry(user_id, recording_id)
        return await services(state).recordings.get(user_id, recording_id)

    @get("/{recording_id:int}/master", summary="Where to play the recording's whole audio or video file")
    async def master(
        self,
        state: State,
        user_id: NamedDependency[int],
        recording_id: int = RecordingId,
        media_type: Annotated[str, QueryParameter(name="type", pattern="^(audio|video)$")] = "audio",
    ) -> dict[str, Any]:
        return await services(state).recordings.master(user_id, recording_id, media_type)

    @get(
        "/{recording_id:int}/media/{media_id:int}/download",
        summary="Where to download a media file; raw_url carries a playback token for media elements",
        dependencies={"raw_token": Provide(playback_token)},
    )
    async def download(
        self,
        state: State,
        user_id: NamedDependency[int],
        raw_token: NamedDependency[str],
        recording_id: int = RecordingId,
        media_id: int = RecordingId,
    ) -> dict[str, Any]:
        return await services(state).recordings.download(user_id, recording_id, media_id, raw_token)

    @route(
        "/{recording_id:int}/media/{media_id:int}/raw",
        http_method=["GET", "HEAD"],
        summary="The media bytes, with HTTP Range support; an API key or ?token= (from raw_url) reads them",
        dependencies={"user_id": Provide(media_reader)},
    )
    async def raw(
        self,
        request: Request,
        state: State,
        user_id: NamedDependency[int],
        recording_id: int = RecordingId,
        media_id: int = RecordingId,
    ) -> Response[Any]:
        source = await services(state).recordings.media_source(user_id, recording_id, media_id)
        reply = await playback.serve(source, request.headers, head_only=request.method == "HEAD")
        if reply.content is not None:
            return Response(reply.content, status_code=reply.status, headers=reply.headers)
        if reply.body is not None:
            return Stream(reply.body, status_code=reply.status, headers=reply.headers)
        content = {"detail": reply.detail} if reply.detail and request.method != "HEAD" else b""
        return Response(content, status_code=reply.status, headers=reply.headers)
