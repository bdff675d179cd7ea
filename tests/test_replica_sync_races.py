"""With shared storage (minio/s3) a request may index, through a replica sync, what another request
of the same server is writing. The writer must then still succeed, and nothing is counted twice."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from lite.catalog.manifests import Catalog
from lite.catalog.records import MediaFile, Recording
from tests.faultkit import random_wav
from tests.test_bot_upload import send_chunk, wav_chunks

WRITERS: dict[str, Callable[[httpx.Client], httpx.Response]] = {
    "upload": lambda api: api.post("/recordings", files={"file": ("a.wav", random_wav(20_000))}),
    "first bot chunk": lambda api: send_chunk(api, wav_chunks(1)[0], 0),
    "second media of a bot session": lambda api: (
        send_chunk(api, wav_chunks(1)[0], 0),
        send_chunk(api, wav_chunks(1)[0], 0, media_type="video"),
    )[1],
}


@pytest.fixture
def synced_after_every_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    save_manifest = Catalog.save_manifest

    async def then_synced(self: Catalog, recording: Recording, media: list[MediaFile]) -> None:
        await save_manifest(self, recording, media)
        # What `GET /recordings` of the same user does if it runs at this moment (Catalog.sync_user).
        await self.load_recording(recording.user_id, recording.id)

    monkeypatch.setattr(Catalog, "save_manifest", then_synced)


@pytest.mark.parametrize("backend", ["minio", "s3"])
@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.usefixtures("synced_after_every_manifest")
def test_a_write_whose_manifest_a_sync_indexed_first_still_succeeds(api: httpx.Client, writer: str) -> None:
    answer = WRITERS[writer](api)
    assert answer.status_code == 201, answer.text
    listed = api.get("/recordings").json()
    assert listed["total"] == 1
    [recording] = listed["recordings"]
    assert len(recording["media_files"]) == (2 if "second media" in writer else 1)
