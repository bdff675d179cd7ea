"""The meeting-bot upload endpoint (Vexa's contract): one chunk per request."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from lite.multipart import iter_form
from lite.routes.deps import current_user, services


@post(
    "/internal/recordings/upload",
    status_code=201,
    tags=["bot"],
    summary="Upload one recording chunk (multipart: file + metadata JSON)",
    dependencies={"user_id": Provide(current_user)},
    security=[{"ApiKey": []}],
    request_max_body_size=None,  # enforced while streaming, against RECORDING_CHUNK_MAX_BYTES
)
async def upload_chunk(request: Request, state: State, user_id: NamedDependency[int]) -> dict[str, Any]:
    svc = services(state).bot_uploads
    svc.check_declared_size(request.headers.get("content-length"))
    form = iter_form(request.stream(), request.headers.get("content-type"))
    return await svc.upload_chunk(user_id, form)
