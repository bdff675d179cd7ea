"""Draining before a graceful shutdown: on SIGTERM the server first tells load balancers to stop.

For a drain (at most SHUTDOWN_DRAIN_SECONDS) the listener stays open: `/readyz` answers 503 (lite.http.
routes.health), `/healthz` still 200 (the process is alive), and every other new request — on a new
connection or an already open keep-alive one — is answered 503 with `Retry-After` and
`Connection: close`, without its body being read. Requests already in flight run on. The drain ends
early once no request has been turned away for QUIET_SECONDS: whatever sent traffic has stopped, and
waiting longer would only delay the exit. Then uvicorn's own graceful shutdown runs (lite.http.server).

The check is one of the gates at the ASGI level, in front of Litestar and the /raw fast path
(lite.http.gates).
"""

from __future__ import annotations

from time import monotonic

from litestar.types import Receive, Scope, Send

from lite.http.canned import Canned503

# A load balancer that has stopped sending makes no more requests: half a second without any means
# the drain has done its work (health probes do not count: the kubelet probes until the end). Short,
# so that a server nobody is sending to exits at once; a request that arrives after the listener
# closed is refused, which a client may retry anywhere as safely as a 503.
QUIET_SECONDS = 0.5
# When a client should try again: by then another replica (or this one, restarted) is serving.
RETRY_AFTER_SECONDS = 5
STILL_ANSWERED = frozenset({"/healthz", "/readyz"})  # liveness stays 200; readiness says "shutting down"

SHUTTING_DOWN = Canned503(
    "the server is shutting down: retry on another replica", "shutting_down", RETRY_AFTER_SECONDS, close=True
)


class Draining:
    """Whether the process is draining, and since when. Set from the signal handler, read by the
    ASGI gate and /readyz on the same thread (the event loop's), so no lock is needed."""

    def __init__(self, max_seconds: float = 0.0) -> None:
        self.max_seconds = max_seconds
        self.active = False
        self.since = 0.0
        self.last_turned_away = 0.0

    def begin(self) -> None:
        if not self.active:
            self.since = self.last_turned_away = monotonic()
            self.active = True

    def elapsed(self) -> float:
        return monotonic() - self.since if self.active else 0.0

    def over(self) -> bool:
        """The drain has lasted its longest, or no request has come in for QUIET_SECONDS."""
        now = monotonic()
        return now - self.since >= self.max_seconds or now - self.last_turned_away >= QUIET_SECONDS

    async def turn_away(self, scope: Scope, receive: Receive, send: Send) -> None:
        """503 at once, the request body unread (lite.http.canned)."""
        self.last_turned_away = monotonic()
        await SHUTTING_DOWN(scope, receive, send)
