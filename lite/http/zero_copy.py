"""The ASGI `http.response.zerocopysend` extension on uvicorn's httptools protocol: file bytes sent
by the kernel (sendfile(2)) instead of read into Python and written back out.

uvicorn implements neither `zerocopysend` nor `pathsend` (its issue #35 was closed; the pathsend
pull request is a draft), yet every Range a player asks for is a slice of a local file: copying
256 KiB into Python and out again, per request, is a large part of what `/raw` costs (bench/,
measurement 2). asyncio's own `loop.sendfile` does the work (it pauses reading, waits for the
headers to leave, then calls sendfile until `count` bytes are out), so only the ASGI side is here.

The extension follows the ASGI spec's message: {"type": "http.response.zerocopysend", "file": an
open binary file, "offset": int, "count": int, "more_body": bool}. It is offered (in
`scope["extensions"]`) only where it works: plain TCP (not TLS), a response with Content-Length.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

log = logging.getLogger("lite.http.zero_copy")

EXTENSION = "http.response.zerocopysend"
Send = Callable[[Any], Awaitable[None]]


def offered(scope: Any) -> bool:
    """Whether the server under this request sends files with the kernel's sendfile."""
    return EXTENSION in (scope.get("extensions") or {})


def possible(transport: Any) -> bool:
    """Whether a connection can send with sendfile: not over TLS (it encrypts in user space, so
    asyncio would read and write anyway). Asked once per connection."""
    return transport.get_extra_info("sslcontext") is None


def offer(scope: dict[str, Any], cycle: RequestResponseCycle) -> None:
    """Let this request's application send file slices with sendfile. The cycle's `send` is bound
    when the application starts (later, in its own task), so replacing it here is enough; uvicorn
    builds the cycle itself, which is why this is not a subclass."""
    scope.setdefault("extensions", {})[EXTENSION] = {}
    cycle.send = _zero_copy_send(cycle, cycle.send)  # type: ignore[method-assign]


def _zero_copy_send(cycle: RequestResponseCycle, send: Send) -> Send:
    async def zero_copy_send(message: Any) -> None:
        if message["type"] != EXTENSION:
            return await send(message)
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        if not cycle.response_started or cycle.response_complete or cycle.chunked_encoding is not False:
            raise RuntimeError(f"'{EXTENSION}' needs a started response with a Content-Length")
        count, offset = int(message["count"]), int(message.get("offset", 0))
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        if count and cycle.scope["method"] != "HEAD":
            try:
                sent = await _sendfile(cycle.transport, message["file"], offset, count)
            except (ConnectionError, RuntimeError):  # the client left (RuntimeError: transport closing)
                cycle.transport.close()
                return
            if sent != count:  # the file is shorter than it was said to be: end the connection
                log.warning("sendfile sent %d of %d bytes; closing the connection", sent, count)
                cycle.transport.close()
                return
            cycle.expected_content_length -= count
        await send({"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)})

    return zero_copy_send


async def _sendfile(transport: asyncio.Transport, file: BinaryIO, offset: int, count: int) -> int:
    """Bytes sent. The first sendfile(2) is tried right away when nothing is queued before it (the
    headers left with their own write): a player's Range usually fits the socket's buffer, and then
    no waiting is needed. asyncio's `loop.sendfile` pays four selector changes and an extra loop turn
    even for one that does, which was a third of a Range's cost. The rest, if any, goes to it."""
    sent = 0
    if transport.get_write_buffer_size() == 0 and not transport.is_closing():
        sock = transport.get_extra_info("socket")
        try:
            sent = os.sendfile(sock.fileno(), file.fileno(), offset, count)
        except BlockingIOError:  # the socket's buffer is full: wait below
            sent = 0
        except OSError as exc:
            raise ConnectionError(str(exc)) from exc
        else:
            if sent == 0:  # the file ends before `offset`: shorter than it was said to be
                return 0
    if sent < count:
        sent += await asyncio.get_running_loop().sendfile(transport, file, offset + sent, count - sent)
    return sent
