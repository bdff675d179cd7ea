"""Helpers for the webhook tests: a receiver on 127.0.0.1 that answers as told, what a Vexa receiver
checks of a `recording.completed` delivery, servers in their own processes (stopped after each test),
a user and a completed recording on one, and the index's outbox."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key
from tests.procserver import ServerProcess
from tests.s3servers import free_port
from tests.test_bot_upload import send_chunk, wav_chunks

SECRET = "hook-secret"
FAST = {"WEBHOOK_RETRY_SECONDS": "0.2,0.2,0.5", "WEBHOOK_SECRET": SECRET}


class Receiver:
    """A webhook receiver on 127.0.0.1: answers the statuses in `answers` first, then 204."""

    def __init__(self, answers: tuple[int, ...] = (), port: int | None = None) -> None:
        self.port = port or free_port()
        self.answers = list(answers)
        self.requests: list[tuple[Message, bytes, int]] = []
        self.httpd: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers.pop(0) if receiver.answers else 204
                receiver.requests.append((self.headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def delivered(self) -> list[tuple[Message, bytes]]:
        return [(headers, body) for headers, body, status in self.requests if status < 300]


def vexa_verify(headers: Message, body: bytes, secret: str) -> dict:
    """What a Vexa receiver does (HEAD webhooks/delivery.py verify_signature, the dashboard's test
    route): the Bearer secret, then HMAC-SHA256 over f"{X-Webhook-Timestamp}." + raw body."""
    assert headers["Authorization"] == f"Bearer {secret}"
    timestamp = headers["X-Webhook-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest("sha256=" + expected, headers["X-Webhook-Signature"])
    assert abs(time.time() - int(timestamp)) < 300
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["event_type"] == "recording.completed"
    return event


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture(name="base_env")
def fixture_base_env(tmp_path: Path) -> dict[str, str]:
    return backend_env("local", tmp_path, None) | FAST


@pytest.fixture(name="receivers")
def fixture_receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


@pytest.fixture(name="servers")
def fixture_servers() -> Iterator[list[ServerProcess]]:
    made: list[ServerProcess] = []
    yield made
    for server in made:
        server.stop()


def start(servers: list[ServerProcess], env: dict[str, str], tmp_path: Path) -> ServerProcess:
    server = ServerProcess(env, tmp_path / "server.log").start()
    servers.append(server)
    return server


def new_user(server: ServerProcess) -> tuple[int, str]:
    with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}, timeout=30) as admin:
        return new_user_key(admin)


def complete_recording(server: ServerProcess, key: str) -> int:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
        ack = send_chunk(api, wav_chunks(1)[0], 0, final=True).json()
    assert ack["status"] == "completed"
    return int(ack["recording_id"])


def outbox(env: dict[str, str]) -> list[tuple[str, int]]:
    with sqlite3.connect(Path(env["DATA_DIR"]) / "lite.db", timeout=10) as db:
        return db.execute("SELECT event_id, attempts FROM webhook_outbox").fetchall()
