"""The Litestar application: routes, error shapes, OpenAPI, static page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from lite.background import BackgroundWork
from lite.errors import LiteError
from lite.http.draining import Draining
from lite.http.gates import GatedApp
from lite.http.routes.admin import AdminController
from lite.http.routes.bot import upload_chunk
from lite.http.routes.docs_assets import docs_assets_router, docs_render_plugins
from lite.http.routes.health import healthz, readyz
from lite.http.routes.meetings import MeetingsController
from lite.http.routes.metrics import metrics
from lite.http.routes.player import player_router
from lite.http.routes.raw_fast import WithFastRaw
from lite.http.routes.recordings import RecordingsController
from lite.http.routes.user import who_am_i
from lite.http.routes.user_webhook import UserWebhookController
from lite.services import Services

log = logging.getLogger("lite.http.app")
DEFAULT_MAX_BODY = 1024 * 1024  # JSON bodies; uploads lift this per route


MAX_DETAIL = 500  # characters of an error's sentence: it may quote the client's input
MAX_ERRORS = 10  # validation errors listed in one answer


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _bounded_errors(extra: object) -> object:
    """Litestar's validation errors quote the rejected value: each is cut, and so is their number."""
    items = extra if isinstance(extra, list) else [extra]
    return [
        {k: _bounded(v) if isinstance(v, str) else _bounded(repr(v)) if k == "value" else v
         for k, v in item.items()} if isinstance(item, dict) else _bounded(str(item))
        for item in items[:MAX_ERRORS]
    ]  # fmt: skip


# The `code` of errors Litestar raises itself (validation, routing, body limits), by status.
HTTP_CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media"}  # fmt: skip


def _lite_error(request: Request, exc: LiteError) -> Response[dict[str, object]]:
    body: dict[str, object] = {"detail": _bounded(exc.detail), "code": exc.code}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        body["retry_after"] = retry_after
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response(body, status_code=exc.status_code, headers=headers)


def _http_error(request: Request, exc: HTTPException) -> Response[dict[str, object]]:
    code = HTTP_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "invalid_request")
    body: dict[str, object] = {"detail": _bounded(str(exc.detail)), "code": code}
    if exc.extra:
        body["errors"] = _bounded_errors(exc.extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers or None)


def _unexpected(request: Request, exc: Exception) -> Response[dict[str, str]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response({"detail": "internal server error", "code": "internal_error"}, status_code=500)


def create_app(services: Services, draining: Draining | None = None) -> WithFastRaw:
    """The ASGI application: Litestar, behind the fast path of the media bytes route, both behind
    the gates (lite.http.gates) that answer 503 while an index rebuild runs or while `draining` is
    active (the server sets it on SIGTERM; without one given, nothing ever drains)."""
    if draining is None:
        draining = Draining()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        work = BackgroundWork(services)  # rebuild, idle finalizing, reconciling, webhooks
        work.start()
        try:
            yield
        finally:
            await work.stop()

    openapi = OpenAPIConfig(
        title="Lite",
        version="0.1.0",
        description="Store meeting recordings and play them back. Compatible with Vexa's recordings API.",
        path="/docs",
        render_plugins=docs_render_plugins(),  # Swagger UI from the server's own files: works offline
        components=Components(
            security_schemes={
                "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                "AdminKey": SecurityScheme(
                    type="apiKey", name="X-Admin-API-Key", security_scheme_in="header"
                ),
                "MeetingToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            }
        ),
    )
    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            AdminController,
            UserWebhookController,
            who_am_i,
            RecordingsController,
            MeetingsController,
            upload_chunk,
            player_router(services.recordings.redirect_origin()),
            docs_assets_router,
        ],
        state=State({"services": services, "draining": draining}),
        lifespan=[lifespan],
        exception_handlers={LiteError: _lite_error, HTTPException: _http_error, Exception: _unexpected},
        openapi_config=openapi,
        request_max_body_size=DEFAULT_MAX_BODY,
        logging_config=None,
    )
    return GatedApp(app, services, draining)
