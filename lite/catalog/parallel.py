"""Many small reads from storage at once, but never more than PARALLEL_READS in flight: an object
store answers one GET in milliseconds, so a rebuild or a listing of users reads in parallel, and
the bound keeps memory and open connections (boto3's pool) in check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

PARALLEL_READS = 32


async def gather_limited(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """The calls' results in order, at most PARALLEL_READS running at a time."""
    results: list[Any] = []
    for start in range(0, len(calls), PARALLEL_READS):
        results += await asyncio.gather(*(call() for call in calls[start : start + PARALLEL_READS]))
    return results
