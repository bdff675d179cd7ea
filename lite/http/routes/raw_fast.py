"""`GET`/`HEAD …/media/{id}/raw` answered at the ASGI level, in front of Litestar.

Every seek of an <audio>/<video> element, and every Range a client asks for, is one of these
requests, so their cost per request is the server's playback capacity. Litestar's routing,
dependency injection and response classes took about a third of that cost (bench/, measurement 2),
so the common shapes of this one route are answered here with the same service calls the Litestar
route makes (`deps.reader_of`, `Recordings.media_source`, `playback.serve`). Anything else —
another path or method, a query other than `?token=`, ids outside the route's bounds, a request
while the index is being rebuilt — goes to Litestar unchanged, which also keeps the route in the
OpenAPI document.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.types import Receive, Scope, Send

from lite.errors import LiteError
from lite.http import playback, zero_copy
from lite.http.media_reply import Reply
from lite.http.metrics import RAW_ROUTE, HttpMetrics
from lite.http.routes.deps import reader_of
from lite.services import Services

log = logging.getLogger("lite.http.app")

RAW_PATH = re.compile(r"/recordings/([0-9]{1,19})/media/([0-9]{1,19})/raw")
MAX_ID = 2**63 - 1  # the bounds the Litestar route validates; anything else is its 400 to give


def _ids(path: str) -> tuple[int, int] | None:
    match = RAW_PATH.fullmatch(path)
    if match is None:
        return None
    ids = int(match[1]), int(match[2])
    return ids if all(1 <= i <= MAX_ID for i in ids) else None


def _token(query_string: bytes) -> tuple[bool, str | None]:
    """(handled here, token): only no query or exactly one `token` parameter is handled here."""
    if not query_string:
        return True, None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if len(pairs) == 1 and pairs[0][0] == "token":
        return True, pairs[0][1]
    return False, None


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by name, the first of a repeated one (as Litestar's `Headers.get`
    answers; uvicorn gives names in lower case): a plain dict costs a third of a `Headers`."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


async def _reply(services: Services, scope: Scope, ids: tuple[int, int], token: str | None) -> Reply:
    headers = _headers(scope)
    try:
        user_id = await reader_of(services, headers, token, *ids)
        source = await services.recordings.media_source(user_id, *ids)
        return await playback.serve(source, headers, scope["method"] == "HEAD", zero_copy.offered(scope))
    except LiteError as exc:
        return Reply(exc.status_code, {}, detail=exc.detail, code=exc.code)
    except Exception:  # the same answer as the app's handler of unexpected errors
        log.exception("unhandled error on %s %s", scope["method"], scope["path"])
        return Reply(500, {}, detail="internal server error", code="internal_error")


class WithFastRaw:
    """`inner` (the Litestar app) with the hot shapes of the /raw route answered first."""

    def __init__(self, inner: Litestar, services: Services) -> None:
        self.inner = inner
        self.services = services
        self.http = HttpMetrics(services.metrics)  # the requests of both paths, counted in one place

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        await self.http.measure(self._route, scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):  # (during a rebuild, lite.http.gates answers first)
            return await self.inner(scope, receive, send)
        ids = _ids(scope["path"])
        handled, token = _token(scope["query_string"]) if ids else (False, None)
        if ids is None or not handled:
            return await self.inner(scope, receive, send)
        scope["path_template"] = RAW_ROUTE  # the route's label, as Litestar's router would set it
        reply = await _reply(self.services, scope, ids, token)
        await reply(scope, receive, send)
