"""SIGTERM while an upload streams in: it finishes (201, readable after a restart) when it can within
SHUTDOWN_TIMEOUT_SECONDS, or fails cleanly and leaves nothing; the process exits 0 in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key, s3_client
from tests.faultkit import (
    TEMP_MARK,
    blocks_of,
    bucket_objects,
    content_type,
    local_files,
    multipart,
    random_wav,
)
from tests.procserver import ServerProcess

SHUTDOWN_TIMEOUT = 3  # SHUTDOWN_TIMEOUT_SECONDS for these tests
MARGIN = 3.0  # seconds beyond it for the lifespan shutdown and the interpreter's exit


@pytest.fixture(params=["local", "minio"])
def proc(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServerProcess, str, dict[str, str]]]:
    backend = str(request.param)
    moto = request.getfixturevalue("moto_endpoint") if backend != "local" else None
    env = backend_env(backend, tmp_path, moto) | {
        "LOCAL_STORAGE_FSYNC": "true",
        "SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_TIMEOUT),
    }
    server = ServerProcess(env, tmp_path / "server.log")
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        yield server, key, env
    finally:
        server.stop()


def _stored(env: dict[str, str]) -> list[str]:
    """Media objects in storage (the catalog's users and keys aside)."""
    if env["STORAGE_BACKEND"] == "local":
        keys = list(local_files(Path(env["DATA_DIR"]) / "recordings"))
    else:
        keys = list(bucket_objects(s3_client("http://" + env["MINIO_ENDPOINT"]), env["MINIO_BUCKET"]))
    return sorted(k for k in keys if k.startswith("recordings/") or TEMP_MARK in k)


def _slow_upload(
    url: str, key: str, data: bytes, seconds: float, sent_half: threading.Event
) -> httpx.Response | Exception:
    blocks = list(blocks_of(data, 32 * 1024))

    def paced() -> Iterator[bytes]:
        for n, block in enumerate(blocks):
            if n == len(blocks) // 4:
                sent_half.set()
            yield block
            time.sleep(seconds / len(blocks))

    body = multipart([("session_uid", "slow"), ("format", "wav")], paced())
    try:
        return httpx.post(
            f"{url}/recordings", content=body, headers=content_type() | {"X-API-Key": key}, timeout=60
        )
    except httpx.HTTPError as exc:
        return exc


def _terminate_during_upload(
    server: ServerProcess, key: str, data: bytes, seconds: float
) -> tuple[httpx.Response | Exception, int, float]:
    box: list[httpx.Response | Exception] = []
    started = threading.Event()
    client = threading.Thread(
        target=lambda: box.append(_slow_upload(server.url, key, data, seconds, started))
    )
    client.start()
    assert started.wait(30)
    begin = time.monotonic()
    code = server.terminate(timeout=SHUTDOWN_TIMEOUT + 30)
    took = time.monotonic() - begin
    client.join(timeout=60)
    return box[0], code, took


def test_an_upload_in_progress_at_sigterm_finishes_and_is_readable_after_a_restart(
    proc: tuple[ServerProcess, str, dict[str, str]],
) -> None:
    server, key, _ = proc
    data = random_wav(1_000_000)
    answer, code, took = _terminate_during_upload(server, key, data, seconds=1.5)
    assert isinstance(answer, httpx.Response) and answer.status_code == 201, answer
    assert (code, took < SHUTDOWN_TIMEOUT + MARGIN) == (0, True), (code, took)
    server.start()
    recording = answer.json()
    media = recording["media_files"][0]
    served = httpx.get(
        f"{server.url}/recordings/{recording['id']}/media/{media['id']}/raw", headers={"X-API-Key": key}
    )
    assert served.content == data


def test_an_upload_too_slow_to_finish_before_the_timeout_fails_cleanly_and_leaves_nothing(
    proc: tuple[ServerProcess, str, dict[str, str]],
) -> None:
    server, key, env = proc
    before = _stored(env)
    answer, code, took = _terminate_during_upload(
        server, key, random_wav(1_000_000), seconds=SHUTDOWN_TIMEOUT * 3
    )
    assert isinstance(answer, Exception) or answer.status_code >= 500, answer
    assert (code, took < SHUTDOWN_TIMEOUT + MARGIN) == (0, True), (code, took)
    assert _stored(env) == before
    server.start()
    listed = httpx.get(f"{server.url}/recordings", headers={"X-API-Key": key}).json()
    assert listed["total"] == 0


def test_sigterm_with_only_idle_connections_exits_0_at_once(
    proc: tuple[ServerProcess, str, dict[str, str]],
) -> None:
    server, key, _ = proc
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as idle:
        assert idle.get("/recordings").status_code == 200  # a keep-alive connection stays open
        begin = time.monotonic()
        code = server.terminate(timeout=SHUTDOWN_TIMEOUT + 30)
        took = time.monotonic() - begin
    assert code == 0
    assert took < 2.0
