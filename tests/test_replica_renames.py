"""A title rename on shared storage changes the manifest in place (If-Match): a delete on another
replica between the rename's read and its write is not undone, and another replica's write in
between is kept. Two Services on one moto bucket, as in test_replica_races."""

from __future__ import annotations

import json
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


async def test_a_rename_meeting_a_delete_on_another_replica_brings_nothing_back(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    user_id, recording_id = await _completed(a, b, "rename-delete@example.com")
    read = a.catalog.read_manifest

    async def deleted_first(uid: int, rid: int) -> Any:
        monkeypatch.setattr(a.catalog, "read_manifest", read)
        await b.recordings.delete(uid, rid)  # lands between the rename's read of the row and its write
        return await read(uid, rid)

    monkeypatch.setattr(a.catalog, "read_manifest", deleted_first)
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
    read = a.catalog.read_manifest

    async def other_write_first(uid: int, rid: int) -> Any:
        monkeypatch.setattr(a.catalog, "read_manifest", read)
        found = await read(uid, rid)  # the rename's read...
        doc = await _manifest(b, uid, rid)  # ...then another replica changes the manifest
        doc["recording"]["meeting_id"] = "from-b"
        await b.storage.put_bytes(manifest_key(uid, rid), json.dumps(doc).encode())
        return found

    monkeypatch.setattr(a.catalog, "read_manifest", other_write_first)
    renamed = await a.recordings.rename(user_id, recording_id, "New title")
    assert renamed["title"] == "New title"
    stored = await _manifest(a, user_id, recording_id)
    assert stored["recording"]["title"] == "New title"
    assert stored["recording"]["meeting_id"] == "from-b"
