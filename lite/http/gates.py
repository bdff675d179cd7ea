"""The gates in front of every route, answered at the ASGI level before Litestar and the /raw fast
path: no layer's hooks can skip them (Litestar runs only the closest layer's before-request hook),
and a refusal is answered even on a half-closed connection (a Litestar guard's was not sent).

- Draining (SIGTERM, lite.http.draining): every new request but the health probes gets 503.
- Rebuilding: while an empty index is rebuilt from storage, a partial index would answer "no such
  recording" or "wrong key" for what exists; everything but the probes, the metrics, the docs and
  the page gets 503 with Retry-After until the rebuild is done (/readyz shows its progress).
One attribute read each per request while the server serves normally.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.types import Receive, Scope, Send

from lite.http.canned import Canned503
from lite.http.draining import STILL_ANSWERED, Draining
from lite.http.routes.raw_fast import WithFastRaw
from lite.services import Services

UNGATED = ("/healthz", "/readyz", "/metrics", "/docs", "/static")  # /metrics: watch a rebuild too
REBUILDING = Canned503("the index is being rebuilt from storage; try again in a moment", "rebuilding", 5)


def _waits_for_rebuild(path: str) -> bool:
    return path != "/" and not path.startswith(UNGATED)


class GatedApp(WithFastRaw):
    """The application (Litestar behind the /raw fast path) behind both gates. Requests a gate
    answers are counted by the same request metrics as the others."""

    def __init__(self, inner: Litestar, services: Services, draining: Draining) -> None:
        super().__init__(inner, services)
        self.draining = draining

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if self.draining.active and path not in STILL_ANSWERED:
                return await self.http.measure(self.draining.turn_away, scope, receive, send)
            if self.services.rebuild.running and _waits_for_rebuild(path):
                return await self.http.measure(REBUILDING, scope, receive, send)
        await super().__call__(scope, receive, send)
