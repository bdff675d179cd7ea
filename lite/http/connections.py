"""The HTTP connection layer's defences: a bounded request head, timeouts for slow or idle clients,
and a cap on open connections.

uvicorn bounds none of these by itself: a client may take forever to send its head or its body, a
fresh connection that sends nothing is never closed, and every accepted socket holds memory and a
file descriptor. Each connection here is in one phase; one sweep a second closes those that broke
its phase's deadline:

  head   waiting for a complete request head (a new connection, or a kept-alive one that started its
         next request): HTTP_HEADER_TIMEOUT_SECONDS from the first byte (or from the accept)
  body   the head is in, the body is arriving: HTTP_BODY_TIMEOUT_SECONDS without a byte closes it,
         unless the server itself stopped reading (the application is slower than the client)
  app    the request is complete and the application answers: no deadline of the client's making
  idle   kept alive between requests: uvicorn's own timer (HTTP_KEEPALIVE_TIMEOUT_SECONDS)

At HTTP_MAX_CONNECTIONS open connections, a new one replaces the longest-waiting connection that has
no request in flight (idle, or still sending its head), so a flood of idle sockets cannot lock out
a real client; if every connection is busy, the new one is closed at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lite.config import ConnectionLimits
from lite.http import zero_copy

MAX_REQUEST_HEAD = 64 * 1024
SWEEP_SECONDS = 1.0


class GuardedHttpTools(HttpToolsProtocol):
    """httptools (several times faster than h11) with a bounded head, deadlines and a connection cap.

    The head bound: httptools by itself buffers a header of any size (a 50 MB header was read whole,
    CPU-bound). A head larger than MAX_REQUEST_HEAD is answered 400 and the connection closed. Bytes
    are counted only while the head is incomplete and after the parser has seen them: one read can
    hold a small head and a large body (a bot's chunk, a pipelined request), which is fine."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    _sweeping: ClassVar[set[asyncio.AbstractEventLoop]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._received = 0  # bytes received while the head was incomplete: bounds buffering
        self._head_size = 0  # the head's own size as parsed: the exact limit, like h11's
        self._phase = "head"
        self._since = time.monotonic()  # when the phase began, or the body's last byte arrived
        self._zero_copy = False  # the connection can send files with sendfile (lite.http.zero_copy)

    # phases and the cap

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections and not self._evict_one():
            self.transport = transport  # for connection_lost, which abort() calls
            transport.abort()  # every connection has a request in flight: no room, no memory held
            return
        super().connection_made(transport)
        self._zero_copy = zero_copy.possible(transport)
        self._since = time.monotonic()
        self._start_sweeping()

    def _evict_one(self) -> bool:
        waiting = [
            c for c in self.connections if isinstance(c, GuardedHttpTools) and c._phase in ("head", "idle")
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._since)
        oldest.transport.abort()
        self.connections.discard(oldest)
        return True

    def on_message_begin(self) -> None:
        self._phase, self._since = "head", time.monotonic()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_size > MAX_REQUEST_HEAD:
            raise ValueError("request head too large")  # httptools turns this into a 400 answer
        self._in_head = False
        self._phase, self._since = "body", time.monotonic()
        before = self.cycle
        super().on_headers_complete()
        if self._zero_copy and self.cycle is not before:  # (not an upgrade): a new request's cycle
            zero_copy.offer(self.scope, self.cycle)

    def on_body(self, body: bytes) -> None:
        self._since = time.monotonic()
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "app"
        self._in_head, self._received, self._head_size = True, 0, 0

    def on_response_complete(self) -> None:
        if self._phase == "app":
            self._phase, self._since = "idle", time.monotonic()
        super().on_response_complete()

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        if self._received > MAX_REQUEST_HEAD:
            return  # answered 400, closing
        self._received += len(data)
        super().data_received(data)
        if self._in_head and self._received > MAX_REQUEST_HEAD and not self.transport.is_closing():
            self.send_400_response("Request line and headers are too large.")

    # the sweep

    def _overdue(self, now: float) -> bool:
        if self._phase == "head":
            return now - self._since > self.limits.header_timeout
        if self._phase == "body" and not self.flow.read_paused:
            return now - self._since > self.limits.body_timeout
        return False

    def _start_sweeping(self) -> None:
        loop = self.loop
        if loop in self._sweeping:
            return
        self._sweeping.add(loop)
        connections = self.connections

        def sweep() -> None:
            now = time.monotonic()
            for conn in list(connections):
                if not isinstance(conn, GuardedHttpTools) or conn.transport.is_closing():
                    continue
                if conn._overdue(now):
                    conn.transport.abort()  # a slow client gets no answer: it stopped listening anyway
            if loop.is_closed():
                return
            loop.call_later(SWEEP_SECONDS, sweep)

        loop.call_later(SWEEP_SECONDS, sweep)


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpTools]:
    """The protocol class for uvicorn's `http=`, with these limits."""
    return type("GuardedHttpToolsWithLimits", (GuardedHttpTools,), {"limits": limits})
