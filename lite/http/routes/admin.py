"""The admin API, behind X-Admin-API-Key: users and their API keys, as Vexa's admin API (v0.10.7)
has them, so Vexa's dashboard and admin scripts work against Lite.

- `POST /admin/users` finds or creates: 200 with the user that has this email, else 201 with a
  new one.
- Tokens: `POST /admin/users/{id}/tokens?scopes=bot,tx,browser&name=&expires_in=` (or `?scope=`,
  or a JSON body `{"scopes": [...], "name", "expires_in"}` as Vexa's newest version sends) makes a
  scoped `vxa_…` key; with no scopes at all it makes a full-access `lite_…` key, as Lite always did.
  A key's secret is shown only in that answer (lite.accounts.api_keys masks it in listings).
- A missing or wrong admin key is 401 (Vexa says 403; its dashboard treats both alike).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from msgspec import Struct

from lite.accounts.api_keys import key_out
from lite.accounts.scopes import parse_scopes
from lite.accounts.user_shapes import user_out
from lite.errors import BadInput, NotFound
from lite.http.routes.deps import Id, services

MAX_BODY = 64 * 1024


class NewUser(Struct, forbid_unknown_fields=False):
    email: str
    name: str | None = None
    image_url: str | None = None
    max_concurrent_bots: int | None = None
    data: dict[str, Any] | None = None


class NewToken(Struct, forbid_unknown_fields=False):
    scopes: list[str] | str | None = None
    name: str | None = None
    expires_in: int | None = None


async def admin_only(request: Request) -> None:
    """Runs before the body is read, so a caller without the admin key learns nothing else. A
    before-request hook, not a guard: a guard's refusal went unanswered on a half-closed connection
    (tests/test_hostile_connections.py), this one is answered like any other error."""
    services(request.app.state).auth.check_admin(request.headers.get("x-admin-api-key"))


def _allow_private(state: State) -> bool:
    return bool(services(state).settings.webhook_allow_private_networks)


async def _token_body(request: Request) -> NewToken:
    body = await request.body()
    if not body.strip():
        return NewToken()
    if len(body) > MAX_BODY:
        raise BadInput("the body is too large for a token request")
    try:
        return msgspec.json.decode(body, type=NewToken)
    except msgspec.DecodeError as exc:
        raise BadInput(f"the body must be a JSON object with scopes, name, expires_in: {exc}") from None


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    security = [{"AdminKey": []}]
    before_request = admin_only

    @post("/users", status_code=201, summary="Find or create a user: 200 if the email exists, else 201")
    async def create_user(self, state: State, data: JSONBody[NewUser]) -> Response[dict[str, Any]]:
        fields = msgspec.structs.asdict(data)
        user, created = await services(state).auth.find_or_create_user(fields, _allow_private(state))
        return Response(user_out(user), status_code=201 if created else 200)

    @get("/users", summary="List users")
    async def list_users(
        self,
        state: State,
        skip: int = Parameter(default=0, ge=0, le=2**62),
        limit: int = Parameter(default=100, ge=1, le=10_000),
    ) -> list[dict[str, Any]]:
        return [user_out(user) for user in await services(state).auth.list_users(skip, limit)]

    @get("/users/email/{email:str}", summary="The user with this email (URL-encoded), or 404")
    async def user_by_email(self, state: State, email: FromPath[str]) -> dict[str, Any]:
        user = await services(state).auth.find_user_by_email(email)
        if user is None:
            raise NotFound("User not found")
        return user_out(user)

    @get("/users/{user_id:int}", summary="A user with its API keys (their secrets masked)")
    async def get_user(self, state: State, user_id: int = Id) -> dict[str, Any]:
        auth = services(state).auth
        user = await auth.get_user(user_id)
        return user_out(user) | {"api_tokens": [key_out(key) for key in await auth.keys_of(user_id)]}

    @patch("/users/{user_id:int}", summary="Change name, image_url, max_concurrent_bots; merge data")
    async def update_user(
        self, state: State, data: JSONBody[dict[str, Any]], user_id: int = Id
    ) -> dict[str, Any]:
        return user_out(await services(state).auth.update_user(user_id, data, _allow_private(state)))

    @post(
        "/users/{user_id:int}/tokens", status_code=201, summary="Make an API key (its secret shown only here)"
    )
    async def create_token(
        self,
        request: Request,
        state: State,
        user_id: int = Id,
        scopes: FromQuery[list[str] | None] = None,
        one_scope: Annotated[list[str] | None, QueryParameter(name="scope")] = None,  # `scope` is reserved
        name: FromQuery[str | None] = None,
        expires_in: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        body = await _token_body(request)
        asked = [*(scopes or []), *(one_scope or [])]
        if not asked and body.scopes is not None:
            asked = [body.scopes] if isinstance(body.scopes, str) else list(body.scopes) or [""]
        wanted = parse_scopes(asked) if asked else None
        issued = await services(state).auth.create_key(
            user_id,
            wanted,
            name if name is not None else body.name,
            expires_in if expires_in is not None else body.expires_in,
        )
        return key_out(issued.key, issued.token)

    @get("/users/{user_id:int}/tokens", summary="A user's API keys, without their secrets")
    async def list_tokens(self, state: State, user_id: int = Id) -> list[dict[str, Any]]:
        auth = services(state).auth
        await auth.get_user(user_id)  # 404 for an unknown user, not an empty list
        return [key_out(key, with_token=False) for key in await auth.keys_of(user_id)]

    @delete("/tokens/{token_id:int}", status_code=204, summary="Revoke an API key at once")
    async def revoke_token(self, state: State, token_id: int = Id) -> None:
        await services(state).auth.revoke_key(token_id)
