"""One owner per recording at a time: a delete racing the final chunk's assembly waits for it, then
deletes everything; it never fails half-way, and nothing of the recording comes back afterwards,
not after a rebuild of the index from storage either. Many rounds, with the delete sent at different
moments of the finalize, on local storage and on S3."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from lite.config import Settings
from lite.errors import LiteError, NotFound
from lite.services import Services, build_services
from tests.maintenancekit import fixture_backend, send_chunk  # noqa: F401 - a fixture (local, s3)
from tests.mediakit import wav_bytes

pytestmark = pytest.mark.anyio
ROUNDS = 12
CHUNKS = [wav_bytes(2.0, freq=200 + 50 * n) for n in range(4)]  # assembly takes a few milliseconds


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = await build_services(settings)
    yield svc
    await svc.aclose()


async def stored_under(services: Services, user_id: int) -> list[str]:
    return [info.key async for info in services.storage.list(f"recordings/{user_id}/")]


async def test_a_delete_racing_the_final_chunk_leaves_nothing_and_never_fails(services: Services) -> None:
    user = await services.auth.create_user("racer@example.com", None)
    rng = random.Random(20261204)
    for round_number in range(ROUNDS):
        session = f"race-{round_number}"
        for seq, chunk in enumerate(CHUNKS[:-1]):
            await send_chunk(services, user.id, chunk, session, seq, final=False)
        recording = services.index.bot_recording(user.id, session)
        assert recording is not None

        async def delete_soon(delay: float, recording_id: int = recording.id) -> str:
            await asyncio.sleep(delay)
            try:
                await services.recordings.delete(user.id, recording_id)
                return "deleted"
            except NotFound:
                return "already gone"

        final = send_chunk(services, user.id, CHUNKS[-1], session, len(CHUNKS) - 1, final=True)
        results = await asyncio.gather(final, delete_soon(rng.uniform(0, 0.02)), return_exceptions=True)
        outcome = results[1]
        assert outcome == "deleted", outcome  # the delete waited for the finalize, then took it all
        if isinstance(results[0], BaseException):  # the chunk lost the race: refused, never a crash
            assert isinstance(results[0], LiteError), results[0]
        assert services.index.get_recording_by_id(recording.id) is None
        assert not await services.catalog.manifest_exists(user.id, recording.id)
    assert await stored_under(services, user.id) == []


async def after_a_rebuild(settings: Settings, user_id: int, recording_id: int) -> tuple[bool, list[str]]:
    """A new disk for the index, refilled from storage: is the recording back, what is stored?"""
    for path in settings.data_dir.glob("lite.db*"):
        path.unlink()
    fresh = await build_services(settings)
    try:
        await fresh.rebuild_if_empty()
        return fresh.index.get_recording_by_id(recording_id) is not None, await stored_under(fresh, user_id)
    finally:
        await fresh.aclose()


async def test_nothing_deleted_comes_back_after_a_rebuild(settings: Settings) -> None:
    services = await build_services(settings)
    try:
        user = await services.auth.create_user("rebuild@example.com", None)
        for seq, chunk in enumerate(CHUNKS):
            await send_chunk(services, user.id, chunk, "gone", seq, final=seq == len(CHUNKS) - 1)
        recording = services.index.bot_recording(user.id, "gone")
        assert recording is not None
        await services.recordings.delete(user.id, recording.id)
    finally:
        await services.aclose()
    assert await after_a_rebuild(settings, user.id, recording.id) == (False, [])


async def test_a_delete_that_storage_fails_half_way_is_finished_later_and_nothing_comes_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lite.errors import StorageUnavailable

    services = await build_services(settings)
    try:
        user = await services.auth.create_user("halfway@example.com", None)
        for seq, chunk in enumerate(CHUNKS[:2]):
            await send_chunk(services, user.id, chunk, "halfway", seq, final=False)  # chunks, no master
        recording = services.index.bot_recording(user.id, "halfway")
        assert recording is not None
        real_delete = services.storage.delete
        calls = 0

        async def failing_after_one(key: str) -> None:
            nonlocal calls
            calls += 1
            if calls > 1 and "manifest" not in key:
                raise StorageUnavailable("object storage is unreachable")
            await real_delete(key)

        monkeypatch.setattr(services.storage, "delete", failing_after_one)
        answer = await services.recordings.delete(user.id, recording.id)
        assert answer["status"] == "deleted"  # gone for the user at once
        with pytest.raises(NotFound):
            await services.recordings.get(user.id, recording.id)
        assert await stored_under(services, user.id) != []  # storage failed part of it
        monkeypatch.setattr(services.storage, "delete", real_delete)  # storage is back
        assert await services.recordings.finish_deletes() == 0  # the background job's round
        assert await stored_under(services, user.id) == []
    finally:
        await services.aclose()
    assert await after_a_rebuild(settings, user.id, recording.id) == (False, [])
