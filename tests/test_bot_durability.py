"""Bot recordings survive the server being killed; masters play in Chromium; webhooks are signed."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.config import load_settings
from tests.chromiumkit import chromium_page, play_in_chromium, serve_directory
from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key, start_server
from tests.mediakit import record_chunks
from tests.procserver import ServerProcess
from tests.test_bot_upload import pcm_of, raw_of, send_chunk, wav_chunks
from tests.vexabot import VexaBot, mint_meeting_token


def test_killing_the_server_mid_recording_loses_no_acknowledged_chunk(
    env: dict[str, str], tmp_path: Path
) -> None:
    server = ServerProcess(env | {"LOCAL_STORAGE_FSYNC": "true"}, tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        chunks = wav_chunks(6)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
            for seq in range(3):
                assert send_chunk(api, chunks[seq], seq).status_code == 201
            server.kill()
            server.start()
            for seq in range(3, 6):
                assert send_chunk(api, chunks[seq], seq, final=seq == 5).status_code == 201
            [recording] = api.get("/recordings").json()["recordings"]
            assert recording["status"] == "completed"
            master = raw_of(api, recording["id"], recording["media_files"][0]["id"])
        assert pcm_of(master) == b"".join(pcm_of(c) for c in chunks)
    finally:
        server.stop()


def test_a_vexa_bot_killed_server_and_empty_final_lose_no_acknowledged_chunk(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Vexa's bot (MeetingToken, its form, its retries): the server is killed after three
    acknowledged chunks, the bot goes on after the restart and ends with the empty final chunk."""
    secret = "vexa-admin-token"
    server = ServerProcess(env | {"LOCAL_STORAGE_FSYNC": "true", "ADMIN_TOKEN": secret},
                           tmp_path / "server.log").start()  # fmt: skip
    try:
        chunks = wav_chunks(6)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            bot = VexaBot(client, mint_meeting_token(secret, user_id=31337, meeting_id=5), meeting_id=5)
            for seq in range(3):
                assert bot.chunk(chunks[seq], seq, final=False).status_code == 201
            server.kill()
            server.start()
            for seq in range(3, 6):
                assert bot.chunk(chunks[seq], seq, final=False).status_code == 201
            done = bot.chunk(b"", 6, final=True)
            assert (done.status_code, done.json()["status"]) == (201, "completed"), done.text
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            key = admin.post("/admin/users/31337/tokens").json()["token"]
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
            recording = api.get(f"/recordings/{done.json()['recording_id']}").json()
            master = raw_of(api, recording["id"], recording["media_files"][0]["id"])
        assert pcm_of(master) == b"".join(pcm_of(c) for c in chunks)
    finally:
        server.stop()


@pytest.mark.browser
def test_a_finalized_mediarecorder_master_has_a_finite_duration_and_seeks_in_chromium(
    api: httpx.Client, tmp_path: Path
) -> None:
    chunks = record_chunks("audio", 6)
    for seq, chunk in enumerate(chunks):
        send_chunk(api, chunk, seq, fmt="webm", final=seq == len(chunks) - 1)
    [recording] = api.get("/recordings").json()["recordings"]
    (tmp_path / "master.webm").write_bytes(raw_of(api, recording["id"], recording["media_files"][0]["id"]))
    with serve_directory(tmp_path) as base, chromium_page() as page:
        result = play_in_chromium(page, f"{base}/master.webm", "audio")
    assert result["error"] is None
    assert result["duration"] == pytest.approx(6.0, abs=0.4)
    assert result["afterSeek"] == pytest.approx(result["seekTarget"], abs=0.3)
    assert result["afterPlay"] > result["afterSeek"]


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]
    fail_first: list[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.fail_first and self.fail_first.pop():
            self.send_response(503)
        else:
            self.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "fail_first": [True]})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/hook", handler
    httpd.shutdown()


@pytest.fixture
def hooked_server(env: dict[str, str], receiver: tuple[str, type[_Receiver]]) -> Iterator[LiveServer]:
    live = start_server(load_settings(env | {"WEBHOOK_URL": receiver[0], "WEBHOOK_SECRET": "hook-secret"}))
    yield live
    live.stop()


@pytest.mark.parametrize("backend", ["local"])
def test_completion_sends_a_signed_webhook_retried_after_a_failure(
    hooked_server: LiveServer, receiver: tuple[str, type[_Receiver]]
) -> None:
    with httpx.Client(base_url=hooked_server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        _, key = new_user_key(admin)
    with httpx.Client(base_url=hooked_server.url, headers={"X-API-Key": key}, timeout=30) as api:
        ack = send_chunk(api, wav_chunks(1)[0], 0, final=True).json()
    assert ack["status"] == "completed"  # answered before the webhook was delivered
    handler = receiver[1]
    deadline = threading.Event()
    for _ in range(150):  # the first attempt fails; the retry is 1 s later
        if handler.received:
            break
        deadline.wait(0.1)
    [(headers, body)] = handler.received
    expected = hmac.new(b"hook-secret", headers["X-Webhook-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Webhook-Signature"] == "sha256=" + expected.hexdigest()
    assert headers["Authorization"] == "Bearer hook-secret"
    event = json.loads(body)
    assert event["event_type"] == "recording.completed"
    assert event["data"]["recording"]["id"] == ack["recording_id"]
