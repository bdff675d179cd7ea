"""A seekable file over an object store's ranged GETs."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any


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
