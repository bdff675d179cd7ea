"""The recordings API (compatible with Vexa's): upload, list, get, delete, download, raw bytes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, route
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter, QueryParameter
from litestar.types import ASGIApp

from lite.catalog.index import ListQuery
from lite.errors import BadInput
from lite.http import playback, zero_copy
from lite.http.multipart import iter_form
from lite.http.routes.deps import current_user, media_reader, playback_token, services

RecordingId = Parameter(ge=1, le=2**63 - 1)
MAX_LIMIT, MAX_OFFSET, MAX_Q = 200, 2**62, 200
MAX_TITLE_BODY = 16 * 1024
LIMIT_SCHEMA = {"minimum": 1, "maximum": MAX_LIMIT}  # the bounds, shown in the OpenAPI document
SEARCH = "words that title, meeting id or session uid start with (all of them)"


def _in_range(name: str, value: int, low: int, high: int) -> int:
    # Checked here, not by Parameter(ge=, le=): Litestar's own answer is a 400 whose detail names
    # neither the parameter nor its range.
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low} and {high} (got {value})")
    return value


async def _title_of(request: Request) -> object:
    """The body's `title` (checked by the service after the recording is found, so another user's
    recording answers 404 whatever the body); anything but a JSON object with one: None."""
    body = await request.body()
    if len(body) > MAX_TITLE_BODY:
        raise BadInput("the body is too large for a title")
    try:
        doc = msgspec.json.decode(body or b"null")
    except msgspec.DecodeError:
        return None
    return doc.get("title") if isinstance(doc, dict) else None


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

    @get("/", summary="List recordings, newest first; q searches title, meeting id and session uid")
    async def list_recordings(
        self,
        state: State,
        user_id: NamedDependency[int],
        limit: int = Parameter(default=50, description=f"1-{MAX_LIMIT}", schema_extra=LIMIT_SCHEMA),
        offset: int = Parameter(default=0, description="0 or more", schema_extra={"minimum": 0}),
        status: FromQuery[str | None] = None,
        session_uid: FromQuery[str | None] = None,
        meeting_id: FromQuery[str | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(description=SEARCH),
        ] = None,
    ) -> dict[str, Any]:
        if q is not None and len(q) > MAX_Q:
            raise BadInput(f"q must be at most {MAX_Q} characters (got {len(q)})")
        query = ListQuery(
            limit=_in_range("limit", limit, 1, MAX_LIMIT),
            offset=_in_range("offset", offset, 0, MAX_OFFSET),
            status=status,
            session_uid=session_uid,
            meeting_id=meeting_id,
            q=q if q and q.strip() else None,
        )
        return await services(state).recordings.list(user_id, query)

    @get("/{recording_id:int}", summary="One recording with its media files")
    async def get_recording(
        self, state: State, user_id: NamedDependency[int], recording_id: int = RecordingId
    ) -> dict[str, Any]:
        return await services(state).recordings.get(user_id, recording_id)

    @patch("/{recording_id:int}", summary='Rename a recording: {"title": "..."} (1-200 characters)')
    async def rename(
        self, request: Request, state: State, user_id: NamedDependency[int], recording_id: int = RecordingId
    ) -> dict[str, Any]:
        title = await _title_of(request)  # read after the key was checked (the dependency)
        return await services(state).recordings.rename(user_id, recording_id, title)

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
        download: FromQuery[bool] = False,
    ) -> ASGIApp:
        """`?download=1` names the file as an attachment, which a browser saves (also after a
        redirect to the store, where a link's `download` attribute no longer counts)."""
        # The same self-sending answer as the fast path's (lite.http.media_reply).
        source = await services(state).recordings.media_source(user_id, recording_id, media_id, download)
        head_only, zero = request.method == "HEAD", zero_copy.offered(request.scope)
        return await playback.serve(source, request.headers, head_only, zero)
