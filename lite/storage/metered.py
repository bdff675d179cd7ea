"""A Storage that counts and times every operation of the backend it wraps (lite.ops.metrics).

`make_storage` puts it around the configured backend for the server, so each backend is measured
the same way, at the interface, without a line of metrics code in local.py or s3.py. Only the
operations that touch the store are measured; `presign` (a local computation), `aclose` and the
start-up housekeeping go straight through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from time import perf_counter
from typing import Any, BinaryIO, TypeVar

from lite.errors import LiteError
from lite.ops.metrics import Metrics
from lite.storage.base import ObjectInfo, Storage, Stored, Tagged

T = TypeVar("T")
OPERATIONS = (
    "put_stream", "put_bytes", "open_read", "read_range", "read_bytes", "open_sync", "open_seekable",
    "local_file", "stat", "delete", "list", "list_dirs", "check", "get_tagged", "put_new", "put_replacing",
)  # fmt: skip


def _failed(exc: BaseException) -> bool:
    """A storage failure, as opposed to an answer (NotFound) or the caller's doing (a body over its
    limit, a malformed upload: LiteErrors below 500; a request cancelled when its client left)."""
    if isinstance(exc, LiteError):
        return exc.status_code >= 500
    return not isinstance(exc, asyncio.CancelledError | GeneratorExit)


class _Op:
    """One operation's children (count, errors, duration), made once: no labels() per call."""

    __slots__ = ("count", "errors", "seconds")

    def __init__(self, metrics: Metrics, backend: str, operation: str) -> None:
        self.count = metrics.storage_ops.labels(backend, operation)
        self.errors = metrics.storage_errors.labels(backend, operation)
        self.seconds = metrics.storage_seconds.labels(backend, operation)

    def done(self, started: float, exc: BaseException | None) -> None:
        self.count.inc()
        if exc is not None and _failed(exc):
            self.errors.inc()
        self.seconds.observe(perf_counter() - started)


class MeteredStorage(Storage):
    def __init__(self, inner: Storage, metrics: Metrics) -> None:
        self.inner = inner
        self.backend = inner.backend
        self.shared = inner.shared
        self._ops = {name: _Op(metrics, inner.backend, name) for name in OPERATIONS}

    @property  # type: ignore[override]
    def conditional_writes(self) -> bool:  # known once the backend's prepare() has probed the store
        return self.inner.conditional_writes

    def __getattr__(self, name: str) -> Any:
        """Anything else a backend offers (attributes, helpers) is the backend's."""
        if name == "inner":  # not set yet (copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def _timed(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        op, started = self._ops[operation], perf_counter()
        try:
            result = await call()
        except BaseException as exc:
            op.done(started, exc)
            raise
        op.done(started, None)
        return result

    def _timed_sync(self, operation: str, call: Callable[[], T]) -> T:
        op, started = self._ops[operation], perf_counter()
        try:
            result = call()
        except BaseException as exc:
            op.done(started, exc)
            raise
        op.done(started, None)
        return result

    async def _timed_listing(self, operation: str, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """A listing is one operation, timed from its first page to its last (or to where the
        caller stopped reading)."""
        op, started, failure = self._ops[operation], perf_counter(), None
        try:
            async for item in items:
                yield item
        except BaseException as exc:
            failure = exc
            raise
        finally:
            op.done(started, failure)
            await items.aclose()  # type: ignore[attr-defined]

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], limit: int | None = None) -> Stored:
        return await self._timed("put_stream", lambda: self.inner.put_stream(key, chunks, limit))

    async def put_bytes(self, key: str, data: bytes) -> Stored:
        return await self._timed("put_bytes", lambda: self.inner.put_bytes(key, data))

    async def get_tagged(self, key: str) -> Tagged | None:
        return await self._timed("get_tagged", lambda: self.inner.get_tagged(key))

    async def put_new(self, key: str, data: bytes) -> str:
        # A lost race (WriteConflict, a 409) is an answer, not a storage failure: not an error.
        return await self._timed("put_new", lambda: self.inner.put_new(key, data))

    async def put_replacing(self, key: str, data: bytes, etag: str) -> str:
        return await self._timed("put_replacing", lambda: self.inner.put_replacing(key, data, etag))

    async def _write(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        await self.inner._write(key, chunks)  # only reached through put_stream, which is measured

    async def open_read(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        # Timed to the open (the first byte's wait); the blocks are the client's pace, not the store's.
        return await self._timed("open_read", lambda: self.inner.open_read(key, start, length))

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        return await self._timed("read_range", lambda: self.inner.read_range(key, start, length))

    async def read_bytes(self, key: str) -> bytes:
        return await self._timed("read_bytes", lambda: self.inner.read_bytes(key))

    def open_sync(self, key: str) -> BinaryIO:
        return self._timed_sync("open_sync", lambda: self.inner.open_sync(key))

    def open_seekable(self, key: str) -> BinaryIO:
        return self._timed_sync("open_seekable", lambda: self.inner.open_seekable(key))

    def local_file(self, key: str) -> BinaryIO | None:
        return self._timed_sync("local_file", lambda: self.inner.local_file(key))

    async def stat(self, key: str) -> ObjectInfo:
        return await self._timed("stat", lambda: self.inner.stat(key))

    async def delete(self, key: str) -> None:
        await self._timed("delete", lambda: self.inner.delete(key))

    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        return self._timed_listing("list", self.inner.list(prefix))

    def list_dirs(self, prefix: str) -> AsyncIterator[str]:
        return self._timed_listing("list_dirs", self.inner.list_dirs(prefix))

    def presign(self, key: str, disposition: str, content_type: str, expires: int) -> str | None:
        return self.inner.presign(key, disposition, content_type, expires)

    async def prepare(self) -> None:
        await self.inner.prepare()

    async def check(self) -> None:
        await self._timed("check", self.inner.check)

    async def remove_leftovers(self) -> int:
        return await self.inner.remove_leftovers()

    async def aclose(self) -> None:
        await self.inner.aclose()
