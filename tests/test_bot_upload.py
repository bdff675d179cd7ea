"""Meeting bots upload chunks; the recording is finalized into one playable master, on every backend."""

from __future__ import annotations

import io
import json
import random
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from lite.config import load_settings
from tests.conftest import LiveServer, new_user_key, start_server
from tests.mediakit import record_chunks, wav_bytes

UPLOAD = "/internal/recordings/upload"


def send_chunk(
    api: httpx.Client,
    data: bytes,
    seq: int,
    session: str = "bot-session",
    fmt: str = "wav",
    media_type: str = "audio",
    final: bool = False,
    **extra: Any,
) -> httpx.Response:
    metadata = {
        "session_uid": session,
        "media_type": media_type,
        "format": fmt,
        "chunk_seq": seq,
        "is_final": final,
    }
    return api.post(UPLOAD, files={"file": ("chunk", data)}, data={"metadata": json.dumps(metadata | extra)})


def raw_of(api: httpx.Client, recording_id: int, media_id: int) -> bytes:
    answer = api.get(f"/recordings/{recording_id}/media/{media_id}/raw")
    assert answer.status_code == 200
    return answer.content


def wav_chunks(count: int, seconds: float = 0.5) -> list[bytes]:
    return [wav_bytes(seconds, freq=300 + 100 * i) for i in range(count)]


def pcm_of(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav)) as w:
        return w.readframes(w.getnframes())


def test_the_first_chunk_creates_an_in_progress_bot_recording(api: httpx.Client) -> None:
    answer = send_chunk(api, wav_chunks(1)[0], 0, meeting_id=99)
    assert answer.status_code == 201, answer.text
    ack = answer.json()
    assert set(ack) == {"recording_id", "media_file_id", "storage_path", "status", "chunk_seq"}
    assert (ack["status"], ack["chunk_seq"]) == ("in_progress", 0)
    recording = api.get(f"/recordings/{ack['recording_id']}").json()
    assert (recording["source"], recording["status"], recording["meeting_id"]) == ("bot", "in_progress", 99)
    assert api.get("/recordings?status=in_progress").json()["total"] == 1


def test_wav_chunks_become_one_wav_of_exactly_the_concatenated_samples(api: httpx.Client) -> None:
    chunks = wav_chunks(4)
    acks = [send_chunk(api, c, i, final=i == 3).json() for i, c in enumerate(chunks)]
    assert acks[-1]["status"] == "completed"
    recording = api.get(f"/recordings/{acks[0]['recording_id']}").json()
    [media] = recording["media_files"]
    master = raw_of(api, recording["id"], media["id"])
    assert pcm_of(master) == b"".join(pcm_of(c) for c in chunks)
    assert media["duration_seconds"] == pytest.approx(2.0)
    assert media["file_size_bytes"] == len(master)
    assert (media["chunk_count"], media["missing_chunks"]) == (4, [])


def test_chunks_out_of_order_with_a_resend_are_assembled_once_in_order(api: httpx.Client) -> None:
    chunks = wav_chunks(5)
    order = [3, 0, 4, 1, 2]
    for seq in order:
        send_chunk(api, chunks[seq], seq, final=seq == 4)
    listing = api.get("/recordings").json()
    [recording] = listing["recordings"]
    assert recording["status"] == "completed"
    master = raw_of(api, recording["id"], recording["media_files"][0]["id"])
    assert pcm_of(master) == b"".join(pcm_of(c) for c in chunks)


def test_a_resent_chunk_replaces_and_is_not_counted_twice(api: httpx.Client) -> None:
    first, second = wav_chunks(2)
    ack = send_chunk(api, first, 0).json()
    send_chunk(api, second, 0)  # the bot retried chunk 0 with other bytes: the last copy wins
    recording = api.get(f"/recordings/{ack['recording_id']}").json()
    assert recording["media_files"][0]["file_size_bytes"] == len(second)


def test_audio_and_video_of_one_session_arrive_concurrently_into_one_recording(api: httpx.Client) -> None:
    audio = record_chunks("audio", 3)
    video = record_chunks("video", 3)
    jobs = [(c, i, "audio") for i, c in enumerate(audio)] + [(c, i, "video") for i, c in enumerate(video)]
    random.Random(7).shuffle(jobs)
    # Both streams run at once, out of order; each bot stream ends with its final chunk.
    finals = [job for job in jobs if job[1] == len(audio if job[2] == "audio" else video) - 1]
    body = [job for job in jobs if job not in finals]
    with ThreadPoolExecutor(4) as pool:
        acks = list(pool.map(lambda j: send_chunk(api, j[0], j[1], fmt="webm", media_type=j[2]), body))
        acks += list(
            pool.map(lambda j: send_chunk(api, j[0], j[1], fmt="webm", media_type=j[2], final=True), finals)
        )
    assert all(a.status_code == 201 for a in acks), [a.text for a in acks]
    assert len({a.json()["recording_id"] for a in acks}) == 1
    recording = api.get(f"/recordings/{acks[0].json()['recording_id']}").json()
    assert recording["status"] == "completed"
    assert sorted(m["type"] for m in recording["media_files"]) == ["audio", "video"]


def test_a_chunk_for_a_completed_recording_is_a_conflict_and_changes_nothing(api: httpx.Client) -> None:
    chunks = wav_chunks(2)
    ack = [send_chunk(api, c, i, final=i == 1).json() for i, c in enumerate(chunks)][-1]
    recording = api.get(f"/recordings/{ack['recording_id']}").json()
    before = raw_of(api, recording["id"], recording["media_files"][0]["id"])
    late = send_chunk(api, chunks[0], 2)
    assert late.status_code == 409
    assert "completed" in late.json()["detail"]
    assert raw_of(api, recording["id"], recording["media_files"][0]["id"]) == before


def test_an_in_progress_recording_plays_what_has_arrived(api: httpx.Client) -> None:
    chunks = wav_chunks(3)
    acks = [send_chunk(api, c, i).json() for i, c in enumerate(chunks[:2])]
    so_far = raw_of(api, acks[0]["recording_id"], acks[0]["media_file_id"])
    assert so_far == chunks[0] + chunks[1]
    part = api.get(
        f"/recordings/{acks[0]['recording_id']}/media/{acks[0]['media_file_id']}/raw",
        headers={"Range": f"bytes={len(chunks[0]) - 2}-{len(chunks[0]) + 1}"},
    )
    assert part.status_code == 206
    assert part.content == (chunks[0] + chunks[1])[len(chunks[0]) - 2 : len(chunks[0]) + 2]


def test_a_final_chunk_waits_for_missing_lower_chunks(api: httpx.Client) -> None:
    chunks = wav_chunks(3)
    send_chunk(api, chunks[0], 0)
    assert send_chunk(api, chunks[2], 2, final=True).json()["status"] == "in_progress"
    assert send_chunk(api, chunks[1], 1).json()["status"] == "completed"


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ({"media_type": "audio", "format": "wav", "chunk_seq": 0}, "session_uid is required"),
        ({"session_uid": "s", "format": "wav", "chunk_seq": -1}, "chunk_seq"),
        ({"session_uid": "s", "format": "wav", "chunk_seq": "one"}, "chunk_seq"),
        ({"session_uid": "s", "format": "flac", "chunk_seq": 0}, "unknown format"),
        ({"session_uid": "s/../x", "format": "wav", "chunk_seq": 0}, "session_uid"),
        ({"session_uid": "s", "format": "wav", "chunk_seq": 0, "is_final": "perhaps"}, "is_final"),
        ({"session_uid": "s", "format": "wav", "chunk_seq": 0, "media_type": "slides"}, "media_type"),
    ],
    ids=[
        "no-session",
        "negative-seq",
        "non-numeric-seq",
        "unknown-format",
        "traversal",
        "bad-final",
        "bad-type",
    ],
)
def test_bad_metadata_is_refused_with_422(api: httpx.Client, metadata: dict[str, Any], words: str) -> None:
    answer = api.post(UPLOAD, files={"file": ("c", wav_bytes(0.1))}, data={"metadata": json.dumps(metadata)})
    assert answer.status_code == 422
    assert words in answer.json()["detail"]
    assert api.get("/recordings").json()["total"] == 0


def test_metadata_that_is_not_json_is_refused(api: httpx.Client) -> None:
    answer = api.post(UPLOAD, files={"file": ("c", wav_bytes(0.1))}, data={"metadata": "{nope"})
    assert answer.status_code == 422
    assert "JSON" in answer.json()["detail"]


def test_flat_form_fields_work_and_metadata_wins_over_them(api: httpx.Client) -> None:
    answer = api.post(
        UPLOAD,
        files={"file": ("c", wav_bytes(0.1))},
        data={
            "session_uid": "flat",
            "format": "wav",
            "chunk_seq": "0",
            "metadata": json.dumps({"session_uid": "meta"}),
        },
    )
    assert answer.status_code == 201
    assert api.get(f"/recordings/{answer.json()['recording_id']}").json()["session_uid"] == "meta"


def test_a_chunk_over_the_limit_is_refused_with_413(api: httpx.Client, server: LiveServer) -> None:
    limit = server.settings.chunk_max_bytes
    object.__setattr__(server.settings, "chunk_max_bytes", 1000)
    try:
        answer = send_chunk(api, wav_bytes(1.0), 0)
    finally:
        object.__setattr__(server.settings, "chunk_max_bytes", limit)
    assert answer.status_code == 413
    assert "RECORDING_CHUNK_MAX_BYTES" in answer.json()["detail"]
    assert api.get("/recordings").json()["total"] == 0


def test_mediarecorder_webm_chunks_shuffled_with_a_duplicate_become_a_seekable_master(
    api: httpx.Client,
) -> None:
    chunks = record_chunks("audio", 6)
    order = list(range(len(chunks)))
    random.Random(3).shuffle(order)
    order.insert(2, order[0])  # one chunk sent twice
    last = len(chunks) - 1
    for seq in order:
        ack = send_chunk(api, chunks[seq], seq, fmt="webm", final=seq == last)
        assert ack.status_code == 201, ack.text
    [recording] = api.get("/recordings").json()["recordings"]
    assert recording["status"] == "completed"
    [media] = recording["media_files"]
    assert media["duration_seconds"] == pytest.approx(6.0, abs=0.4)
    master = raw_of(api, recording["id"], media["id"])
    with av.open(io.BytesIO(master)) as container:
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(media["duration_seconds"], abs=0.05)
        decoded = sum(frame.samples for frame in container.decode(audio=0))
    assert decoded / 48000 == pytest.approx(6.0, abs=0.4)


@pytest.fixture
def quick_idle_server(env: dict[str, str]) -> Iterator[LiveServer]:
    live = start_server(load_settings(env | {"RECORDING_IDLE_FINALIZE_SECONDS": "1"}))
    yield live
    live.stop()


def test_a_session_abandoned_by_its_bot_is_finalized_after_the_idle_timeout(
    quick_idle_server: LiveServer,
) -> None:
    with httpx.Client(
        base_url=quick_idle_server.url, headers={"X-Admin-API-Key": "test-admin-token"}
    ) as admin:
        _, key = new_user_key(admin)
    with httpx.Client(base_url=quick_idle_server.url, headers={"X-API-Key": key}, timeout=30) as api:
        chunks = wav_chunks(3)
        for seq in (0, 1, 3):  # chunk 2 never comes, nor a final chunk
            ack = send_chunk(api, chunks[seq % 3], seq).json()
        recording = _wait_for_status(api, ack["recording_id"], "completed", timeout=15)
        [media] = recording["media_files"]
        assert media["missing_chunks"] == [[2, 2]]
        assert media["chunk_count"] == 3
        master = raw_of(api, recording["id"], media["id"])
        assert pcm_of(master) == pcm_of(chunks[0]) + pcm_of(chunks[1]) + pcm_of(chunks[0])


def _wait_for_status(api: httpx.Client, recording_id: int, status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recording = api.get(f"/recordings/{recording_id}").json()
        if recording["status"] == status:
            return recording
        time.sleep(0.2)
    raise AssertionError(f"recording {recording_id} never became {status}: {recording}")


def test_no_chunk_objects_remain_after_finalize(api: httpx.Client, server: LiveServer) -> None:
    chunks = wav_chunks(2)
    for i, c in enumerate(chunks):
        send_chunk(api, c, i, final=i == 1)
    if server.settings.storage_backend == "local":
        root = Path(server.settings.local_storage_dir) / "recordings"
        files = sorted(p.name for p in root.rglob("*") if p.is_file())
        assert files == ["bot-session.wav", "manifest.json"]
