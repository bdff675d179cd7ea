"""Hostile input against the server as users run it (`python app.py`, local backend).

Traversal and injection strings in every place a name enters (upload fields, the file name in the
multipart headers, the bot's metadata JSON and flat fields, ids in paths, query parameters): nothing
is stored outside the storage root or outside the user's own prefix, and `Content-Disposition`
cannot be broken. Oversized, slow, truncated, mistyped and non-UTF-8 requests, and huge headers: a
clear 4xx, and the server stays healthy (checked after each test: /healthz and a normal upload).
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests import rawhttp
from tests.conftest import ADMIN_TOKEN, new_user_key
from tests.faultkit import TEMP_MARK, random_wav
from tests.procserver import ServerProcess
from tests.test_bot_upload import UPLOAD

CHUNK_LIMIT = 256 * 1024
UPLOAD_LIMIT = 2 * 1024 * 1024
CORPUS = [
    "../../../../outside/evil",
    "..",
    "../",
    "./.",
    "/etc/passwd",
    "/tmp/lite-hostile-evil",
    "..\\..\\windows\\win.ini",
    "a/../../b",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%2F..%2Fetc",
    "....//....//etc",
    "recordings/1/2/x",
    "x\x00y",
    "x\r\nX-Injected: 1",
    'x";filename="evil.html',
    "x'; DROP TABLE recordings; --",
    "' OR '1'='1",
    "$(touch /tmp/lite-hostile-pwned)",
    "`touch /tmp/lite-hostile-pwned`",
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "\u202egnp.exe",
    "\u00e4" * 10,
    "A" * 300,
    " ",
    "-rf",
    ".hidden",
    "~root",
    "wav/../../x",
    "audio\x00video",
]
SAFE_KEY = re.compile(
    r"(users/\d+\.json|api-keys/[0-9a-f]{64}\.json|api-key-ids/\d+\.json"
    r"|recordings/(?P<user>\d+)/\d+/(manifest\.json"
    r"|[A-Za-z0-9][A-Za-z0-9_-]*(\.video)?\.(wav|webm|ogg|opus|mp3|m4a|mp4)(\.chunks/\d{8})?))"
)
SAFE_DISPOSITION = re.compile(r'inline; filename="[A-Za-z0-9][A-Za-z0-9_.-]*"')
OUTSIDE = [Path("/tmp/lite-hostile-evil"), Path("/tmp/lite-hostile-pwned"), Path("/outside")]


@dataclass
class Target:
    server: ServerProcess
    root: Path  # the test's directory: DATA_DIR and an "outside" sentinel live here
    data_dir: Path
    users: dict[int, str]  # user id -> API key
    a: httpx.Client
    b: httpx.Client

    @property
    def storage(self) -> Path:
        return self.data_dir / "recordings"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "outside").mkdir()
    (root / "outside" / "sentinel").write_text("untouched")
    env = {
        "STORAGE_BACKEND": "local",
        "DATA_DIR": str(root / "data"),
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "LOCAL_STORAGE_FSYNC": "false",
        "RECORDING_CHUNK_MAX_BYTES": str(CHUNK_LIMIT),
        "MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }
    server = ServerProcess(env, root / "server.log")
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            users = dict(new_user_key(admin) for _ in range(2))
        keys = list(users.values())
        with (
            httpx.Client(base_url=server.url, headers={"X-API-Key": keys[0]}, timeout=30) as a,
            httpx.Client(base_url=server.url, headers={"X-API-Key": keys[1]}, timeout=30) as b,
        ):
            assert _upload(a, {"session_uid": "a-first"}).status_code == 201
            yield Target(server, root, root / "data", users, a, b)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def stays_contained_and_healthy(target: Target) -> Iterator[None]:
    """After every test: nothing escaped, and the server still serves others normally."""
    yield
    _assert_contained(target)
    assert httpx.get(f"{target.server.url}/healthz", timeout=5).status_code == 200
    answer = _upload(target.b, {"session_uid": "b-after"}, random_wav(5000))
    assert answer.status_code == 201, answer.text
    assert target.b.delete(f"/recordings/{answer.json()['id']}").status_code == 200


def _assert_contained(target: Target) -> None:
    assert [p.name for p in (target.root / "outside").iterdir()] == ["sentinel"]
    assert (target.root / "outside" / "sentinel").read_text() == "untouched"
    assert [p for p in OUTSIDE if p.exists()] == []
    assert {p.name for p in target.root.iterdir()} <= {"outside", "data", "server.log"}
    for path in target.storage.rglob("*"):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(target.storage.resolve()), path
        if path.is_file():
            key = path.relative_to(target.storage).as_posix()
            match = SAFE_KEY.fullmatch(key)
            assert match, f"unexpected object {key!r}"
            assert match["user"] is None or int(match["user"]) in target.users, key


def _form(fields: dict[str, str | bytes], data: bytes, filename: str | bytes = "a.wav") -> bytes:
    def enc(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")

    out = b""
    for name, value in fields.items():
        out += (
            b'--hb\r\nContent-Disposition: form-data; name="'
            + enc(name)
            + b'"\r\n\r\n'
            + enc(value)
            + b"\r\n"
        )
    out += b'--hb\r\nContent-Disposition: form-data; name="file"; filename="' + enc(filename) + b'"\r\n\r\n'
    return out + data + b"\r\n--hb--\r\n"


FORM = {"Content-Type": "multipart/form-data; boundary=hb"}


def _upload(
    client: httpx.Client,
    fields: dict[str, str | bytes],
    data: bytes | None = None,
    filename: str | bytes = "a.wav",
) -> httpx.Response:
    return client.post("/recordings", content=_form(fields, data or random_wav(8000), filename), headers=FORM)


def _chunk(
    client: httpx.Client, meta: dict[str, object], flat: dict[str, str | bytes] | None = None
) -> httpx.Response:
    fields: dict[str, str | bytes] = {"metadata": json.dumps(meta)} if meta else {}
    return client.post(UPLOAD, content=_form(fields | (flat or {}), random_wav(4000), "c.wav"), headers=FORM)


def _assert_clear(answer: httpx.Response, allowed: set[int]) -> None:
    assert answer.status_code in allowed, f"{answer.status_code}: {answer.text[:200]}"
    if answer.status_code >= 400:
        assert answer.json()["detail"], answer.text


# names: nothing escapes the storage root or the user's prefix


@pytest.mark.parametrize("field", ["session_uid", "format", "media_type", "meeting_id"])
def test_hostile_upload_fields_are_refused_or_kept_inside_the_users_prefix(
    target: Target, field: str
) -> None:
    for value in CORPUS:
        _assert_clear(_upload(target.a, {field: value}), {201, 415, 422})


def test_hostile_file_names_in_the_multipart_header_never_name_a_stored_file(target: Target) -> None:
    for value in CORPUS:
        for filename in (value, value + ".wav", f"{value}/x.wav"):
            _assert_clear(_upload(target.a, {}, filename=filename.replace('"', "%22")), {201, 415, 422})
    stored = [p.name for p in target.storage.rglob("*")]
    assert not any(word in name for name in stored for word in ("evil", "passwd", "win.ini", "script"))


@pytest.mark.parametrize("field", ["session_uid", "format", "media_type", "meeting_id"])
def test_hostile_bot_metadata_is_refused_or_kept_inside_the_users_prefix(target: Target, field: str) -> None:
    base: dict[str, object] = {
        "session_uid": "bot-hostile",
        "format": "wav",
        "media_type": "audio",
        "chunk_seq": 0,
    }
    for value in CORPUS:
        _assert_clear(_chunk(target.a, base | {field: value}), {201, 409, 415, 422})
        flat = {k: str(v) for k, v in (base | {field: value}).items()}
        _assert_clear(_chunk(target.a, {}, flat), {201, 409, 415, 422})


def test_hostile_ids_in_paths_answer_a_json_4xx(target: Target) -> None:
    paths = ["/recordings/{}", "/recordings/1/media/{}/raw", "/recordings/{}/media/1/download"]
    for template in paths:
        for value in [*CORPUS, "-1", "0", "1e3", "9" * 40, "0x10", "1.5"]:
            path = template.format(quote(value, safe="").replace(".", "%2E"))  # no client-side ".."
            for method in ("GET", "DELETE"):
                answer = target.a.request(method, path)
                assert 400 <= answer.status_code < 500, (method, path, answer.status_code)
                assert answer.json()["detail"], (method, path)


def test_literal_dot_segments_in_the_request_line_reach_nothing(target: Target) -> None:
    key = target.users[next(iter(target.users))]
    for path in (
        "/recordings/1/media/1/raw/../../../../etc/passwd",
        "/../../etc/passwd",
        "/static/../lite.db",
    ):
        status, _, payload = rawhttp.send(
            target.server.url, f"GET {path} HTTP/1.1\nHost: x\nX-API-Key: {key}\nConnection: close"
        )
        assert 400 <= status < 500, (path, status)
        assert b"root:" not in payload and b"SQLite" not in payload


def test_hostile_query_parameters_match_nothing_and_inject_nothing(target: Target) -> None:
    for name in ("session_uid", "meeting_id", "status"):
        for value in CORPUS:
            answer = target.a.get("/recordings", params={name: value, "limit": 200})
            _assert_clear(answer, {200, 422})
            if answer.status_code == 200:  # only exact matches (earlier tests stored some values)
                assert all(str(r[name]) == value for r in answer.json()["recordings"]), (name, value)
    for value in ("1; DROP TABLE recordings", "-1", "abc", "9" * 40):
        _assert_clear(target.a.get("/recordings", params={"limit": value}), {400, 422})
        _assert_clear(target.a.get("/recordings", params={"offset": value}), {200, 400, 422})
    assert target.a.get("/recordings").json()["total"] >= 1  # the table is still there


def test_the_content_disposition_filename_cannot_break_the_header(target: Target) -> None:
    for filename in ('a"; filename=evil.html; x=".wav', 'x\\"\r\nX-Injected: 1\r\n.wav', "\u202egnp.wav"):
        _upload(target.a, {"session_uid": "cd-" + str(len(filename))}, filename=filename.replace("\r\n", " "))
    for recording in target.a.get("/recordings", params={"limit": 200}).json()["recordings"]:
        for media in recording["media_files"]:
            raw = target.a.head(f"/recordings/{recording['id']}/media/{media['id']}/raw")
            assert SAFE_DISPOSITION.fullmatch(raw.headers["content-disposition"]), raw.headers
            assert "x-injected" not in raw.headers
            link = target.a.get(f"/recordings/{recording['id']}/media/{media['id']}/download").json()
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", link["filename"]), link


# robustness: a clear 4xx, and the server stays healthy


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/recordings", "multipart/form-data; boundary=b"),
        (UPLOAD, "multipart/form-data; boundary=b"),
        ("/admin/users", "application/json"),
    ],
)
def test_a_declared_body_over_the_limit_is_refused_unread(
    target: Target, path: str, content_type: str
) -> None:
    key = target.users[next(iter(target.users))]
    status, _, payload = rawhttp.send(
        target.server.url,
        f"POST {path} HTTP/1.1\nHost: x\nX-API-Key: {key}\nX-Admin-API-Key: {ADMIN_TOKEN}\n"
        f"Connection: close\nContent-Type: {content_type}\nContent-Length: {2**40}",
        b"--b\r\n",
    )
    assert status == 413, payload
    assert rawhttp.detail(payload)


def test_a_streamed_chunk_over_the_limit_is_refused_and_leaves_nothing(target: Target) -> None:
    before = target.a.get("/recordings").json()["total"]
    meta = {"session_uid": "too-big", "format": "wav", "chunk_seq": 0}
    body = _form({"metadata": json.dumps(meta)}, random_wav(CHUNK_LIMIT + 100_000))

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    answer = target.a.post(UPLOAD, content=chunked(), headers=FORM)
    _assert_clear(answer, {413})
    assert target.a.get("/recordings").json()["total"] == before


def test_a_streamed_upload_over_the_limit_is_refused_and_leaves_nothing(target: Target) -> None:
    before = target.a.get("/recordings").json()["total"]
    body = _form({"session_uid": "too-big"}, random_wav(UPLOAD_LIMIT + 100_000))
    answer = target.a.post("/recordings", content=iter([body]), headers=FORM)
    _assert_clear(answer, {413})
    assert target.a.get("/recordings").json()["total"] == before
    assert not [p for p in target.storage.rglob("*") if "too-big" in p.name or TEMP_MARK in p.name]


def test_clients_sending_a_byte_a_second_do_not_slow_down_others(target: Target) -> None:
    key = target.users[next(iter(target.users))]
    slow = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", target.server.port))
        sock.sendall(
            f"POST /recordings HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: 100000\r\n"
            "Content-Type: multipart/form-data; boundary=hb\r\n\r\n".encode()
        )
        slow.append(sock)
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(1.0):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"-")

    dripper = threading.Thread(target=drip)
    dripper.start()
    try:
        worst = 0.0
        for n in range(6):
            start = time.monotonic()
            assert target.b.get("/healthz").status_code == 200
            assert _upload(target.b, {"session_uid": f"fast-{n}"}, random_wav(50_000)).status_code == 201
            worst = max(worst, time.monotonic() - start)
            time.sleep(0.5)
        assert worst < 2.0
    finally:
        stop.set()
        dripper.join()
        for sock in slow:
            sock.close()


def test_a_client_that_disconnects_mid_upload_leaves_nothing(target: Target) -> None:
    key = target.users[next(iter(target.users))]
    before = target.a.get("/recordings").json()["total"]
    body = _form({"session_uid": "hung-up"}, random_wav(1_000_000))
    with socket.create_connection(("127.0.0.1", target.server.port)) as sock:
        sock.sendall(
            f"POST /recordings HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: multipart/form-data; boundary=hb\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        time.sleep(0.3)
    time.sleep(0.5)
    assert target.a.get("/recordings").json()["total"] == before
    assert not [p for p in target.storage.rglob("*") if "hung-up" in p.name or TEMP_MARK in p.name]


def test_a_truncated_bot_multipart_body_is_refused(target: Target) -> None:
    meta = json.dumps({"session_uid": "truncated", "format": "wav", "chunk_seq": 0})
    body = _form({"metadata": meta}, random_wav(20_000))
    _assert_clear(target.a.post(UPLOAD, content=body[: len(body) - 3000], headers=FORM), {422})
    assert target.a.get("/recordings", params={"session_uid": "truncated"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/recordings", "application/json", b'{"file": "x"}'),
        ("/recordings", "application/x-www-form-urlencoded", b"file=abc"),
        ("/recordings", "multipart/form-data", b"--x\r\n"),  # no boundary
        ("/recordings", "text/plain", b"hello"),
        (UPLOAD, "application/json", b'{"metadata": {}}'),
        (UPLOAD, "multipart/mixed; boundary=hb", b"--hb--\r\n"),
        ("/admin/users", "text/plain", b"email=x@example.com"),
        ("/admin/users", "multipart/form-data; boundary=hb", b"--hb--\r\n"),
        ("/admin/users", "application/json", b'{"email": '),
        ("/admin/users", "application/json", b"[1, 2, 3]"),
    ],
)
def test_a_wrong_content_type_or_body_gets_a_clear_4xx(
    target: Target, path: str, content_type: str, body: bytes
) -> None:
    answer = target.a.post(
        path, content=body, headers={"Content-Type": content_type, "X-Admin-API-Key": ADMIN_TOKEN}
    )
    _assert_clear(answer, set(range(400, 500)))


def test_non_utf8_form_values_and_metadata_are_refused(target: Target) -> None:
    _assert_clear(_upload(target.a, {"session_uid": b"\xff\xfe-bad"}), {422})
    _assert_clear(_upload(target.a, {"meeting_id": b"\xc3\x28"}), {422})
    _assert_clear(_chunk(target.a, {}, {"metadata": b'{"session_uid": "\xff"}'}), {422})
    _assert_clear(_upload(target.a, {}, filename=b"\xff\xfe.wav"), {201, 415, 422})


def test_non_utf8_and_control_bytes_in_headers_get_a_clear_answer(target: Target) -> None:
    for head in (
        "GET /recordings HTTP/1.1\nHost: x\nX-API-Key: \xff\xfe\nConnection: close",
        "GET /recordings HTTP/1.1\nHost: x\nAuthorization: Bearer \xff\nConnection: close",
        f"GET /admin/users HTTP/1.1\nHost: x\nX-Admin-API-Key: {ADMIN_TOKEN}\xff\nConnection: close",
    ):
        status, _, payload = rawhttp.send(target.server.url, head)
        assert status == 401, (head, status)
        assert rawhttp.detail(payload)
    key = target.users[next(iter(target.users))]
    recording = target.a.get("/recordings").json()["recordings"][0]
    path = f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"
    for range_header in ("bytes=\xff-\xfe", "bytes=0-1,\xff", "\xff"):
        status, _, _ = rawhttp.send(
            target.server.url,
            f"GET {path} HTTP/1.1\nHost: x\nX-API-Key: {key}\nRange: {range_header}\nConnection: close",
            half_close=False,  # uvicorn drops a streamed answer to a half-closed socket
        )
        assert status in (200, 206, 416), (range_header, status)


@pytest.mark.parametrize(
    "head",
    [
        "GET /healthz HTTP/1.1\nHost: x\nX-Big: " + "a" * 200_000,
        "GET /healthz HTTP/1.1\nHost: x\n" + "\n".join(f"X-H{n}: {'v' * 40}" for n in range(5000)),
        "GET /healthz?" + "q" * 200_000 + " HTTP/1.1\nHost: x",
    ],
    ids=["one-huge-header", "many-headers", "huge-url"],
)
def test_huge_request_heads_are_refused_with_4xx(target: Target, head: str) -> None:
    data = (head + "\nConnection: close\n\n").replace("\n", "\r\n").encode("latin-1")
    answer = b""
    with socket.create_connection(("127.0.0.1", target.server.port), timeout=30) as sock:
        for start in range(0, len(data), 16 * 1024):  # stop sending once the server has answered
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(data[start : start + 16 * 1024])
            except OSError:
                break
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]


def test_a_request_whose_head_and_large_body_arrive_in_one_write_is_served(target: Target) -> None:
    # The head limit counts only the head: a bot's 160 KB chunk sent in one write is not "a huge head".
    body = _form({"session_uid": "one-write", "format": "wav"}, random_wav(200_000), "a.wav")
    key = target.users[next(iter(target.users))]
    head = (
        f"POST /recordings HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nConnection: close\r\n"
        f"Content-Type: {FORM['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    assert len(body) > 128 * 1024
    with socket.create_connection(("127.0.0.1", target.server.port), timeout=30) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
