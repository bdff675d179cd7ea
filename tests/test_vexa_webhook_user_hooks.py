"""`recording.completed` sent to a user's own hook (their webhook_url, as Vexa's clients save it): called
on a private network only when the operator allows it and then signed with the user's secret, unsigned
without a secret, not sent for an event the user switched off, never following a redirect, and
delivered when the hook was saved on one replica and a second replica completes the recording. Over
real HTTP, to receivers on 127.0.0.1, from servers in their own processes.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import backend_env
from tests.procserver import ServerProcess
from tests.webhookkit import (  # noqa: F401 - fixtures (base_env, receivers, servers)
    FAST,
    SECRET,
    Receiver,
    complete_recording,
    fixture_base_env,
    fixture_receivers,
    fixture_servers,
    new_user,
    outbox,
    start,
    vexa_verify,
    wait_until,
)


def set_user_data(env: dict[str, str], user_id: int, data: dict) -> None:
    with sqlite3.connect(Path(env["DATA_DIR"]) / "lite.db", timeout=10) as db:
        db.execute("UPDATE users SET data = ? WHERE id = ?", (json.dumps(data), user_id))


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
