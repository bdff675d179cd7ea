"""`/raw` from object storage through the server as users run it (`python app.py`): a body over
1 MiB is relayed from the store's socket to the client's with splice(2) (lite.http.splice), on
moto and on s3rver (which verifies signatures). What arrives is exactly the stored bytes; a store
that stops half-way, or a client that leaves, ends that one connection and nothing else.

The in-process server of the other /raw tests offers no splice; these read over real TCP.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.httpchecksum import Crc32Checksum, StreamingChecksumBody

from lite.config import load_settings
from lite.storage.s3 import S3Storage
from lite.storage.s3_socket import plain_socket
from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key
from tests.faultkit import random_wav, wait_until
from tests.hostilekit import upload
from tests.procserver import ServerProcess
from tests.s3servers import BreaksOffLongAnswers
from tests.test_metrics import moved, scrape

SIZE = 5_000_000  # over playback.SMALL_BODY (1 MiB): streamed, not read whole


@dataclass
class Served:
    server: ServerProcess
    api: httpx.Client
    path: str  # the recording's /raw path
    data: bytes


@pytest.fixture(params=["moto", "s3rver"], scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    endpoint = request.getfixturevalue(f"{request.param}_endpoint")
    root = tmp_path_factory.mktemp(f"splice-{request.param}")
    server = ServerProcess(
        {**backend_env("minio", root, endpoint), "MAX_UPLOAD_BYTES": str(2 * SIZE)}, root / "log"
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
            data = random_wav(SIZE)
            answer = upload(api, {"session_uid": "splice"}, data)
            assert answer.status_code == 201, answer.text
            media = answer.json()["media_files"][0]
            yield Served(server, api, f"/recordings/{answer.json()['id']}/media/{media['id']}/raw", data)
    finally:
        server.stop()


def test_a_whole_file_arrives_byte_for_byte(served: Served) -> None:
    answer = served.api.get(served.path)
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len(served.data))
    assert answer.content == served.data


def test_large_ranges_arrive_byte_for_byte(served: Served) -> None:
    size, rng = len(served.data), random.Random(11)
    wanted = [(0, size - 1), (1, size - 2), (size - 2_000_000, size - 1)]
    wanted += [(a, a + rng.randrange(1_100_000, 2_500_000)) for a in rng.sample(range(size - 2_600_000), 5)]
    for start, end in wanted:
        answer = served.api.get(served.path, headers={"Range": f"bytes={start}-{end}"})
        assert answer.status_code == 206, answer.text
        assert answer.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert answer.content == served.data[start : end + 1]


def test_the_bytes_are_spliced_and_counted_as_served(served: Served) -> None:
    before = scrape(served.api)
    assert served.api.get(served.path, headers={"Range": "bytes=100-2000099"}).status_code == 206
    assert served.api.get(served.path).status_code == 200
    after = scrape(served.api)
    assert moved(before, after, "lite_raw_bytes_served_total", via="splice") == 2_000_000 + len(served.data)
    assert moved(before, after, "lite_raw_bytes_served_total") == 2_000_000 + len(served.data)


def test_many_downloads_at_once_each_get_their_own_bytes(served: Served) -> None:
    """Four concurrent relays on one event loop, each its own pipe and sockets."""
    spans = [(i * 700_000, i * 700_000 + 1_500_000) for i in range(4)]
    results: dict[int, bytes] = {}

    def fetch(start: int, end: int) -> None:
        results[start] = served.api.get(served.path, headers={"Range": f"bytes={start}-{end}"}).content

    threads = [threading.Thread(target=fetch, args=span) for span in spans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {start: results.get(start) for start, _ in spans} == {
        start: served.data[start : end + 1] for start, end in spans
    }


def test_a_client_that_leaves_half_way_leaves_the_server_serving(served: Served) -> None:
    """Nothing is left open behind it either: its pipe, its socket's duplicate, the store's socket."""
    port = int(served.server.url.rsplit(":", 1)[1])
    assert served.server.proc is not None
    fds = Path(f"/proc/{served.server.proc.pid}/fd")
    before = len(list(fds.iterdir()))
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            key = served.api.headers["X-API-Key"]
            sock.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert served.api.get(served.path).content == served.data  # and the next one is whole
    assert wait_until(lambda: len(list(fds.iterdir())) <= before, timeout=10), sorted(
        os.readlink(fd) for fd in fds.iterdir()
    )


def test_a_paused_player_neither_spins_nor_holds_up_others(served: Served) -> None:
    """A player that stops reading: its relay waits for the socket (no CPU) and everyone else is
    served meanwhile; when it reads again, its bytes are all there."""
    assert served.server.proc is not None
    port, key = int(served.server.url.rsplit(":", 1)[1]), served.api.headers["X-API-Key"]
    with socket.create_connection(("127.0.0.1", port)) as player:
        player.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        player.sendall(f"GET {served.path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
        received = player.recv(64 * 1024)
        time.sleep(0.5)  # the buffers on the way fill; the relay stops
        cpu_before = _cpu_seconds(served.server.proc.pid)
        time.sleep(1.0)
        assert _cpu_seconds(served.server.proc.pid) - cpu_before < 0.2  # a spinning loop burns ~1.0
        assert (
            served.api.get(served.path, headers={"Range": "bytes=0-1999999"}).content
            == served.data[:2_000_000]
        )
        head, _, body = received.partition(b"\r\n\r\n")
        while len(body) < len(served.data):
            block = player.recv(1 << 20)
            assert block, f"the connection closed after {len(body)} bytes"
            body += block
    assert head.startswith(b"HTTP/1.1 200") and body == served.data


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_store_that_stops_half_way_cuts_that_answer_short(moto_endpoint: str, tmp_path: Path) -> None:
    """A store whose answer breaks off: the client's answer ends before its Content-Length (the
    connection closes), as a streamed answer's would; the server goes on serving."""
    store = BreaksOffLongAnswers(moto_endpoint, cut_after=2_000_000)
    server = ServerProcess(backend_env("minio", tmp_path, store.url), tmp_path / "log").start()
    try:
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
            answer = upload(api, {"session_uid": "cut"}, random_wav(SIZE))
            assert answer.status_code == 201, answer.text
            media = answer.json()["media_files"][0]
            path = f"/recordings/{answer.json()['id']}/media/{media['id']}/raw"
            with pytest.raises(httpx.RemoteProtocolError):
                api.get(path, headers={"Range": "bytes=0-3999999"})
            assert api.get("/healthz").status_code == 200
    finally:
        server.stop()
        store.close()


@pytest.fixture
def stored_object(moto_endpoint: str, tmp_path: Path) -> tuple[Any, str, bytes]:
    """An object in a fresh bucket, and the very boto3 client Lite reads it with."""
    client = S3Storage(load_settings(backend_env("minio", tmp_path, moto_endpoint)).s3, "minio").client
    bucket, data = f"splice-{secrets.token_hex(4)}", random_wav(200_000)
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="k", Body=data)
    return client, bucket, data


def test_an_answer_of_another_length_is_left_whole_for_reading(stored_object: tuple[Any, str, bytes]) -> None:
    client, bucket, data = stored_object
    body = client.get_object(Bucket=bucket, Key="k")["Body"]
    assert plain_socket(body, len(data) - 1) is None
    assert body.read() == data  # nothing was taken off it


def test_an_answer_whose_checksum_botocore_checks_is_not_spliced(
    stored_object: tuple[Any, str, bytes],
) -> None:
    client, bucket, data = stored_object
    body = client.get_object(Bucket=bucket, Key="k")["Body"]
    checked = StreamingChecksumBody(body._raw_stream, len(data), Crc32Checksum(), "unused")
    assert plain_socket(checked, len(data)) is None


def test_a_spliceable_answer_hands_over_its_socket_and_what_was_buffered(
    stored_object: tuple[Any, str, bytes],
) -> None:
    client, bucket, data = stored_object
    body = client.get_object(Bucket=bucket, Key="k")["Body"]
    taken = plain_socket(body, len(data))
    assert taken is not None and taken.length == len(data)
    rest = b""
    with socket.socket(fileno=os.dup(taken.fd)) as sock:
        sock.setblocking(True)
        while len(rest) < taken.count:
            rest += sock.recv(taken.count - len(rest))
    taken.close()
    assert taken.prefix + rest == data
