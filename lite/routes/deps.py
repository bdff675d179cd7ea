"""Request-scoped dependencies: the services, and the user an API key belongs to."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State

from lite.services import Services


def services(state: State) -> Services:
    return state.services  # type: ignore[no-any-return]


def api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_user(request: Request, state: State) -> int:
    return services(state).auth.user_for_key(api_key(request))
