"""`GET /user`: who an API key belongs to (`{"id","email","name"}`), so a client such as the web
page can show whom it is signed in as. Read scope, like every other call that is not an upload."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State

from lite.http.routes.deps import current_user, services


@get("/user", tags=["user"], security=[{"ApiKey": []}], summary="The API key's user: id, email, name")
async def who_am_i(request: Request, state: State) -> dict[str, Any]:
    user_id = await current_user(request, state)
    user = await services(state).auth.get_user(user_id)
    return {"id": user.id, "email": user.email, "name": user.name}
