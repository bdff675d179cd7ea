"""Reading the blocks of a stored file one step ahead of the client.

Without it a download alternates: read a block (disk, or a socket to object storage, in a worker
thread), then send it, then read the next. Reading the next block while the current one is sent
overlaps the two, at the cost of one more block in memory per download.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from anyio import to_thread


async def read_ahead(read: Callable[[], bytes], close: Callable[[], None]) -> AsyncIterator[bytes]:
    """The blocks `read` returns (a blocking call; b"" at the end), each next one already being read
    while the consumer handles the current one. `close` runs once the last read has returned."""
    pending = asyncio.ensure_future(to_thread.run_sync(read))
    try:
        while block := await pending:
            pending = asyncio.ensure_future(to_thread.run_sync(read))
            yield block
    finally:
        # A worker thread cannot be interrupted: let the read in flight end before closing its file.
        await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()  # already surfaced, or irrelevant once the consumer stopped
        close()
