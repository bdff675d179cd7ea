"""One owner per recording at a time: a lock per bot session (user, session_uid).

Chunks, finalizing (on the final chunk or when the bot went quiet) and deleting a recording take the
same lock, so they never interleave in this process: a delete that races the final chunk's assembly
waits for it and then deletes everything, instead of failing half-way or seeing the recording come
back. Across replicas the manifest is the arbiter (see lite.catalog.manifests).
"""

from __future__ import annotations

import asyncio
import weakref


class SessionLocks:
    """One lock per bot session: chunks and finalization of a recording never interleave."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def __call__(self, user_id: int, session_uid: str) -> asyncio.Lock:
        key = (user_id, session_uid)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
