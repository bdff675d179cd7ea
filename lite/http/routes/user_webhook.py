"""A user's own webhook, with their API key (X-API-Key), as Vexa has it: `PUT /user/webhook` stores
`webhook_url`, `webhook_secret` and `webhook_events` ({event: true|false}) in the user's `data` and
answers the user; `GET /user/webhook` shows them with the secret masked (`********abcd`).

The URL is refused (422) when it points at loopback, link-local, private networks or `localhost`,
unless the operator sets WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (lite.accounts.webhook_targets). An
empty or null `webhook_url` removes the hook. The body is read only after the key is checked, so a
caller without a valid key gets 401 whatever it sent.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.datastructures import State
from msgspec import Struct

from lite.accounts.user_shapes import user_out, webhook_out
from lite.errors import BadInput
from lite.http.routes.deps import current_user, services

MAX_BODY = 64 * 1024


class WebhookSettings(Struct, forbid_unknown_fields=False):
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_events: dict[str, bool] | None = None


async def _settings(request: Request) -> WebhookSettings:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadInput("the body is too large for webhook settings")
    try:
        return msgspec.json.decode(body or b"{}", type=WebhookSettings)
    except msgspec.DecodeError as exc:
        raise BadInput(
            f"the body must be a JSON object with webhook_url, webhook_secret, webhook_events: {exc}"
        ) from None


class UserWebhookController(Controller):
    path = "/user/webhook"
    tags = ["user"]
    security = [{"ApiKey": []}]

    @put("/", summary="Set this user's webhook URL, secret and event switches")
    async def set_webhook(self, request: Request, state: State) -> dict[str, Any]:
        user_id = await current_user(request, state)
        hook = msgspec.structs.asdict(await _settings(request))
        svc = services(state)
        allow_private = bool(svc.settings.webhook_allow_private_networks)
        return user_out(await svc.auth.set_webhook(user_id, hook, allow_private))

    @get("/", summary="This user's webhook settings, the secret masked")
    async def get_webhook(self, request: Request, state: State) -> dict[str, Any]:
        user_id = await current_user(request, state)
        return webhook_out(await services(state).auth.get_user(user_id))
