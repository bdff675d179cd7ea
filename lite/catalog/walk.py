"""Walking storage in key order, for `verify` and `migrate`.

Every backend lists in key order, and so can the index; two such streams are paired by merging, so
memory stays flat however many recordings there are and each side is read once, a page at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from anyio import to_thread

from lite.storage import Storage

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")
# Ids are written without leading zeros; anything else under recordings/ is not a recording's.
RECORDING_PREFIX = re.compile(r"recordings/([1-9][0-9]*)/([1-9][0-9]*)/")
CHUNKS = ".chunks/"


async def merge(
    left: AsyncIterator[tuple[str, A]], right: AsyncIterator[tuple[str, B]]
) -> AsyncIterator[tuple[str, A | None, B | None]]:
    """Join two streams sorted by unique keys: every key once, with what each side has for it."""
    a = await anext(left, None)
    b = await anext(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            yield a[0], a[1], None
            a = await anext(left, None)
        elif a is None or b[0] < a[0]:
            yield b[0], None, b[1]
            b = await anext(right, None)
        else:
            yield a[0], a[1], b[1]
            a, b = await anext(left, None), await anext(right, None)


@dataclass
class Group(Generic[T]):
    """Consecutive items under one `recordings/<user_id>/<id>/` prefix (`key`, with `ids`); any other
    item (a user, a key, a stray object) is a group of its own, keyed by itself, without ids.
    Groups come in the order of their keys, as the items did."""

    key: str
    ids: tuple[int, int] | None
    items: list[T]


async def grouped(items: AsyncIterator[T], key_of: Callable[[T], str]) -> AsyncIterator[Group[T]]:
    current: Group[T] | None = None
    async for item in items:
        key = key_of(item)
        if current is not None and current.ids is not None and key.startswith(current.key):
            current.items.append(item)
            continue
        if current is not None:
            yield current
        match = RECORDING_PREFIX.match(key)
        ids = (int(match[1]), int(match[2])) if match else None
        current = Group(match[0] if match else key, ids, [item])
    if current is not None:
        yield current


def master_of_chunk(key: str) -> str | None:
    """The media key a chunk object (`<media key>.chunks/<seq>`) belongs to; None for other keys."""
    master, found, seq = key.rpartition(CHUNKS)
    return master if found and seq.isdigit() else None


async def sha256_of(storage: Storage, key: str) -> str:
    """Re-read an object and hash it a block at a time: memory stays at one block whatever the size.
    hashlib releases the GIL on large blocks, so hashing in a worker thread runs in parallel."""
    digest = hashlib.sha256()
    async for block in await storage.open_read(key):
        await to_thread.run_sync(digest.update, block)
    return digest.hexdigest()


class Bounded:
    """At most `limit` tasks at once; a task's exception surfaces at the next start() or at drain()."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running: set[asyncio.Task[None]] = set()

    async def start(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            while len(self.running) >= self.limit:
                done, self.running = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        except BaseException:
            work.close()  # never started
            raise
        self.running.add(asyncio.create_task(work))

    async def drain(self) -> None:
        running, self.running = self.running, set()
        await asyncio.gather(*running)
