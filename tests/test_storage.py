"""The storage contract, the same for every backend: atomic streamed writes, ranged reads, listing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from lite.config import Settings
from lite.errors import NotFound, TooLarge
from lite.storage import Storage, make_storage
from tests.conftest import BACKENDS_ON_EVERY_S3_SERVER, split_backend

pytestmark = pytest.mark.anyio


@pytest.fixture(params=BACKENDS_ON_EVERY_S3_SERVER)
def backend(request: pytest.FixtureRequest) -> str:
    """This suite runs on both S3 servers (moto, and s3rver, which checks signatures)."""
    return str(request.param)


@pytest.fixture
async def storage(settings: Settings) -> AsyncIterator[Storage]:
    from lite.services import build_services

    services = await build_services(settings)
    yield services.storage
    await services.aclose()


async def chunks_of(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def read_all(storage: Storage, key: str, start: int = 0, length: int | None = None) -> bytes:
    return b"".join([block async for block in await storage.open_read(key, start, length)])


async def test_a_streamed_write_reads_back_with_its_size_and_sha256(storage: Storage) -> None:
    data = bytes(range(256)) * 80_000  # 20 MiB: several S3 parts
    stored = await storage.put_stream("recordings/1/2/s.wav", chunks_of(data))
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await read_all(storage, "recordings/1/2/s.wav") == data
    assert (await storage.stat("recordings/1/2/s.wav")).size == len(data)


async def test_a_ranged_read_returns_exactly_that_slice(storage: Storage) -> None:
    data = bytes(range(256)) * 100
    await storage.put_bytes("recordings/1/2/s.wav", data)
    assert await read_all(storage, "recordings/1/2/s.wav", 300, 1000) == data[300:1300]
    assert await read_all(storage, "recordings/1/2/s.wav", len(data) - 1, 1) == data[-1:]


@pytest.mark.parametrize(("start", "length"), [(0, 1), (0, 2), (1, 1), (25_599, 1)])
async def test_a_ranged_read_of_a_byte_or_two_is_exactly_that(
    storage: Storage, start: int, length: int
) -> None:
    """s3rver answers `bytes=0-0` with the whole object: Lite cuts the answer to what was asked."""
    data = bytes(range(256)) * 100
    await storage.put_bytes("recordings/1/2/s.wav", data)
    assert await read_all(storage, "recordings/1/2/s.wav", start, length) == data[start : start + length]


async def test_a_write_that_fails_midway_leaves_nothing_under_the_key(storage: Storage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * (9 * 1024 * 1024)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await storage.put_stream("recordings/1/2/s.wav", broken())
    with pytest.raises(NotFound):
        await storage.stat("recordings/1/2/s.wav")
    assert [info async for info in storage.list("recordings/")] == []


async def test_a_write_over_the_limit_raises_and_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(TooLarge):
        await storage.put_stream("recordings/1/2/s.wav", chunks_of(b"x" * 10_000), limit=5_000)
    assert [info async for info in storage.list("recordings/")] == []


async def test_a_rewrite_replaces_the_whole_object(storage: Storage) -> None:
    await storage.put_bytes("recordings/1/2/s.wav", b"long old content")
    await storage.put_bytes("recordings/1/2/s.wav", b"new")
    assert await read_all(storage, "recordings/1/2/s.wav") == b"new"


async def test_reading_a_missing_key_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.open_read("recordings/1/2/missing.wav")
    with pytest.raises(NotFound):
        await storage.stat("recordings/1/2/missing.wav")


async def test_delete_is_idempotent(storage: Storage) -> None:
    await storage.put_bytes("recordings/1/2/s.wav", b"abc")
    await storage.delete("recordings/1/2/s.wav")
    await storage.delete("recordings/1/2/s.wav")
    with pytest.raises(NotFound):
        await storage.stat("recordings/1/2/s.wav")


async def test_list_streams_keys_under_a_prefix_in_order(storage: Storage) -> None:
    for key in (
        "recordings/1/2/b.wav",
        "recordings/1/2/a.wav",
        "recordings/1/3/c.wav",
        "recordings/2/9/d.wav",
    ):
        await storage.put_bytes(key, b"x")
    keys = [info.key async for info in storage.list("recordings/1/")]
    assert keys == ["recordings/1/2/a.wav", "recordings/1/2/b.wav", "recordings/1/3/c.wav"]


async def test_a_blocking_reader_serves_worker_threads(storage: Storage) -> None:
    await storage.put_bytes("recordings/1/2/s.wav", b"hello world")
    reader = storage.open_sync("recordings/1/2/s.wav")
    try:
        assert reader.read(5) == b"hello"
        assert reader.read() == b" world"
    finally:
        reader.close()


def test_every_backend_is_built_from_the_settings(settings: Settings, backend: str) -> None:
    assert make_storage(settings).backend == split_backend(backend)[0]
