"""Finalizing off the request path, and back-pressure on bot chunks.

A final chunk is acknowledged once stored; FINALIZE_WORKERS assemble due sessions from a bounded
queue that a restart does not empty (what makes a session due is durable). Past
BOT_MAX_INFLIGHT_CHUNKS chunks in flight a bot is told 503 + Retry-After before its body is read.
Run with the default FINALIZE_WAIT_MS (0): answers never wait for a master.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lite.config import Settings, load_settings
from lite.services import Services, build_services
from lite.sessions import finalize_queue
from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key, start_server
from tests.maintenancekit import fixture_backend, send_chunk  # noqa: F401 - a fixture (local, s3)
from tests.mediakit import wav_bytes
from tests.test_bot_upload import UPLOAD
from tests.test_bot_upload import send_chunk as post_chunk

CHUNKS = [wav_bytes(0.5, freq=300 + 100 * n) for n in range(3)]


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return load_settings({k: v for k, v in env.items() if k != "FINALIZE_WAIT_MS"})


def wait_for_status(api: httpx.Client, recording_id: int, wanted: str, seconds: float = 20) -> dict:
    deadline = time.monotonic() + seconds
    while (recording := api.get(f"/recordings/{recording_id}").json())["status"] != wanted:
        assert time.monotonic() < deadline, recording
        time.sleep(0.05)
    return recording


def test_a_final_chunk_is_acknowledged_before_its_master_is_assembled(api: httpx.Client) -> None:
    acks = [post_chunk(api, c, i, final=i == len(CHUNKS) - 1) for i, c in enumerate(CHUNKS)]
    assert [a.status_code for a in acks] == [201] * len(CHUNKS)
    assert acks[-1].json()["status"] == "in_progress"  # stored, due, not yet assembled
    recording = wait_for_status(api, acks[-1].json()["recording_id"], "completed")
    [media] = recording["media_files"]
    assert media["is_final"] is True
    assert api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw").status_code == 200


def test_finalize_wait_ms_lets_the_answer_say_completed_when_the_master_is_done_in_time(
    env: dict[str, str],
) -> None:
    live = start_server(load_settings(env | {"FINALIZE_WAIT_MS": "20000"}))
    try:
        with httpx.Client(base_url=live.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        with httpx.Client(base_url=live.url, headers={"X-API-Key": key}, timeout=30) as api:
            acks = [post_chunk(api, c, i, final=i == 1).json() for i, c in enumerate(CHUNKS[:2])]
        assert [a["status"] for a in acks] == ["in_progress", "completed"]
    finally:
        live.stop()


@pytest.mark.anyio
async def test_a_due_session_a_stopped_server_left_is_finalized_after_the_next_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finalize_queue, "ROUND_SECONDS", 0.05)
    first = await build_services(settings)
    user = await first.auth.create_user("restart@example.com", None)
    for seq, chunk in enumerate(CHUNKS):
        await send_chunk(first, user.id, chunk, "restarted", seq, final=seq == len(CHUNKS) - 1)
    await first.aclose()  # stops the workers before they took it: acknowledged, not finalized
    second = await build_services(settings)
    try:
        recording = second.index.bot_recording(user.id, "restarted")
        assert recording is not None and recording.status == "in_progress"
        rounds = asyncio.create_task(second.finalize_queue.run())
        [media] = second.index.media_for([recording.id])
        for _ in range(400):  # completed, then its chunks removed
            recording = second.index.get_recording_by_id(recording.id)
            if recording.status != "in_progress" and not second.index.chunks_of(media.id):
                break
            await asyncio.sleep(0.05)
        rounds.cancel()
        assert recording.status == "completed"
        assert second.index.chunks_of(media.id) == []
    finally:
        await second.aclose()


@pytest.mark.anyio
async def test_sessions_past_finalize_queue_max_wait_for_the_next_round_and_none_is_lost(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finalize_queue, "ROUND_SECONDS", 0.05)
    small = Settings(**{**settings.__dict__, "finalize_queue_max": 1, "finalize_workers": 1})
    services: Services = await build_services(small)
    try:
        user = await services.auth.create_user("queue@example.com", None)
        sessions = [f"s{n}" for n in range(4)]
        await send_chunk(services, user.id, CHUNKS[0], sessions[0], 0, final=True)  # queued
        async with services.finalizer.locks(user.id, sessions[0]):  # its worker waits here
            for session in sessions[1:]:  # each final at once: the queue is full, they stay due
                await send_chunk(services, user.id, CHUNKS[0], session, 0, final=True)
            assert len(services.finalize_queue) == 0  # the one queued is taken, waiting for the lock
            assert len(services.index.due_recordings()) == len(sessions)
        rounds = asyncio.create_task(services.finalize_queue.run())
        for _ in range(400):
            if not services.index.due_recordings():
                break
            await asyncio.sleep(0.05)
        rounds.cancel()
        statuses = [services.index.bot_recording(user.id, s).status for s in sessions]
        assert statuses == ["completed"] * len(sessions)
    finally:
        await services.aclose()


def _held_chunk(port: int, key: str) -> tuple[socket.socket, bytes]:
    """A chunk request whose headers and half its body are sent: it holds its place until finished."""
    body = json.dumps({"session_uid": "held", "format": "wav", "chunk_seq": 0, "is_final": False})
    form = (
        b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n' + body.encode() + b"\r\n"
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="c.wav"\r\n\r\n'
        + CHUNKS[0] + b"\r\n--b--\r\n"
    )  # fmt: skip
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    head = (
        f"POST {UPLOAD} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: {len(form)}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n\r\n"
    )
    sock.sendall(head.encode() + form[:100])
    return sock, form[100:]


@pytest.fixture
def one_place(env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(load_settings(env | {"BOT_MAX_INFLIGHT_CHUNKS": "1", "BOT_RETRY_AFTER_SECONDS": "3"}))
    yield live
    live.stop()


def test_past_bot_max_inflight_chunks_a_chunk_is_told_to_come_back_after_retry_after(
    one_place: LiveServer,
) -> None:
    with httpx.Client(base_url=one_place.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        _, key = new_user_key(admin)
    port = int(one_place.url.rsplit(":", 1)[1])
    with httpx.Client(base_url=one_place.url, headers={"X-API-Key": key}, timeout=30) as api:
        held, rest = _held_chunk(port, key)
        time.sleep(0.3)  # its headers were read: it has the one place
        refused = post_chunk(api, CHUNKS[1], 0, session="second")
        assert refused.status_code == 503
        assert 3 <= int(refused.headers["retry-after"]) <= 6  # spread: bots refused together part
        assert "Retry-After" in refused.json()["detail"]
        held.sendall(rest)
        assert held.recv(4096).startswith(b"HTTP/1.1 201")
        held.close()
        again = post_chunk(api, CHUNKS[1], 0, session="second")  # after the retry: taken
        assert again.status_code == 201, again.text
        metrics = api.get("/metrics").text
    assert "lite_bot_chunks_refused_total 1.0" in metrics
    assert "lite_bot_chunks_in_flight 0.0" in metrics
