"""A title rename on shared storage changes the manifest in place (If-Match): a delete on another
replica between the rename's read and its write is not undone, and another replica's write in
between is kept. Two Services on one moto bucket, as in test_replica_races."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from lite.catalog.layout import manifest_key
from lite.errors import LiteError
from lite.services import Services
from tests.test_replica_races import (
    fixture_bucket_env,  # noqa: F401 - a fixture
    fixture_replicas,  # noqa: F401 - a fixture
    keys_under,
    send,
    user_on_both,
)

pytestmark = pytest.mark.anyio


async def _completed(a: Services, b: Services, email: str) -> tuple[int, int]:
    user_id = await user_on_both(a, b, email)
    answer = await send(a, user_id, "renamed", 0, final=True)
    return user_id, int(answer["recording_id"])


async def _manifest(services: Services, user_id: int, recording_id: int) -> dict[str, Any]:
    return json.loads(await services.storage.read_bytes(manifest_key(user_id, recording_id)))


def _racing(
    a: Services, monkeypatch: pytest.MonkeyPatch, other: Callable[[int, int], Awaitable[None]], after: bool
) -> None:
    """`other` runs once, just before (or just after) the rename on `a` reads the manifest it
    changes: between the rename's look at the recording and its write."""
    read = a.catalog.read_manifest

    async def raced(user_id: int, recording_id: int) -> Any:
        monkeypatch.setattr(a.catalog, "read_manifest", read)
        if not after:
            await other(user_id, recording_id)
        found = await read(user_id, recording_id)
        if after:
            await other(user_id, recording_id)
        return found

    monkeypatch.setattr(a.catalog, "read_manifest", raced)


async def test_a_rename_meeting_a_delete_on_another_replica_brings_nothing_back(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    user_id, recording_id = await _completed(a, b, "rename-delete@example.com")

    async def delete(uid: int, rid: int) -> None:
        await b.recordings.delete(uid, rid)

    _racing(a, monkeypatch, delete, after=False)
    with pytest.raises(LiteError) as refused:
        await a.recordings.rename(user_id, recording_id, "Too late")
    assert refused.value.status_code == 410
    assert await keys_under(a, f"recordings/{user_id}/") == []
    assert a.index.get_recording(user_id, recording_id) is None


async def test_a_rename_keeps_what_another_replica_wrote_in_between(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    user_id, recording_id = await _completed(a, b, "rename-rename@example.com")

    async def change_meeting(uid: int, rid: int) -> None:
        doc = await _manifest(b, uid, rid)
        doc["recording"]["meeting_id"] = "from-b"
        await b.storage.put_bytes(manifest_key(uid, rid), json.dumps(doc).encode())

    _racing(a, monkeypatch, change_meeting, after=True)
    renamed = await a.recordings.rename(user_id, recording_id, "New title")
    assert renamed["title"] == "New title"
    stored = await _manifest(a, user_id, recording_id)
    assert stored["recording"]["title"] == "New title"
    assert stored["recording"]["meeting_id"] == "from-b"
