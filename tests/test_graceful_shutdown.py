"""SIGTERM while bots are sending: /readyz goes not-ready first, new requests (on any connection) get
503 + Retry-After while the listener stays open for the drain, requests in flight finish, every
acknowledged chunk is durable, and the process exits 0 in time (lite/http/draining.py)."""

from __future__ import annotations

import http.client
import signal
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.config import ConfigError, load_settings
from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key
from tests.mediakit import wav_bytes
from tests.procserver import ServerProcess
from tests.test_bot_upload import UPLOAD, send_chunk

DRAIN = 4  # SHUTDOWN_DRAIN_SECONDS here: long enough to tell apart from the 1 s quiet rule
TIMEOUT = 10  # SHUTDOWN_TIMEOUT_SECONDS here
SHUTTING_DOWN = "the server is shutting down: retry on another replica"
BOTS = 30


@pytest.fixture
def proc(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    env = backend_env("local", tmp_path, None) | {
        "LOCAL_STORAGE_FSYNC": "true",  # an acknowledged chunk is on disk, as in production
        "SHUTDOWN_DRAIN_SECONDS": str(DRAIN),
        "SHUTDOWN_TIMEOUT_SECONDS": str(TIMEOUT),
        # Every bot's chunk admitted at once, so chunks are being written at the SIGTERM (admission
        # itself: tests/test_finalize_queue.py); a bot told "busy" still comes back after a second.
        "BOT_MAX_INFLIGHT_CHUNKS": str(2 * BOTS),
        "BOT_RETRY_AFTER_SECONDS": "1",
    }
    server = ServerProcess(env, tmp_path / "server.log")
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        yield server, key
    finally:
        server.stop()


def _sigterm(server: ServerProcess) -> float:
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return time.monotonic()


def _exit_code(server: ServerProcess, timeout: float = 30) -> int:
    assert server.proc is not None
    return server.proc.wait(timeout=timeout)


def _is_shutdown_503(answer: httpx.Response) -> bool:
    return (
        answer.status_code == 503
        and answer.headers.get("retry-after", "").isdigit()
        and answer.headers.get("connection") == "close"
        and answer.json() == {"detail": SHUTTING_DOWN, "code": "shutting_down", "retry_after": 5}
    )


def _keep_sending(url: str, key: str, stop: threading.Event) -> list[int | str]:
    """Requests one after another on fresh connections until the listener closes (or `stop`)."""
    seen: list[int | str] = []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=5) as client:
        while not stop.is_set():
            try:
                seen.append(client.get("/recordings").status_code)
            except httpx.ConnectError:
                seen.append("refused")
                break
            time.sleep(0.05)
    return seen


def test_the_drain_defaults_to_10_seconds_or_half_a_shorter_shutdown_timeout() -> None:
    assert load_settings({}).shutdown_drain_seconds == 10
    assert load_settings({"SHUTDOWN_TIMEOUT_SECONDS": "6"}).shutdown_drain_seconds == 3


def test_a_drain_as_long_as_the_shutdown_timeout_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="SHUTDOWN_DRAIN_SECONDS"):
        load_settings({"SHUTDOWN_DRAIN_SECONDS": "30", "SHUTDOWN_TIMEOUT_SECONDS": "30"})


def test_after_sigterm_readyz_answers_503_shutting_down_at_once(proc: tuple[ServerProcess, str]) -> None:
    server, _ = proc
    _sigterm(server)
    time.sleep(0.1)  # the signal handler runs on the server's next turn
    answer = httpx.get(f"{server.url}/readyz", timeout=5)
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready"
    assert answer.json()["detail"] == "shutting down"
    assert _exit_code(server) == 0


def test_after_sigterm_healthz_still_answers_200(proc: tuple[ServerProcess, str]) -> None:
    server, _ = proc
    _sigterm(server)
    time.sleep(0.1)
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert _exit_code(server) == 0


def test_a_bot_chunk_on_an_open_keep_alive_connection_after_sigterm_gets_503_retry_after(
    proc: tuple[ServerProcess, str],
) -> None:
    server, key = proc
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/recordings", headers={"X-API-Key": key})
    first = conn.getresponse()
    first.read()
    assert first.status == 200 and first.getheader("connection") != "close"
    opened = conn.sock.getsockname()
    _sigterm(server)
    time.sleep(0.3)
    chunk = httpx.Request(
        "POST", UPLOAD, files={"file": ("chunk", wav_bytes(1.0))}, data={"metadata": '{"session_uid": "k"}'}
    )
    conn.request("POST", UPLOAD, body=chunk.read(), headers=dict(chunk.headers) | {"X-API-Key": key})
    assert conn.sock.getsockname() == opened  # the same connection, opened before the SIGTERM
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    assert answer.status == 503
    assert answer.getheader("retry-after", "").isdigit()
    assert answer.getheader("connection") == "close"
    assert httpx.Response(503, content=body).json() == {
        "detail": SHUTTING_DOWN,
        "code": "shutting_down",
        "retry_after": 5,
    }
    assert _exit_code(server) == 0


def test_while_requests_keep_coming_the_listener_stays_open_for_the_drain_answering_503(
    proc: tuple[ServerProcess, str],
) -> None:
    server, key = proc
    stop = threading.Event()
    seen: list[list[int | str]] = []
    sender = threading.Thread(target=lambda: seen.append(_keep_sending(server.url, key, stop)))
    sender.start()
    time.sleep(0.3)
    began = _sigterm(server)
    code = _exit_code(server)
    took = time.monotonic() - began
    stop.set()
    sender.join(timeout=10)
    answers = seen[0]
    turned_away = answers[answers.index(503) :]
    assert set(answers) <= {200, 503, "refused"}, answers
    assert turned_away[-1] == "refused" and set(turned_away[:-1]) == {503}, answers
    assert len(turned_away) >= DRAIN / 0.5  # 503s for the whole drain, not a listener shut at once
    assert (code, DRAIN - 0.5 < took < DRAIN + 5) == (0, True), (code, took)


def test_a_second_sigterm_ends_the_drain_at_once(proc: tuple[ServerProcess, str]) -> None:
    server, key = proc
    stop = threading.Event()
    sender = threading.Thread(target=_keep_sending, args=(server.url, key, stop))
    sender.start()  # traffic, so the drain would last its full DRAIN seconds
    began = _sigterm(server)
    time.sleep(1.0)
    _sigterm(server)
    code = _exit_code(server)
    took = time.monotonic() - began
    stop.set()
    sender.join(timeout=10)
    assert (code, took < DRAIN - 0.5) == (0, True), (code, took)


CHUNK_WAV = wav_bytes(8.0)  # 256 KB: a write takes long enough for some to be in flight at the SIGTERM


def _chunk(bot: int, seq: int) -> bytes:
    """One chunk, told apart from every other by its last samples."""
    return CHUNK_WAV[:-4] + struct.pack("<HH", bot, seq)


@dataclass
class Bot:
    """A meeting bot sending chunks one after another; on a 503 it would go to another replica."""

    number: int
    acked: list[bytes] = field(default_factory=list)  # chunk bytes, in seq order, each answered 201
    first_ack: dict[str, Any] = field(default_factory=dict)
    acked_spans: list[tuple[float, float]] = field(default_factory=list)  # when each 201's request ran
    outcome: str = "running"

    def run(self, url: str, key: str, until: float) -> None:
        session = f"bot-{self.number}"
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
            while time.monotonic() < until:
                data = _chunk(self.number, len(self.acked))
                sent = time.monotonic()
                try:
                    answer = send_chunk(client, data, len(self.acked), session, meeting_id=self.number + 1)
                except httpx.ConnectError:
                    self.outcome = "refused"  # the listener has closed: never a half-sent answer
                    return
                except httpx.HTTPError as exc:
                    self.outcome = f"error: {exc!r}"
                    return
                if answer.status_code == 503 and answer.json().get("code") == "busy":
                    time.sleep(int(answer.headers["retry-after"]))  # admission: the same chunk again
                    continue
                if answer.status_code != 201:
                    shutting_down = _is_shutdown_503(answer)
                    self.outcome = "503" if shutting_down else f"{answer.status_code} {answer.text}"
                    return
                self.first_ack = self.first_ack or answer.json()
                self.acked.append(data)
                self.acked_spans.append((sent, time.monotonic()))
                time.sleep(0.02)
        self.outcome = "still sending at the deadline"


def test_sigterm_under_load_loses_no_acknowledged_chunk_and_exits_0_in_time(
    proc: tuple[ServerProcess, str],
) -> None:
    server, key = proc
    bots = [Bot(n) for n in range(BOTS)]
    until = time.monotonic() + 40  # bounded whatever the server does
    threads = [threading.Thread(target=bot.run, args=(server.url, key, until)) for bot in bots]
    for thread in threads:
        thread.start()
    while min(len(bot.acked) for bot in bots) < 2 and time.monotonic() < until:
        time.sleep(0.05)  # every bot is mid-recording, with chunks in flight
    began = _sigterm(server)
    code = _exit_code(server)
    took = time.monotonic() - began
    for thread in threads:
        thread.join(timeout=45)
    assert (code, took < 30) == (0, True), (code, took)
    assert {bot.outcome for bot in bots} <= {"503", "refused"}, [bot.outcome for bot in bots]
    in_flight = [span for bot in bots for span in bot.acked_spans if span[0] < began < span[1]]
    assert in_flight  # chunks being written at the SIGTERM were finished and acknowledged
    server.start()  # the same data directory
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
        for bot in bots:
            ack = bot.first_ack
            stored = api.get(f"/recordings/{ack['recording_id']}/media/{ack['media_file_id']}/raw")
            assert stored.content == b"".join(bot.acked), f"bot {bot.number} lost an acknowledged chunk"
