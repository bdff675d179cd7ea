"""The web player: the static page at `/` with its security headers, and the level overview it draws."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders, State
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from lite.http.routes.deps import Id, media_reader, services

STATIC_DIR = Path(__file__).resolve().parents[3] / "static"  # lite/http/routes/ -> the checkout


# The page runs only its own files: no inline script or style, no plugins, no framing, no form posts
# (a form that somehow submits without JavaScript must not put the API key into a URL). Media come
# from the page's own origin, and from the store's where /raw redirects there (RAW_REDIRECT_TO_STORE).
def content_security_policy(store_origin: str | None = None) -> str:
    media = f"media-src 'self' {store_origin}" if store_origin else "media-src 'self'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            media,
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers_for(store_origin: str | None) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(store_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # Playback URLs carry tokens; nothing the page loads needs to tell anyone where it came from.
        "Referrer-Policy": "no-referrer",
    }


# Revalidate on every load so a new release is picked up at once; the files are small.
REVALIDATE = CacheControlHeader(no_cache=True)


def page_headers(headers: dict[str, str]) -> Callable[[ASGIApp], ASGIApp]:
    """Middleware: `headers` on every response of the page and its files (the static files router
    sends its own headers, so layered response_headers would not reach them)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    sent = MutableScopeHeaders.from_message(message)
                    for name, value in headers.items():
                        sent[name] = value
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return wrap


@get("/", include_in_schema=False, cache_control=REVALIDATE, sync_to_thread=False)
def index_page() -> Response[bytes]:
    return Response((STATIC_DIR / "index.html").read_bytes(), media_type=MediaType.HTML)


@get(
    "/recordings/{recording_id:int}/media/{media_id:int}/waveform",
    summary="A level overview of a media file's audio: the peak of each of `buckets` equal slices",
    tags=["recordings"],
    security=[{"ApiKey": []}],
    dependencies={"user_id": Provide(media_reader)},
)
async def waveform(
    state: State,
    user_id: NamedDependency[int],
    recording_id: int = Id,
    media_id: int = Id,
    buckets: int = Parameter(default=800, ge=1, le=4000),
) -> dict[str, Any]:
    svc = services(state)
    media_row = await svc.recordings.media(user_id, recording_id, media_id)
    levels = await svc.waveforms.levels(media_row, buckets)
    return levels.as_json()


def player_router(store_origin: str | None) -> Router:
    """The page, its files and the level overview; `store_origin`: where /raw may send media."""
    return Router(
        path="/",
        route_handlers=[
            index_page,
            waveform,
            create_static_files_router(path="/static", directories=[STATIC_DIR], cache_control=REVALIDATE),
        ],
        middleware=[page_headers(page_headers_for(store_origin))],
    )
