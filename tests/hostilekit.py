"""The server under attack in the hostile-input tests, and how they send to it and judge its answers.

A test module registers the fixtures by importing them: ``fixture_target`` (a server as users run it,
`python app.py` on the local backend, with two users and small size limits; one per module) and the
autouse ``fixture_stays_contained_and_healthy``, which checks after every test of that module that
nothing was stored outside the storage root or a user's prefix and that the server still serves
others normally (/healthz and an upload).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, new_user_key
from tests.faultkit import random_wav
from tests.procserver import ServerProcess
from tests.test_bot_upload import UPLOAD

CHUNK_LIMIT = 256 * 1024


UPLOAD_LIMIT = 2 * 1024 * 1024


SAFE_KEY = re.compile(
    r"(users/\d+\.json|api-keys/[0-9a-f]{64}\.json|api-key-ids/\d+\.json"
    r"|recordings/(?P<user>\d+)/\d+/(manifest\.json"
    r"|[A-Za-z0-9][A-Za-z0-9_-]*(\.video)?\.(wav|webm|ogg|opus|mp3|m4a|mp4)(\.chunks/\d{8})?))"
)


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


@pytest.fixture(name="target", scope="module")
def fixture_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
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
            assert upload(a, {"session_uid": "a-first"}).status_code == 201
            yield Target(server, root, root / "data", users, a, b)
    finally:
        server.stop()


@pytest.fixture(name="stays_contained_and_healthy", autouse=True)
def fixture_stays_contained_and_healthy(target: Target) -> Iterator[None]:
    """After every test: nothing escaped, and the server still serves others normally."""
    yield
    _assert_contained(target)
    assert httpx.get(f"{target.server.url}/healthz", timeout=5).status_code == 200
    answer = upload(target.b, {"session_uid": "b-after"}, random_wav(5000))
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


def form(fields: dict[str, str | bytes], data: bytes, filename: str | bytes = "a.wav") -> bytes:
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


def upload(
    client: httpx.Client,
    fields: dict[str, str | bytes],
    data: bytes | None = None,
    filename: str | bytes = "a.wav",
) -> httpx.Response:
    return client.post("/recordings", content=form(fields, data or random_wav(8000), filename), headers=FORM)


def chunk(
    client: httpx.Client, meta: dict[str, object], flat: dict[str, str | bytes] | None = None
) -> httpx.Response:
    fields: dict[str, str | bytes] = {"metadata": json.dumps(meta)} if meta else {}
    return client.post(UPLOAD, content=form(fields | (flat or {}), random_wav(4000), "c.wav"), headers=FORM)


def assert_clear(answer: httpx.Response, allowed: set[int]) -> None:
    assert answer.status_code in allowed, f"{answer.status_code}: {answer.text[:200]}"
    if answer.status_code >= 400:
        assert answer.json()["detail"], answer.text
