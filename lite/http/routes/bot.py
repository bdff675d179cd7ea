"""The meeting-bot upload endpoint (Vexa's contract): one chunk per request."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State

from lite.http.multipart import iter_form
from lite.http.routes.deps import services


@post(
    "/internal/recordings/upload",
    status_code=201,
    tags=["bot"],
    summary="Upload one recording chunk (multipart: metadata JSON, chunk_seq, is_final, file)",
    description="Authenticated by a Lite API key, Vexa's MeetingToken (`Authorization: Bearer <JWT>`)"
    " or Vexa's INTERNAL_API_SECRET.",
    security=[{"ApiKey": []}, {"MeetingToken": []}],
    request_max_body_size=None,  # enforced while streaming, against RECORDING_CHUNK_MAX_BYTES
)
async def upload_chunk(request: Request, state: State) -> dict[str, Any]:
    svc = services(state)
    with svc.bot_uploads.admitted():  # before the body is read: a refusal costs a header parse
        who = await svc.bot_credentials.identify(request.headers)
        svc.bot_uploads.check_declared_size(request.headers.get("content-length"))
        form = iter_form(request.stream(), request.headers.get("content-type"))
        return await svc.bot_uploads.upload_chunk(who, form)
