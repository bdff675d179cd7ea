"""Reading objects from S3: whole, as a stream (read ahead in blocks, or handed over as its socket
to splice, lite.storage.socket_body), or as a seekable file over ranged GETs (for PyAV)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError

from lite.errors import StorageUnavailable
from lite.storage.readahead import read_ahead
from lite.storage.s3_socket import plain_socket
from lite.storage.socket_body import ObjectStream

READ_BLOCK = 4 * 1024 * 1024


class ObjectReads:
    """The read half of S3Storage: every GET goes through `_get`."""

    client: Any
    bucket: str
    _call: Callable[..., Awaitable[Any]]
    _sync: Callable[..., Any]

    def _get(self, key: str, start: int, length: int | None) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if not start and length is None:
            return self.client.get_object(**kwargs)["Body"]
        end = "" if length is None else str(start + length - 1)
        answer = self.client.get_object(**kwargs, Range=f"bytes={start}-{end}")
        begins = sent_from(answer.get("ContentRange"))
        if begins == start and (length is None or answer.get("ContentLength") == length):
            return answer["Body"]
        return RangeOfBody(answer["Body"], begins, start, length)  # the store sent another part

    def _get_sync(self, key: str, start: int, length: int) -> bytes:
        body = self._sync(self._get, key=key, start=start, length=length)
        try:
            return body.read()  # type: ignore[no-any-return]
        finally:
            body.close()

    def open_sync(self, key: str) -> BinaryIO:
        return self._sync(self._get, key=key, start=0, length=None)  # type: ignore[no-any-return]

    def open_seekable(self, key: str) -> BinaryIO:
        size = int(self._sync(self.client.head_object, Bucket=self.bucket, Key=key)["ContentLength"])
        return io.BufferedReader(RangeReader(self._get_sync, key, size), buffer_size=256 * 1024)  # type: ignore[return-value]

    async def open_read(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        if length == 0:
            return _empty()
        body = await self._call(self._get, key=key, start=start, length=length)

        def read() -> bytes:
            try:
                return body.read(READ_BLOCK)  # type: ignore[no-any-return]
            except (BotoCoreError, OSError) as exc:
                raise StorageUnavailable("object storage stopped sending the file") from exc

        # Lazily read ahead, unless the server takes the socket to splice the bytes (socket_body.py).
        return ObjectStream(read_ahead(read, body.close), lambda wanted: plain_socket(body, wanted))

    async def read_bytes(self, key: str) -> bytes:
        # GET and read in one worker-thread call: a rebuild reads thousands of small manifests, and
        # each hand-off between the event loop and a thread costs more than reading one of them.
        return await self._call(self._read_whole, key=key)

    def _read_whole(self, key: str) -> bytes:
        body = self._get(key, 0, None)
        try:
            return body.read()  # type: ignore[no-any-return]
        finally:
            body.close()


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""


class RangeReader(io.RawIOBase):
    """A seekable file over ranged GETs, for libraries (PyAV) that probe by seeking."""

    def __init__(self, get: Callable[[str, int, int], bytes], key: str, size: int) -> None:
        self.get, self.key, self.size, self.pos = get, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        data = self.get(self.key, self.pos, want)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


class RangeOfBody:
    """The `length` bytes from `start` of a GET's body, whatever part the store actually sent.

    Some S3-compatible stores answer some ranges with the whole object (s3rver answers `bytes=0-0`
    with all of it, with a 206); sending that on would break the Content-Length promised to the
    client. The body is skipped forward to `start` and cut at `length`."""

    def __init__(self, body: Any, sent_from: int, start: int, length: int | None) -> None:
        self.body, self.left = body, length
        skip = start - sent_from
        while skip > 0:
            block = body.read(min(skip, 1 << 20))
            if not block:
                break
            skip -= len(block)

    def read(self, size: int = -1) -> bytes:
        if self.left is not None:
            if self.left <= 0:
                return b""
            size = self.left if size is None or size < 0 else min(size, self.left)
        data: bytes = self.body.read(size) if size is not None and size >= 0 else self.body.read()
        if self.left is not None:
            self.left -= len(data)
        return data

    def close(self) -> None:
        self.body.close()


def sent_from(content_range: str | None) -> int:
    """Where the store's answer starts: `bytes 100-199/1000` -> 100; a whole object -> 0."""
    if content_range and content_range.startswith("bytes "):
        first = content_range[6:].split("-", 1)[0]
        if first.isdigit():
            return int(first)
    return 0
