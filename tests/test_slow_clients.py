"""Slow and idle clients cannot deny service: heads and bodies have deadlines, idle sockets are
closed, and past HTTP_MAX_CONNECTIONS a new client replaces the longest-waiting idle one.

Each test runs the server as users run it (`python app.py`) and opens a bounded number of loopback
sockets, closing them all at its end.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lite.config import ConfigError, ConnectionLimits, load_settings
from lite.http.server import RateLimitedLoopErrors
from tests.conftest import ADMIN_TOKEN, backend_env
from tests.procserver import ServerProcess

IDLE_SOCKETS = 2000


@pytest.fixture(autouse=True, scope="module")
def enough_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE_SOCKETS + 512
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def start(tmp_path: Path, **limits: str) -> ServerProcess:
    env = backend_env("local", tmp_path, None) | {"LOG_LEVEL": "warning", **limits}
    return ServerProcess(env, tmp_path / "server.log").start()


@contextlib.contextmanager
def idle_sockets(port: int, count: int, first_bytes: bytes = b"") -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if first_bytes:
                sock.sendall(first_bytes)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def served_in(url: str) -> float:
    started = time.monotonic()
    answer = httpx.get(f"{url}/admin/users", headers={"X-Admin-API-Key": ADMIN_TOKEN}, timeout=10)
    assert answer.status_code == 200
    return time.monotonic() - started


def closed_by_server(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_client_is_served_at_once_while_two_thousand_idle_sockets_are_open(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        with idle_sockets(server.port, IDLE_SOCKETS):
            assert served_in(server.url) < 2.0
    finally:
        server.stop()


def test_past_the_connection_cap_a_new_client_replaces_an_idle_one(tmp_path: Path) -> None:
    server = start(tmp_path, HTTP_MAX_CONNECTIONS="500")
    try:
        with idle_sockets(server.port, IDLE_SOCKETS) as sockets:
            assert served_in(server.url) < 2.0
            assert closed_by_server(sockets[0], wait=2.0)  # the oldest idle one made room
    finally:
        server.stop()


HALF_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize("first_bytes", [b"", HALF_HEAD], ids=["silent", "half-head"])
def test_a_connection_without_a_complete_head_is_closed_after_the_header_timeout(
    tmp_path: Path, first_bytes: bytes
) -> None:
    server = start(tmp_path, HTTP_HEADER_TIMEOUT_SECONDS="1")
    try:
        with idle_sockets(server.port, 20, first_bytes) as sockets:
            assert all(closed_by_server(sock, wait=5.0) for sock in sockets)
    finally:
        server.stop()


def test_a_body_that_stops_arriving_is_cut_off_and_nothing_is_stored(tmp_path: Path) -> None:
    server = start(tmp_path, HTTP_BODY_TIMEOUT_SECONDS="1")
    try:
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            user = admin.post("/admin/users", json={"email": "slow@example.com"}).json()
            key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]
        head = (
            f"POST /recordings HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: 100000\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF'
        )
        with idle_sockets(server.port, 1, head.encode()) as (sock,):
            assert closed_by_server(sock, wait=5.0)
        listing = httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key}).json()
        assert listing["recordings"] == []
    finally:
        server.stop()


def test_connection_limits_come_from_the_environment_and_refuse_nonsense() -> None:
    limits = load_settings({"HTTP_HEADER_TIMEOUT_SECONDS": "3", "HTTP_MAX_CONNECTIONS": "64"}).http
    assert (limits.header_timeout, limits.max_connections) == (3.0, 64)
    assert load_settings({}).http == ConnectionLimits()
    with pytest.raises(ConfigError, match="HTTP_BODY_TIMEOUT_SECONDS"):
        load_settings({"HTTP_BODY_TIMEOUT_SECONDS": "soon"})


def test_a_flood_of_event_loop_errors_is_logged_a_few_times_not_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    handler = RateLimitedLoopErrors(seconds=60)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for _ in range(100_000):
            handler(loop, {"message": "socket.accept() out of system resource", "exception": OSError(24)})
    loop.close()
    assert len(caplog.records) == 1
