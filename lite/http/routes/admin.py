"""The admin API: users and their API keys, behind X-Admin-API-Key."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, Parameter
from msgspec import Struct

from lite.http.routes.deps import services


class NewUser(Struct, forbid_unknown_fields=False):
    email: str
    name: str | None = None


def _admin(request: Request, state: State) -> None:
    services(state).auth.check_admin(request.headers.get("x-admin-api-key"))


def _user_out(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "email": user["email"], "name": user["name"], "created_at": user["created_at"]}


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    security = [{"AdminKey": []}]

    @post("/users", status_code=201, summary="Create a user")
    async def create_user(self, request: Request, state: State, data: JSONBody[NewUser]) -> dict[str, Any]:
        _admin(request, state)
        return _user_out(await services(state).auth.create_user(data.email, data.name))

    @get("/users", summary="List users")
    async def list_users(self, request: Request, state: State) -> list[dict[str, Any]]:
        _admin(request, state)
        return [_user_out(user) for user in await services(state).auth.list_users()]

    @post("/users/{user_id:int}/tokens", status_code=201, summary="Create an API key (shown only here)")
    async def create_token(
        self, request: Request, state: State, user_id: int = Parameter(ge=1, le=2**63 - 1)
    ) -> dict[str, Any]:
        _admin(request, state)
        return await services(state).auth.create_key(user_id)

    @delete("/tokens/{token_id:int}", status_code=204, summary="Revoke an API key at once")
    async def revoke_token(
        self, request: Request, state: State, token_id: int = Parameter(ge=1, le=2**63 - 1)
    ) -> None:
        _admin(request, state)
        await services(state).auth.revoke_key(token_id)
