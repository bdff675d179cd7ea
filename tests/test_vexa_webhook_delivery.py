"""`recording.completed` as Vexa's receivers verify it, delivered from the outbox to the operator's hooks
(WEBHOOK_URL, POST_MEETING_HOOKS): the envelope and signature, retries until a receiver that was down
or failing takes it under one event id, once across a restart or a kill, no retry after a 4xx, a drop
with a log line past the maximum age, and one outbox row per event and URL in a bounded outbox. Over
real HTTP, to receivers on 127.0.0.1, from a server in its own process (which the tests stop, kill and
restart).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lite.catalog.index import Index
from lite.config import load_settings
from lite.sessions.webhooks import Notifier
from tests.conftest import backend_env
from tests.procserver import ServerProcess
from tests.webhookkit import (  # noqa: F401 - fixtures (base_env, receivers, servers)
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


def completed_with_system_hook(
    base_env: dict[str, str], tmp_path: Path, servers: list[ServerProcess], receiver: Receiver, **more: str
) -> tuple[dict[str, str], ServerProcess]:
    """A server whose WEBHOOK_URL is `receiver`, and one recording completed on it: (its env, it)."""
    env = base_env | {"WEBHOOK_URL": receiver.url, **more}
    server = start(servers, env, tmp_path)
    _, key = new_user(server)
    complete_recording(server, key)
    return env, server


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
