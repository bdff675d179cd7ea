"""Counting HTTP requests at the ASGI level, around both Litestar and the /raw fast path.

The hot path (random Range reads, benchmarked against nginx) pays for this on every request, so
the per-request work is kept to two clock reads, one send wrapper, one dict lookup for the label
set's children (`labels()`, which takes a lock and builds strings, runs once per label set), one
counter increment and one histogram observation (prometheus_client's own locks, nothing else).
"""

from __future__ import annotations

from time import perf_counter

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from lite.http.zero_copy import EXTENSION as ZERO_COPY
from lite.http.zero_copy import SPLICE
from lite.ops.metrics import Metrics

RAW_ROUTE = "/recordings/{recording_id}/media/{media_id}/raw"
UNMATCHED = "unmatched"  # no route matched (404, 405): the path itself would be an unbounded label
# How a body message's bytes leave (the `via` label): read and written by the server, a local
# file's slice sent by the kernel's sendfile, or a store's answer spliced from its socket. The
# last two carry "count" instead of a body.
VIA = {"http.response.body": "copy", ZERO_COPY: "sendfile", SPLICE: "splice"}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetrics:
    """Per (method, route, status): the counter and histogram children, made once."""

    def __init__(self, metrics: Metrics) -> None:
        self.requests = metrics.http_requests
        self.seconds = metrics.http_seconds
        self.raw_bytes = {via: metrics.raw_bytes.labels(via) for via in VIA.values()}
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        if method not in METHODS:  # clients may send any token as a method: neither a label nor a key
            method = "other"
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.seconds.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    async def measure(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run `app` on one HTTP request and count it. The route is the template the router put in
        the scope (`path_template`; the fast path sets the same one). The request is counted
        before its last body message goes out, so a client that saw the answer end, and scrapes
        next, always finds it counted."""
        started = perf_counter()
        status = 500  # what uvicorn answers when the app fails before it started a response
        raw = False
        sent, via = 0, "copy"
        done = False

        def finish() -> None:
            nonlocal done
            done = True
            route = scope.get("path_template") or UNMATCHED
            self.observe(scope["method"], route, status, perf_counter() - started)
            if sent:
                self.raw_bytes[via].inc(sent)

        async def counting(message: Message) -> None:
            nonlocal status, raw, sent, via
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = scope.get("path_template") == RAW_ROUTE  # routed by now
            elif message["type"] in VIA:
                if raw:
                    size = message["count"] if "count" in message else len(message.get("body", b""))
                    if size:  # the empty closing message does not change how the bytes went
                        sent, via = sent + size, VIA[message["type"]]
                if not message.get("more_body", False) and not done:
                    finish()
            await send(message)

        try:
            await app(scope, receive, counting)
        finally:
            if not done:  # an exception, or a client that hung up before the end
                finish()
