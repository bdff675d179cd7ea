"""The fast path of /raw (lite/http/routes/raw_fast.py) answers exactly what the Litestar route answers,
leaves every other request shape to Litestar, and stops reading when the client hangs up."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from lite.http import playback
from lite.http.routes import raw_fast
from tests.conftest import LiveServer
from tests.test_api_recordings import upload

SIZE = 200_000
DATA = b"RIFF" + (SIZE - 8).to_bytes(4, "little") + b"WAVE" + os.urandom(SIZE - 12)
VIA_LITESTAR = "via=litestar"  # any other query parameter sends the request to the Litestar route


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the fast path answered (the live server runs in this process)."""
    calls: list[str] = []
    answer = raw_fast._reply

    async def spy(services: Any, scope: dict[str, Any], *args: Any) -> playback.Reply:
        calls.append(scope["path"])
        return await answer(services, scope, *args)

    monkeypatch.setattr(raw_fast, "_reply", spy)
    return calls


@pytest.fixture
def raw(api: httpx.Client) -> str:
    recording = upload(api, DATA, "fast.wav", session_uid="fast").json()
    return f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"


def _answer(api: httpx.Client, method: str, url: str, headers: dict[str, str]) -> tuple[Any, ...]:
    got = api.request(method, url, headers=headers)
    return got.status_code, {k: v for k, v in got.headers.items() if k != "date"}, got.content


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "whole file": ("GET", "", {}),
    "range": ("GET", "", {"Range": "bytes=100-199999"}),
    "suffix range": ("GET", "", {"Range": "bytes=-1000"}),
    "several ranges": ("GET", "", {"Range": "bytes=0-1,5-6"}),
    "head": ("HEAD", "", {"Range": "bytes=0-9"}),
    "unsatisfiable": ("GET", "", {"Range": f"bytes={SIZE}-"}),
    "if-range stale": ("GET", "", {"Range": "bytes=0-9", "If-Range": '"stale"'}),
    "wrong key": ("GET", "", {"X-API-Key": "not-a-key"}),
    "wrong key, head": ("HEAD", "", {"X-API-Key": "not-a-key"}),
    "bearer key": ("GET", "", {"Range": "bytes=0-9", "X-API-Key": "", "Authorization": "Bearer {key}"}),
    "other media": ("GET", "9/raw", {}),
    "forged token": ("GET", "?token=forged", {"X-API-Key": ""}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_path_answers_what_the_litestar_route_answers(
    api: httpx.Client, raw: str, fast_calls: list[str], case: str
) -> None:
    method, suffix, headers = CASES[case]
    headers = {k: v.format(key=api.headers["x-api-key"]) for k, v in headers.items()}
    url = raw.removesuffix("/raw") + suffix if suffix.endswith("/raw") else raw + suffix
    fast = _answer(api, method, url, headers)
    assert fast_calls, "the fast path did not answer"
    fast_calls.clear()
    assert _answer(api, method, _with_query(url, VIA_LITESTAR), headers) == fast
    assert not fast_calls


def _same_both_ways(api: httpx.Client, url: str, headers: dict[str, str], fast_calls: list[str]) -> int:
    fast_calls.clear()
    fast = _answer(api, "GET", url, headers)
    assert fast_calls, "the fast path did not answer"
    assert _answer(api, "GET", _with_query(url, VIA_LITESTAR), headers) == fast
    return int(fast[0])


def test_the_fast_path_answers_a_playback_token_as_the_route_does(
    api: httpx.Client, raw: str, fast_calls: list[str]
) -> None:
    raw_url = api.get(raw.replace("/raw", "/download")).json()["raw_url"]
    assert _same_both_ways(api, raw_url, {"X-API-Key": "", "Range": "bytes=10-20"}, fast_calls) == 206


def test_the_fast_path_answers_a_conditional_request_as_the_route_does(
    api: httpx.Client, raw: str, fast_calls: list[str]
) -> None:
    etag = api.get(raw).headers["etag"]
    assert _same_both_ways(api, raw, {"If-None-Match": etag}, fast_calls) == 304


@pytest.mark.parametrize(
    "path",
    [
        "/recordings/{r}/media/{m}/raw?token=a&token=b",
        "/recordings/{r}/media/9223372036854775808/raw",
        "/recordings/0/media/{m}/raw",
        "/recordings/{r}/media/{m}/raw/",
    ],
    ids=["two-tokens", "id-too-large", "id-zero", "trailing-slash"],
)
def test_other_request_shapes_are_left_to_litestar(
    api: httpx.Client, raw: str, fast_calls: list[str], path: str
) -> None:
    _, r, _, m, _ = raw.strip("/").split("/")
    answer = api.get(path.format(r=r, m=m))
    assert answer.status_code in {200, 400, 401, 404}
    assert answer.json()["detail"] if answer.status_code != 200 else answer.content == DATA
    assert not fast_calls


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts the blocks the served bodies yield, and whether they were closed."""
    seen = {"blocks": 0, "closed": 0}
    serve = playback.serve

    async def counting(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for block in body:
                seen["blocks"] += 1
                yield block
        finally:
            seen["closed"] += 1

    async def spy(*args: Any, **kwargs: Any) -> playback.Reply:
        reply = await serve(*args, **kwargs)
        if reply.body is not None:
            reply.body = counting(reply.body)
        return reply

    monkeypatch.setattr(playback, "serve", spy)
    yield seen


@pytest.mark.parametrize("backend", ["local"])
def test_a_download_the_client_hangs_up_on_stops_reading(
    server: LiveServer, api: httpx.Client, reads: dict[str, int], fast_calls: list[str]
) -> None:
    size = 64 * 1024 * 1024
    big = b"RIFF" + (size - 8).to_bytes(4, "little") + b"WAVE" + bytes(size - 12)
    recording = upload(api, big, "big.wav").json()
    path = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        key = api.headers["x-api-key"]
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + 10
    while not reads["closed"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fast_calls
    assert reads["closed"] == 1
    assert reads["blocks"] * 4 * 1024 * 1024 < size / 2
