"""`recording.completed` as Vexa's receivers verify it, delivered from the outbox: over real HTTP, to
receivers on 127.0.0.1, from a server in its own process (which the tests stop, kill and restart)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path

import httpx
import pytest

from lite.catalog.index import Index
from lite.config import load_settings
from lite.sessions.webhooks import Notifier
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


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    return backend_env("local", tmp_path, None) | FAST


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.stop()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
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


def completed_with_system_hook(
    base_env: dict[str, str], tmp_path: Path, servers: list[ServerProcess], receiver: Receiver, **more: str
) -> tuple[dict[str, str], ServerProcess]:
    """A server whose WEBHOOK_URL is `receiver`, and one recording completed on it: (its env, it)."""
    env = base_env | {"WEBHOOK_URL": receiver.url, **more}
    server = start(servers, env, tmp_path)
    _, key = new_user(server)
    complete_recording(server, key)
    return env, server


def outbox(env: dict[str, str]) -> list[tuple[str, int]]:
    with sqlite3.connect(Path(env["DATA_DIR"]) / "lite.db", timeout=10) as db:
        return db.execute("SELECT event_id, attempts FROM webhook_outbox").fetchall()


def set_user_data(env: dict[str, str], user_id: int, data: dict) -> None:
    with sqlite3.connect(Path(env["DATA_DIR"]) / "lite.db", timeout=10) as db:
        db.execute("UPDATE users SET data = ? WHERE id = ?", (json.dumps(data), user_id))


def test_a_vexa_receiver_verifies_the_envelope_and_signature(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    system, extra = Receiver().start(), Receiver().start()
    receivers += [system, extra]
    env = base_env | {"WEBHOOK_URL": system.url, "POST_MEETING_HOOKS": extra.url}
    server = start(servers, env, tmp_path)
    user_id, key = new_user(server)
    recording_id = complete_recording(server, key)
    assert wait_until(lambda: len(system.delivered()) == 1 and len(extra.delivered()) == 1)
    [(headers, body)] = system.delivered()
    event = vexa_verify(headers, body, SECRET)
    assert list(event) == ["event_id", "event_type", "api_version", "created_at", "data"]
    assert re.fullmatch(r"evt_[0-9a-f]{32}", event["event_id"])
    assert event["api_version"] == "2026-03-01"
    created = datetime.fromisoformat(event["created_at"])
    assert created.utcoffset() == timedelta(0) and event["created_at"].endswith("+00:00")
    assert body == json.dumps(event).encode()  # Python's default separators, as Vexa
    recording = event["data"]["recording"]
    assert (recording["id"], recording["user_id"], recording["status"]) == (
        recording_id,
        user_id,
        "completed",
    )
    assert recording["media_files"]
    [(extra_headers, extra_body)] = extra.delivered()
    assert vexa_verify(extra_headers, extra_body, SECRET)["event_id"] == event["event_id"]
    assert wait_until(lambda: outbox(env) == [])


def test_a_receiver_down_then_failing_still_gets_the_event_with_one_event_id(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    receiver = Receiver(answers=(503, 503, 429))  # not listening at first: connection refused
    receivers.append(receiver)
    env, _server = completed_with_system_hook(base_env, tmp_path, servers, receiver)
    assert wait_until(lambda: any(attempts >= 2 for _, attempts in outbox(env)))
    receiver.start()
    assert wait_until(lambda: len(receiver.delivered()) == 1)
    statuses = [status for _, _, status in receiver.requests]
    assert statuses == [503, 503, 429, 204]
    ids = {vexa_verify(headers, body, SECRET)["event_id"] for headers, body, _ in receiver.requests}
    assert len(ids) == 1
    assert len({body for _, body, _ in receiver.requests}) == 1  # the same bytes every time
    assert wait_until(lambda: outbox(env) == [])
    time.sleep(1.0)
    assert len(receiver.requests) == 4


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_an_event_pending_across_a_restart_is_delivered_once(
    how: str,
    base_env: dict[str, str],
    tmp_path: Path,
    receivers: list[Receiver],
    servers: list[ServerProcess],
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    env, server = completed_with_system_hook(base_env, tmp_path, servers, receiver)
    assert wait_until(lambda: any(attempts >= 1 for _, attempts in outbox(env)))
    server.terminate() if how == "terminate" else server.kill()
    assert len(outbox(env)) == 1  # still pending, in the index
    receiver.start()
    time.sleep(0.5)
    assert receiver.requests == []  # nobody sends it while the server is down
    server.start()
    assert wait_until(lambda: len(receiver.delivered()) == 1)
    vexa_verify(*receiver.delivered()[0], SECRET)
    assert wait_until(lambda: outbox(env) == [])
    time.sleep(1.0)
    assert len(receiver.requests) == 1


def test_a_4xx_answer_is_not_retried(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    receiver = Receiver(answers=(410, 410, 410)).start()
    receivers.append(receiver)
    env, _server = completed_with_system_hook(base_env, tmp_path, servers, receiver)
    assert wait_until(lambda: len(receiver.requests) == 1)
    assert wait_until(lambda: outbox(env) == [])
    time.sleep(1.5)
    assert len(receiver.requests) == 1


def test_an_event_older_than_the_maximum_age_is_dropped_with_a_log_line(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    receiver = Receiver(answers=(503,) * 1000).start()
    receivers.append(receiver)
    env, _server = completed_with_system_hook(
        base_env, tmp_path, servers, receiver, WEBHOOK_MAX_AGE_SECONDS="2"
    )
    assert wait_until(lambda: len(receiver.requests) >= 2)
    event_id = json.loads(receiver.requests[0][1])["event_id"]
    assert wait_until(lambda: outbox(env) == [], timeout=10)
    tried = len(receiver.requests)
    time.sleep(1.0)
    assert len(receiver.requests) == tried
    log = (tmp_path / "server.log").read_text()
    assert re.search(rf"ERROR.*webhook {event_id} to 127\.0\.0\.1 dropped", log), log[-2000:]


def _per_user_setup(
    env: dict[str, str], tmp_path: Path, servers: list[ServerProcess], user_hook: Receiver, data: dict
) -> None:
    server = start(servers, env, tmp_path)
    user_id, key = new_user(server)
    set_user_data(env, user_id, {"webhook_url": user_hook.url, **data})
    complete_recording(server, key)


@pytest.mark.parametrize("allowed", [False, True])
def test_a_users_hook_on_a_private_network_is_called_only_when_the_operator_allows_it(
    allowed: bool,
    base_env: dict[str, str],
    tmp_path: Path,
    receivers: list[Receiver],
    servers: list[ServerProcess],
) -> None:
    system, own = Receiver().start(), Receiver().start()
    receivers += [system, own]
    env = base_env | {"WEBHOOK_URL": system.url, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": str(allowed).lower()}
    _per_user_setup(env, tmp_path, servers, own, {"webhook_secret": " whsec_user "})
    assert wait_until(lambda: len(system.delivered()) == 1)
    assert wait_until(lambda: outbox(env) == [])
    if not allowed:
        time.sleep(0.5)
        assert own.requests == []
        assert "not sent, the URL is refused" in (tmp_path / "server.log").read_text()
        return
    assert wait_until(lambda: len(own.delivered()) == 1)
    own_event = vexa_verify(*own.delivered()[0], "whsec_user")  # the user's secret, stripped
    assert own_event["event_id"] == vexa_verify(*system.delivered()[0], SECRET)["event_id"]


def test_a_users_hook_without_a_secret_gets_no_signature_headers(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    own = Receiver().start()
    receivers.append(own)
    env = base_env | {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    _per_user_setup(env, tmp_path, servers, own, {})
    assert wait_until(lambda: len(own.delivered()) == 1)
    [(headers, body)] = own.delivered()
    assert headers["Authorization"] is None and headers["X-Webhook-Signature"] is None
    assert json.loads(body)["event_type"] == "recording.completed"


def test_a_users_switched_off_event_is_not_sent_to_their_hook(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    system, own = Receiver().start(), Receiver().start()
    receivers += [system, own]
    env = base_env | {"WEBHOOK_URL": system.url, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    events = {"recording.completed": False, "meeting.completed": True}
    _per_user_setup(env, tmp_path, servers, own, {"webhook_secret": "s", "webhook_events": events})
    assert wait_until(lambda: len(system.delivered()) == 1)
    assert wait_until(lambda: outbox(env) == [])
    time.sleep(0.5)
    assert own.requests == []


def test_a_redirect_from_a_users_hook_is_not_followed(
    base_env: dict[str, str], tmp_path: Path, receivers: list[Receiver], servers: list[ServerProcess]
) -> None:
    target = Receiver().start()
    receivers.append(target)

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(307)
            self.send_header("Location", target.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    redirect = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirect.serve_forever, daemon=True).start()
    try:
        env = base_env | {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
        hook = Receiver(port=redirect.server_port)  # only its URL: the redirecting server answers
        _per_user_setup(env, tmp_path, servers, hook, {})
        assert wait_until(lambda: "answered HTTP 307" in (tmp_path / "server.log").read_text())
        assert wait_until(lambda: outbox(env) == [])
        time.sleep(0.5)
        assert target.requests == []
    finally:
        redirect.shutdown()
        redirect.server_close()


def test_one_event_is_queued_once_per_url_and_the_outbox_is_bounded(tmp_path: Path) -> None:
    hooks = {
        "WEBHOOK_URL": "http://a.example.com/a",
        "POST_MEETING_HOOKS": "http://a.example.com/a,http://b.example.com/",
    }
    settings = load_settings(backend_env("local", tmp_path, None) | hooks)
    index = Index(tmp_path / "lite.db")
    try:
        notifier = Notifier(settings, index, " secret ")
        notifier.limit = 4
        first = notifier.event_id("recording.completed", 1, "2026-01-01T00:00:00+00:00")
        assert first == notifier.event_id("recording.completed", 1, "2026-01-01T00:00:00+00:00")
        assert re.fullmatch(r"evt_[0-9a-f]{32}", first)
        for _ in range(2):  # the same event again (a repeated finalize): not queued twice
            notifier.publish(first, "recording.completed", 7, {"recording": {"id": 1}})
        assert index.outbox_size() == 2  # two distinct URLs
        second = notifier.event_id("recording.completed", 2, "2026-01-01T00:00:01+00:00")
        notifier.publish(second, "recording.completed", 7, {"recording": {"id": 2}})
        third = notifier.event_id("recording.completed", 3, "2026-01-01T00:00:02+00:00")
        notifier.publish(third, "recording.completed", 7, {"recording": {"id": 3}})  # would make 6 > 4
        rows = index.db.execute("SELECT event_id, body FROM webhook_outbox").fetchall()
        assert {key.split(":")[0] for key, _ in rows} == {first, second}
        assert {json.loads(body)["event_id"] for _, body in rows} == {first, second}
    finally:
        index.close()


@pytest.mark.parametrize("server_kind", ["moto", "s3rver"])
def test_a_hook_set_on_one_replica_gets_the_event_a_second_replica_completes(
    server_kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    receivers: list[Receiver],
    servers: list[ServerProcess],
) -> None:
    """Object storage, two replicas on one bucket: the user saves their hook through one
    (PUT /user/webhook, as Vexa's clients do) and their bot's final chunk reaches the other."""
    own = Receiver().start()
    receivers.append(own)
    endpoint = request.getfixturevalue(f"{server_kind}_endpoint")
    env = backend_env("minio", tmp_path, endpoint) | FAST | {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    first = ServerProcess(env, tmp_path / "first.log").start()
    servers.append(first)
    second_env = env | {"DATA_DIR": str(tmp_path / "second-data")}
    second = ServerProcess(second_env, tmp_path / "second.log").start()
    servers.append(second)
    _, key = new_user(first)
    seen = httpx.get(f"{second.url}/recordings", headers={"X-API-Key": key}, timeout=30)
    assert seen.status_code == 200  # the second replica knows the user now, as they were then
    hook = {"webhook_url": own.url, "webhook_secret": "whsec_replicas"}
    saved = httpx.put(f"{first.url}/user/webhook", json=hook, headers={"X-API-Key": key}, timeout=30)
    assert saved.status_code == 200, saved.text
    recording_id = complete_recording(second, key)
    assert wait_until(lambda: len(own.delivered()) == 1)
    event = vexa_verify(*own.delivered()[0], "whsec_replicas")
    assert event["data"]["recording"]["id"] == recording_id
