"""The storage interface every backend implements.

Keys are logical (`recordings/<user_id>/<recording_id>/<session_uid>.<ext>`) and identical on
every backend; building them is lite.catalog.keys' job, so backends only ever see validated keys.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from lite.errors import TooLarge


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Stored:
    """What a completed write reports: computed while streaming, never by reading back."""

    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Tagged:
    """A small object and its version tag: S3's ETag, a SHA-256 of the content on local. The tag
    changes whenever the content does; rewriting the same bytes may keep it (S3's MD5 ETags do)."""

    data: bytes
    etag: str


class Storage(ABC):
    backend: str
    # Other replicas may write here at the same time (a bucket several servers share): what this
    # process indexed may be stale, and what is missing here may exist. A private volume: False.
    shared: bool = False
    # The store itself refuses a conditional write whose condition no longer holds (put_new,
    # put_replacing), atomically. False: they check, then write; a writer that comes between the
    # two can be overwritten (see docs/object-storage.md, "Conditional writes").
    conditional_writes: bool = False

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], limit: int | None = None) -> Stored:
        """Write all of `chunks` under `key` atomically; on any error nothing is left under `key`."""
        digest = hashlib.sha256()
        size = 0

        async def counted() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise TooLarge(f"the file is larger than the limit of {limit} bytes")
                digest.update(chunk)
                yield chunk

        await self._write(key, counted())
        return Stored(size=size, sha256=digest.hexdigest())

    async def put_bytes(self, key: str, data: bytes) -> Stored:
        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(key, one())

    @abstractmethod
    async def _write(self, key: str, chunks: AsyncIterator[bytes]) -> None: ...

    @abstractmethod
    async def open_read(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Open `length` bytes from `start` (None: to the end). Raises NotFound on open."""

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes from `start` at once (small ranges); backends may do it in one call."""
        parts = [block async for block in await self.open_read(key, start, length)]
        return b"".join(parts)

    @abstractmethod
    async def read_bytes(self, key: str) -> bytes:
        """A whole small object (manifests, chunk headers)."""

    async def get_tagged(self, key: str) -> Tagged | None:
        """A small object (manifests, control objects) with its version tag; None if absent."""
        raise NotImplementedError

    async def put_new(self, key: str, data: bytes) -> str:
        """Create `key` only if nothing is there (S3: If-None-Match: *); returns the new tag.
        Raises WriteConflict if an object exists. A WriteConflict after a timeout can also be
        this write's own, retried: a caller that must know puts a unique token in `data`."""
        raise NotImplementedError

    async def put_replacing(self, key: str, data: bytes, etag: str) -> str:
        """Replace `key` only if its tag is still `etag` (S3: If-Match); returns the new tag.
        Raises WriteConflict if the object changed or was deleted since it was read."""
        raise NotImplementedError

    @abstractmethod
    def open_sync(self, key: str) -> BinaryIO:
        """A blocking reader, for work done in a worker thread (media assembly)."""

    @abstractmethod
    def open_seekable(self, key: str) -> BinaryIO:
        """A blocking, seekable reader (media probing); on object storage each read is a ranged GET."""

    def local_file(self, key: str) -> BinaryIO | None:
        """The object as an open local file, for the server to send with sendfile(2); None where
        objects are not files (object storage). Called on the event loop: it must not wait long."""
        return None

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error (deletes are retried)."""

    @abstractmethod
    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object under `prefix`, streamed page by page in key order."""

    @abstractmethod
    def list_dirs(self, prefix: str) -> AsyncIterator[str]:
        """The names one level below `prefix` (which ends in "/"), e.g. recording ids of a user."""

    @abstractmethod
    def presign(self, key: str, disposition: str, content_type: str, expires: int) -> str | None:
        """A direct download URL, or None where the backend has none (local). The store answers it
        with `disposition` as its Content-Disposition (the caller builds it: RFC 6266 names)."""

    async def prepare(self) -> None:
        """At start: make the store ready (a missing MinIO bucket is created), or raise a LiteError
        that says what is wrong. By default, the same as `check`."""
        await self.check()

    @abstractmethod
    async def check(self) -> None:
        """Raise StorageUnavailable unless the backend can be read and written now."""

    async def remove_leftovers(self) -> int:
        """At start: remove what a killed process left half-written (local temp files); returns how
        many. Object storage has nothing to do: an object appears only when its upload completed."""
        return 0

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        pass
