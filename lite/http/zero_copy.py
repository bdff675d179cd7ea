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

Beside it, Lite's own `lite.response.splice`: {"type": "lite.response.splice", "source": a
lite.storage.socket_body.SocketBody, "count": its length}, an object store's answer moved from the
store's socket to the client's with splice(2) (lite.http.splice). Offered under the same conditions,
where the system has splice (Linux).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from lite.http import splice
from lite.storage.socket_body import SocketBody

log = logging.getLogger("lite.http.zero_copy")

EXTENSION = "http.response.zerocopysend"
SPLICE = "lite.response.splice"
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
    extensions = scope.setdefault("extensions", {})
    extensions[EXTENSION] = {}
    if splice.AVAILABLE:
        extensions[SPLICE] = {}
    cycle.send = _zero_copy_send(cycle, cycle.send)  # type: ignore[method-assign]


def _zero_copy_send(cycle: RequestResponseCycle, send: Send) -> Send:
    async def zero_copy_send(message: Any) -> None:
        if message["type"] not in (EXTENSION, SPLICE):
            return await send(message)
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        if not cycle.response_started or cycle.response_complete or cycle.chunked_encoding is not False:
            raise RuntimeError(f"'{EXTENSION}' needs a started response with a Content-Length")
        count = int(message["count"])
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        if count and cycle.scope["method"] != "HEAD":
            if message["type"] == SPLICE:
                sent = await _splice(cycle.transport, message["source"])
            else:
                offset = int(message.get("offset", 0))
                sent = await _sendfile_or_closed(cycle.transport, message["file"], offset, count)
            if sent != count:  # the client left, or the file or answer was shorter than promised
                cycle.transport.close()
                return
            cycle.expected_content_length -= count
        await send({"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)})

    return zero_copy_send


async def _sendfile_or_closed(transport: asyncio.Transport, file: BinaryIO, offset: int, count: int) -> int:
    """Bytes sent; 0 if the client left (RuntimeError: the transport is closing)."""
    try:
        sent = await _sendfile(transport, file, offset, count)
    except (ConnectionError, RuntimeError):
        return 0
    if sent != count:
        log.warning("sendfile sent %d of %d bytes; closing the connection", sent, count)
    return sent


async def _splice(transport: asyncio.Transport, source: SocketBody) -> int:
    """Bytes sent: all of the source's, or 0 if the store or the client failed on the way (the
    client's answer is then cut short: its connection closes before the promised length)."""
    try:
        await _flushed(transport)  # the head, written by the transport, leaves before the body
        target = os.dup(transport.get_extra_info("socket").fileno())
        try:
            await splice.relay(source.fd, source.prefix, source.count, target, source.idle_timeout)
        finally:
            os.close(target)
    except (splice.SourceFailed, TimeoutError) as exc:
        log.warning("relaying the store's answer stopped: %s; closing the connection", exc)
        return 0
    except (OSError, RuntimeError):  # the client left (RuntimeError: the transport was closing)
        return 0
    return source.length


async def _flushed(transport: asyncio.Transport) -> None:
    """Wait until the transport has nothing of its own left to send. A response's head fits a
    fresh socket's buffer, so this is nearly always at once; asyncio offers no public waiter."""
    while transport.get_write_buffer_size():
        if transport.is_closing():
            raise RuntimeError("the connection is closing")
        await asyncio.sleep(0.005)


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
