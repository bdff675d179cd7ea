"""An object store's answer whose bytes can stay in the kernel: the server moves them from the
store's socket to its client's with splice(2) (lite.http.splice) instead of reading each block into
Python and writing it out again.

A relayed download is the one place where Lite's own copying is most of the cost: every byte of a
full `/raw` download from object storage crosses two sockets on this host. Whether the bytes can be
spliced is a storage detail (a plain-TCP answer whose body is not decoded or checked on the way);
whether the client's connection can take them is a server detail. `ObjectStream` carries both ways
of reading an answer, and the one sending it picks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SocketBody:
    fd: int  # a plain TCP socket in non-blocking mode, its next byte the one after `prefix`
    prefix: bytes  # body bytes already read off the socket together with the answer's head
    count: int  # bytes still to come from the socket after `prefix`
    idle_timeout: float  # seconds the store may stay silent before the read is given up
    close: Callable[[], None]  # drops the store's connection (part-read, it cannot be reused)

    @property
    def length(self) -> int:
        return len(self.prefix) + self.count


class ObjectStream:
    """An object store's answer being read: as blocks (an async iterator, like any stream), or,
    instead, as its socket (`take_socket`). Whoever sends it uses one of the two, never both."""

    def __init__(self, blocks: AsyncIterator[bytes], socket_of: Callable[[int], SocketBody | None]) -> None:
        self._blocks = blocks  # lazy: nothing is read before the first block is asked for
        self._socket_of: Callable[[int], SocketBody | None] | None = socket_of

    def __aiter__(self) -> ObjectStream:
        return self

    async def __anext__(self) -> bytes:
        self._socket_of = None  # reading has begun: the socket is no longer at the body's start
        return await self._blocks.__anext__()

    async def aclose(self) -> None:
        await self._blocks.aclose()  # type: ignore[attr-defined]

    def take_socket(self, length: int) -> SocketBody | None:
        """The answer as a socket, if it can be spliced and holds exactly `length` bytes (what the
        client was promised). None otherwise, and then the blocks are still there to read. Once
        taken, the SocketBody owns the store's connection: its `close` must run."""
        socket_of, self._socket_of = self._socket_of, None
        return socket_of(length) if socket_of is not None else None
