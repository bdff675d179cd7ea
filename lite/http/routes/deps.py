"""Request-scoped dependencies: the services, the user an API key (or a playback token) belongs to."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter

from lite.accounts.scopes import need_for
from lite.errors import Unauthorized
from lite.services import Services

# Path ids, declared the same way in handlers and dependencies (OpenAPI requires them to agree).
Id = Parameter(ge=1, le=2**63 - 1)


def services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def api_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_key_sent(headers: Mapping[str, str]) -> None:
    """`Authorization: <key>` without a scheme (or with another one) is the usual mistake: its 401
    says how to send the key instead of only that one is missing."""
    authorization = headers.get("authorization", "").strip()
    if authorization and api_key(headers) is None:
        raise Unauthorized(
            "the Authorization header has no Bearer key: send `Authorization: Bearer <key>` "
            "or `X-API-Key: <key>`"
        )


async def current_user(request: Request, state: State) -> int:
    """The key's owner, if the key's scopes allow this request: uploading for a POST to an upload
    path, reading for anything else (lite.accounts.scopes)."""
    need = need_for(request.method, request.url.path)
    check_key_sent(request.headers)
    return await services(state).auth.user_for_key(api_key(request.headers), need)


async def reader_of(
    svc: Services, headers: Mapping[str, str], token: str | None, recording_id: int, media_id: int
) -> int:
    """The user reading /raw: by API key when one is sent, else by a signed playback token (?token=),
    which is what <audio>/<video> elements use since they cannot send headers."""
    if token and not api_key(headers):
        return await svc.tokens.user_for(token, recording_id, media_id)
    check_key_sent(headers)
    return await svc.auth.user_for_key(api_key(headers))


async def media_reader(
    request: Request,
    state: State,
    recording_id: int = Id,
    media_id: int = Id,
    token: FromQuery[str | None] = None,
) -> int:
    return await reader_of(services(state), request.headers, token, recording_id, media_id)


async def playback_token(
    request: Request,
    state: State,
    user_id: NamedDependency[int],
    recording_id: int = Id,
    media_id: int = Id,
) -> str:
    """A fresh playback token for the media file in the path, bound to the API key of this request
    (`user_id` came from that key, so the key is there)."""
    key = api_key(request.headers) or ""
    return await services(state).tokens.issue_for_key(key, user_id, recording_id, media_id)
