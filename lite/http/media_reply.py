"""The answer to a `/raw` request, as an ASGI application that sends itself.

Both ways a `/raw` request is answered (the fast path in front of Litestar, and the Litestar route
that keeps it in the OpenAPI document) end in the same object, so the bytes on the wire do not
depend on which one took the request. A Reply is one of: a small body read whole (`content`), a
stream of blocks (`body`, for object storage and live chunks; an object store's answer may instead
be spliced socket to socket, lite.storage.socket_body), a slice of a local file sent by the
kernel (`file`, lite.http.zero_copy), or an error with the API's JSON shape (`detail`, `code`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO

import msgspec
from litestar.types import HTTPResponseStartEvent, Receive, Scope, Send

from lite.http.zero_copy import EXTENSION as ZERO_COPY
from lite.http.zero_copy import SPLICE
from lite.storage.socket_body import ObjectStream, SocketBody


@dataclass(frozen=True, slots=True)
class FileSlice:
    file: BinaryIO  # open; the Reply closes it once sent
    offset: int
    count: int


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = None
    content: bytes | None = None  # a small body, read whole
    file: FileSlice | None = None  # a slice of a local file, for the server to send with sendfile
    detail: str | None = None  # for error statuses: the JSON detail
    code: str | None = None  # and its machine-readable code (lite.errors)

    def error_body(self) -> dict[str, str | None]:
        return {"detail": self.detail, "code": self.code}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head_only = scope["method"] == "HEAD"
        if self.file is not None:
            await self._send_file(self.file, send)
        elif self.body is not None:
            spliced = None if head_only else _socket_of(self.body, scope, self.headers)
            if spliced is not None:
                await self._send_spliced(spliced, send)
            else:
                await send(_start(self.status, self.headers))
                await _stream(self.body, receive, send)
        else:
            content, headers = self.content or b"", self.headers
            if self.detail:  # errors carry the API's JSON shape, encoded as Litestar does
                content = msgspec.json.encode(self.error_body())
                headers = {**headers, "Content-Type": "application/json", "Content-Length": str(len(content))}
            await send(_start(self.status, headers))
            await send({"type": "http.response.body", "body": b"" if head_only else content})

    async def _send_file(self, part: FileSlice, send: Send) -> None:
        try:
            await send(_start(self.status, self.headers))
            message = {"type": ZERO_COPY, "file": part.file, "offset": part.offset, "count": part.count}
            await send(message)  # type: ignore[arg-type]
        finally:
            part.file.close()

    async def _send_spliced(self, source: SocketBody, send: Send) -> None:
        try:
            await send(_start(self.status, self.headers))
            message = {"type": SPLICE, "source": source, "count": source.length}
            await send(message)  # type: ignore[arg-type]
        finally:
            source.close()


def _socket_of(body: AsyncIterator[bytes], scope: Scope, headers: dict[str, str]) -> SocketBody | None:
    """The body as a socket to splice from, where the store's answer and the client's connection
    both allow it (lite.storage.socket_body); else None, and the body streams as blocks."""
    if not isinstance(body, ObjectStream) or SPLICE not in (scope.get("extensions") or {}):
        return None
    return body.take_socket(int(headers["Content-Length"]))


def _start(status: int, headers: dict[str, str]) -> HTTPResponseStartEvent:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return {"type": "http.response.start", "status": status, "headers": raw}


async def _stream(body: AsyncIterator[bytes], receive: Receive, send: Send) -> None:
    """Send blocks until the end, or until the client hangs up (uvicorn then drops what is sent
    silently, so without watching for the disconnect a cancelled download would read on)."""

    async def hung_up() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(hung_up())
    try:
        async for block in body:
            if watcher.done():
                return
            await send({"type": "http.response.body", "body": block, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()
        await body.aclose()  # type: ignore[attr-defined]
