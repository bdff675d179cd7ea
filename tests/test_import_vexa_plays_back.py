"""`python -m lite import-vexa` imports a Vexa bucket, in both of Vexa's key layouts and with real audio and
video, and it plays back through `/raw` with a key of the adopted user: on local, on moto and on the
second S3 server, copied from a local Vexa volume onto S3 and from another bucket. Vexa's objects and
what is outside `recordings/` stay as they were, chunk-only sessions are assembled as Lite's finalizer
does, a file that does not play is a failed recording, and a second run imports nothing.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import httpx
import pytest

from lite.config import Settings
from lite.ops.import_vexa_cli import open_source
from lite.services import build_services
from lite.storage import LocalStorage, Storage
from tests.conftest import ADMIN_TOKEN, start_server
from tests.vexaimportkit import (
    ASSEMBLED,
    AUDIO_CHUNKS,
    BROKEN,
    MANIFESTS,
    MASTER,
    SINGLE,
    USER_A,
    USER_B,
    VIDEO,
    WAV_CHUNKS,
    WAVS,
    WEBM_CHUNKS,
    S,
    contents,
    put_all,
    run_import,
    vexa_keys,
    vexa_objects,
)


def decoded_seconds(data: bytes, kind: str) -> float:
    """Decode every frame of the first `kind` stream: the media plays, this long."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        last = 0.0
        for frame in container.decode(stream):
            if frame.pts is not None:
                last = max(last, float(frame.pts * frame.time_base))
        return last


@dataclass
class Played:
    recordings: dict[int, dict]
    raw: dict[tuple[int, str], bytes]


def play_back(settings: Settings, user_id: int) -> Played:
    """A key for the adopted user from the admin API, then the list and every media file's /raw."""
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            answer = client.post(f"/admin/users/{user_id}/tokens", headers={"X-Admin-API-Key": ADMIN_TOKEN})
            assert answer.status_code in (200, 201), answer.text
            client.headers["X-API-Key"] = answer.json()["token"]
            listed = client.get("/recordings", params={"limit": 50})
            assert listed.status_code == 200, listed.text
            recordings = {r["id"]: r for r in listed.json()["recordings"]}
            raw = {}
            for recording in recordings.values():
                for media in recording["media_files"]:
                    got = client.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
                    assert got.status_code == 200, got.text
                    raw[recording["id"], media["type"]] = got.content
            return Played(recordings, raw)
    finally:
        live.stop()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("backend", "source_kind"),
    [("local", None), ("s3", None), ("minio@s3rver", None), ("s3", "volume"), ("minio@s3rver", "bucket")],
    ids=["local", "s3", "minio@s3rver", "local-volume-to-s3", "another-bucket-to-minio@s3rver"],
)
async def test_a_vexa_bucket_is_imported_and_plays_back(
    settings: Settings, tmp_path: Path, source_kind: str | None
) -> None:
    services = await build_services(settings)
    source: Storage | None = None
    from_volume = source_kind is not None  # Vexa's objects elsewhere, copied into Lite's storage
    try:
        if source_kind == "volume":  # Vexa's local volume
            source = LocalStorage(tmp_path / "vexa-volume", fsync=False)
        if source_kind == "bucket":  # Vexa's own bucket on the same endpoint (--from-bucket)
            vexa_bucket = dataclasses.replace(settings.s3, bucket=f"vexa-{secrets.token_hex(4)}")
            source = await open_source(
                dataclasses.replace(settings, s3=dataclasses.replace(vexa_bucket, create_bucket=True))
            )
        await put_all(source or services.storage, vexa_objects())
        before = await contents(source or services.storage)
        summary = await run_import(services, source=source)
        assert (summary.imported, summary.failed, len(summary.unplayable), summary.assembled) == (
            5,
            0,
            1,
            3,
        ), summary.text()
        assert summary.skipped == {"objects under recordings/ outside any recording's prefix": 1}
        after = await contents(services.storage)
        # Vexa's objects are all there, unchanged (copied when they came from elsewhere), and what is
        # outside recordings/ too; Lite added only its manifests and the files it assembled.
        for key in vexa_keys(before) if from_volume else before:
            assert after[key] == before[key], key
        manifests = {f"recordings/{user}/{recording}/manifest.json" for user, recording in MANIFESTS}
        assert set(after) - set(before) == manifests | ASSEMBLED
        assert (await run_import(services, source=source)).imported == 0  # a second run: nothing new
    finally:
        await services.aclose()
        if source is not None:
            await source.aclose()

    a, b = play_back(settings, USER_A), play_back(settings, USER_B)
    assert set(a.recordings) == {SINGLE, MASTER} and set(b.recordings) == {WAV_CHUNKS, WEBM_CHUNKS, BROKEN}
    objects = vexa_objects()
    # Vexa's files play as they are: the bytes Vexa stored, the media pointing at its objects.
    assert a.raw[SINGLE, "audio"] == objects[f"recordings/{USER_A}/{SINGLE}/{S[1]}.wav"]
    assert a.raw[SINGLE, "video"] == VIDEO
    assert a.raw[MASTER, "audio"] == b"".join(AUDIO_CHUNKS)
    single = a.recordings[SINGLE]
    assert (single["session_uid"], single["status"], single["source"], single["meeting_id"]) == (
        S[1], "completed", "bot", None,
    )  # fmt: skip
    assert {m["storage_path"] for m in single["media_files"]} == {
        f"recordings/{USER_A}/{SINGLE}/{S[1]}.wav", f"recordings/{USER_A}/{SINGLE}/{S[1]}.webm",
    }  # fmt: skip
    assert datetime.fromisoformat(single["created_at"]) <= datetime.now(UTC)
    # Chunk-only sessions are assembled as Lite's finalizer does: the WAV's PCM in order, webm remuxed.
    with wave.open(io.BytesIO(b.raw[WAV_CHUNKS, "audio"])) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 48000)
        assert w.readframes(48000) == b"".join(chunk[44:] for chunk in WAVS)
    assert decoded_seconds(b.raw[WEBM_CHUNKS, "audio"], "audio") > 2.0
    assert decoded_seconds(b.raw[WEBM_CHUNKS, "video"], "video") > 2.0
    assert decoded_seconds(a.raw[SINGLE, "video"], "video") > 2.0
    assert b.recordings[WEBM_CHUNKS]["status"] == "completed"
    broken = b.recordings[BROKEN]
    assert broken["status"] == "failed" and "does not play" in broken["error_message"]
