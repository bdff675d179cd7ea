"""`/raw` from local storage through the server as users run it: the file's bytes go out with the
kernel's sendfile (lite.http.zero_copy), and what arrives is exactly the stored bytes.

The in-process tests of /raw run without a real server (no sendfile there); these run `python
app.py` and read over TCP, so every Range below took the zero-copy path (the storage metrics show
one `local_file` open per answer with a body).
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

import httpx

from tests.faultkit import random_wav
from tests.hostilekit import (
    Target,
    fixture_stays_contained_and_healthy,  # noqa: F401 - a fixture, autouse
    fixture_target,  # noqa: F401 - a fixture
    upload,
)
from tests.test_metrics import moved, scrape

SIZE = 1_500_000


def _stored(target: Target, session: str) -> tuple[str, bytes, Path]:
    """A fresh recording's /raw path, its bytes, and its file on disk."""
    data = random_wav(SIZE)
    answer = upload(target.a, {"session_uid": session}, data)
    assert answer.status_code == 201, answer.text
    media = answer.json()["media_files"][0]
    path = f"/recordings/{answer.json()['id']}/media/{media['id']}/raw"
    name = Path(media["storage_path"]).name
    found = [p for p in target.storage.rglob(name) if p.is_file()]
    assert len(found) == 1, found
    return path, data, found[0]


def test_random_ranges_arrive_byte_for_byte(target: Target) -> None:
    path, data, _ = _stored(target, "zc-ranges")
    rng = random.Random(7)
    wanted = [(0, 0), (0, SIZE - 1), (len(data) - 1, len(data) - 1), (1, 262_144)]
    starts = rng.sample(range(len(data)), 12)
    wanted += [(a, min(a + rng.randrange(1, 400_000), len(data) - 1)) for a in starts]
    for start, end in wanted:
        answer = target.a.get(path, headers={"Range": f"bytes={start}-{end}"})
        assert answer.status_code == 206, answer.text
        assert answer.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
        assert answer.content == data[start : end + 1]


def test_a_whole_file_arrives_byte_for_byte(target: Target) -> None:
    path, data, _ = _stored(target, "zc-whole")
    answer = target.a.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len(data))
    assert answer.content == data


def test_every_answer_with_a_body_opens_the_file_once_and_counts_its_bytes(target: Target) -> None:
    path, _, _ = _stored(target, "zc-metrics")
    before = scrape(target.a)
    for start in (0, 1000, 500_000):
        assert target.a.get(path, headers={"Range": f"bytes={start}-{start + 99_999}"}).status_code == 206
    assert target.a.head(path).status_code == 200  # a HEAD sends no body: no file opened
    after = scrape(target.a)
    assert moved(before, after, "lite_storage_operations_total", operation="local_file") == 3
    assert moved(before, after, "lite_raw_bytes_served_total", via="sendfile") == 300_000


def test_the_framework_route_sends_the_same_answer(target: Target) -> None:
    """A query the fast path leaves to Litestar (here an unknown parameter) ends in the same Reply."""
    path, data, _ = _stored(target, "zc-framework")
    fast = target.a.get(path, headers={"Range": "bytes=100-70099"})
    routed = target.a.get(f"{path}?player=1", headers={"Range": "bytes=100-70099"})
    assert routed.status_code == fast.status_code == 206
    assert routed.content == fast.content == data[100:70100]
    same = ("content-type", "content-range", "content-length", "etag", "content-disposition", "last-modified")
    assert {h: routed.headers[h] for h in same} == {h: fast.headers[h] for h in same}


def test_head_has_the_length_and_no_body(target: Target) -> None:
    path, _, _ = _stored(target, "zc-head")
    answer = target.a.head(path, headers={"Range": "bytes=10-19"})
    assert answer.status_code == 206
    assert answer.headers["content-length"] == "10"
    assert answer.content == b""


def test_a_client_that_hangs_up_mid_file_does_not_disturb_the_next(target: Target) -> None:
    path, data, _ = _stored(target, "zc-hangup")
    key = target.users[next(iter(target.users))]
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", target.server.port), timeout=10) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the file cannot fit in flight
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    assert target.a.get(path, headers={"Range": "bytes=0-9"}).content == data[:10]


def test_a_file_shorter_than_its_index_says_ends_the_connection_not_the_server(target: Target) -> None:
    path, data, on_disk = _stored(target, "zc-truncated")
    with on_disk.open("r+b") as f:
        f.truncate(1000)  # damaged behind the server's back: the index still says SIZE
    with httpx.Client(base_url=target.server.url, headers=target.a.headers, timeout=10) as fresh:
        try:
            answer = fresh.get(path, headers={"Range": "bytes=0-99999"})
        except httpx.HTTPError:
            pass  # the connection ended before the promised length: what a client must see
        else:  # never a complete-looking answer with bytes that are not the file's
            raise AssertionError(f"a {answer.status_code} of {len(answer.content)} bytes")
    assert target.a.get(path, headers={"Range": "bytes=0-9"}).content == data[:10]
    on_disk.unlink()
    assert httpx.get(f"{target.server.url}/healthz", timeout=5).status_code == 200
