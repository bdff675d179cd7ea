"""Small ranged reads on the local backend: cached pages are read on the event loop, anything that
needs the disk (or fails) goes through a worker thread, and both give exactly the bytes asked for."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lite.errors import NotFound
from lite.storage import local
from lite.storage.local import LocalStorage

pytestmark = pytest.mark.anyio
KEY = "recordings/1/2/s.wav"
DATA = os.urandom(1024 * 1024)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStorage]:
    storage = LocalStorage(tmp_path, fsync=True)
    await storage.put_bytes(KEY, DATA)
    yield storage


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    run_sync = local.to_thread.run_sync

    async def counting(func: Any, *args: Any) -> Any:
        calls.append(getattr(func, "__name__", "?"))
        return await run_sync(func, *args)

    monkeypatch.setattr(local.to_thread, "run_sync", counting)
    return calls


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


async def test_a_cached_range_is_read_without_a_worker_thread(
    store: LocalStorage, thread_calls: list[str]
) -> None:
    assert await store.read_range(KEY, 4096, 256 * 1024) == DATA[4096 : 4096 + 256 * 1024]
    assert thread_calls == []


async def test_a_range_not_in_the_page_cache_is_read_in_a_worker_thread(
    store: LocalStorage, thread_calls: list[str]
) -> None:
    _evict(store.root / KEY)
    assert await store.read_range(KEY, 100_000, 300_000) == DATA[100_000:400_000]
    assert thread_calls == ["_pread"]


async def test_a_range_past_the_end_returns_what_is_there(store: LocalStorage) -> None:
    assert await store.read_range(KEY, len(DATA) - 10, 100) == DATA[-10:]


async def test_a_missing_object_is_not_found(store: LocalStorage) -> None:
    with pytest.raises(NotFound):
        await store.read_range("recordings/1/2/gone.wav", 0, 10)
