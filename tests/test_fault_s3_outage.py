"""The object store goes away under load and comes back: requests fail fast with 503 and a detail,
/readyz follows, nothing indexed points at an object that was never written, and the service
recovers by itself (no restart of Lite).

Two kinds of outage, against a moto S3 server of the test's own on a fixed port:
- a hang: the moto process is stopped with SIGSTOP (connections are accepted by the kernel, nothing
  answers) and resumed with SIGCONT;
- a refusal: the endpoint refuses connections (and drops open ones) while the moto process is
  killed and started again on its port. moto keeps objects only in memory, so it runs with its
  request journal and replays it when it starts again: like a MinIO restart, the data is still
  there afterwards. Lite reaches moto through a forwarder on a fixed port that is closed while moto
  is down and replaying, so Lite never sees a half-restored store (MinIO has no such moment).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from lite.config import load_settings
from tests.conftest import ADMIN_TOKEN, LiveServer, backend_env, free_port, new_user_key, start_server
from tests.faultkit import (
    Gate,
    MotoProcess,
    blocks_of,
    bucket_objects,
    content_type,
    index_rows,
    multipart,
    random_wav,
    sha,
    wait_until,
)
from tests.test_bot_upload import UPLOAD

# seconds: an answer during an outage never takes longer than this. Botocore gives up on a hung store
# after about 6 s (2 attempts x 3 s read timeout); the rest is headroom for a loaded 2-core CI machine,
# where an upload caught mid-part was seen answering 503 after 11-12 s.
BOUND = 15.0
KINDS = ["hang", "refusal"]
# How long the load test's outage lasts: a hang must outlast the ~9 s one call may wait on it.
OUTAGE_SECONDS = {"hang": 12.0, "refusal": 4.0}


@dataclass
class Store:
    """Lite on minio storage against a moto process the test controls."""

    moto: MotoProcess
    gate: Gate
    server: LiveServer
    api: httpx.Client
    admin: httpx.Client
    bucket: str
    data_dir: Path
    kept: dict = field(default_factory=dict)  # a recording stored before the outage
    kept_data: bytes = b""

    def break_(self, kind: str) -> None:
        if kind == "hang":
            self.moto.pause()
        else:
            self.gate.close()
            self.moto.kill()

    def repair(self, kind: str) -> None:
        if kind == "hang":
            self.moto.resume()
        else:
            self.moto.start()
            self.gate.open()

    def kept_raw(self) -> httpx.Response:
        media = self.kept["media_files"][0]
        return self.api.get(f"/recordings/{self.kept['id']}/media/{media['id']}/raw")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    moto = MotoProcess(free_port(), journal=tmp_path / "moto-journal.log").start()
    gate = Gate(free_port(), moto.port).open()
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(moto.kill)
        cleanup.callback(gate.close)
        env = backend_env("minio", tmp_path, f"http://127.0.0.1:{gate.port}")
        server = start_server(load_settings(env))
        cleanup.callback(server.stop)
        admin = cleanup.enter_context(
            httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}, timeout=60)
        )
        _, key = new_user_key(admin)
        api = cleanup.enter_context(httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60))
        store = Store(moto, gate, server, api, admin, env["MINIO_BUCKET"], Path(env["DATA_DIR"]))
        store.kept_data = random_wav(300_000)
        kept = _upload(api, store.kept_data, "kept")
        assert kept.status_code == 201, kept.text
        store.kept = kept.json()
        cleanup.callback(_bring_back, store)  # runs first: a test that failed mid-outage ends it
        yield store


def _bring_back(store: Store) -> None:
    if store.moto.proc is not None and store.moto.proc.poll() is None:
        store.moto.resume()
    else:
        store.moto.start()
    if store.gate.listener is None:
        store.gate.open()


def _upload(api: httpx.Client, data: bytes, uid: str) -> httpx.Response:
    body = multipart([("session_uid", uid), ("format", "wav")], blocks_of(data))
    return api.post("/recordings", content=body, headers=content_type())


def _chunk(api: httpx.Client, uid: str, seq: int, data: bytes) -> httpx.Response:
    meta = {"session_uid": uid, "media_type": "audio", "format": "wav", "chunk_seq": seq}
    return api.post(UPLOAD, files={"file": ("c.wav", data)}, data={"metadata": json.dumps(meta)})


def _probes(store: Store) -> dict[str, Callable[[], httpx.Response]]:
    """One request of every kind that needs the object store."""
    recording, media = store.kept["id"], store.kept["media_files"][0]["id"]
    return {
        "upload": lambda: _upload(store.api, random_wav(200_000), "during"),
        "bot chunk": lambda: _chunk(store.api, "bot-during", 0, random_wav(20_000)),
        "raw": lambda: store.api.get(f"/recordings/{recording}/media/{media}/raw"),
        "download": lambda: store.api.get(f"/recordings/{recording}/media/{media}/download"),
        "get": lambda: store.api.get(f"/recordings/{recording}"),
        "list": lambda: store.api.get("/recordings"),
        "delete": lambda: store.api.delete(f"/recordings/{recording}"),
        "create user": lambda: store.admin.post("/admin/users", json={"email": "during@example.com"}),
        "readyz": lambda: store.api.get("/readyz"),
    }


def _timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response | Exception]:
    start = time.monotonic()
    try:
        answer: httpx.Response | Exception = call()
    except httpx.HTTPError as exc:
        answer = exc
    return time.monotonic() - start, answer


def _during_outage(store: Store, kind: str) -> dict[str, tuple[float, httpx.Response | Exception]]:
    store.break_(kind)
    try:
        with ThreadPoolExecutor(max_workers=len(_probes(store))) as pool:
            futures = {name: pool.submit(_timed, call) for name, call in _probes(store).items()}
            return {name: future.result() for name, future in futures.items()}
    finally:
        store.repair(kind)


@pytest.mark.parametrize("kind", KINDS)
def test_every_request_during_an_outage_answers_503_with_a_detail_in_bounded_time(
    store: Store, kind: str
) -> None:
    results = _during_outage(store, kind)
    problems = []
    for name, (elapsed, answer) in results.items():
        if isinstance(answer, Exception):
            problems.append(f"{name}: no answer after {elapsed:.1f}s ({answer!r})")
            continue
        if answer.status_code != 503 or not answer.json().get("detail"):
            problems.append(f"{name}: {answer.status_code} {answer.text[:200]}")
        if elapsed > BOUND:
            problems.append(f"{name}: answered after {elapsed:.1f}s")
    print({name: round(elapsed, 1) for name, (elapsed, _) in results.items()})
    assert problems == []


@pytest.mark.parametrize("kind", KINDS)
def test_readyz_turns_503_during_an_outage_and_200_after(store: Store, kind: str) -> None:
    assert store.api.get("/readyz").status_code == 200
    store.break_(kind)
    try:
        elapsed, answer = _timed(lambda: store.api.get("/readyz"))
        assert isinstance(answer, httpx.Response) and answer.status_code == 503
        assert "storage" in answer.json()["detail"]
        assert elapsed < BOUND
    finally:
        store.repair(kind)
    assert wait_until(lambda: store.api.get("/readyz").status_code == 200, timeout=BOUND)


@pytest.mark.parametrize("kind", KINDS)
def test_the_service_recovers_after_an_outage_without_a_restart(store: Store, kind: str) -> None:
    _during_outage(store, kind)  # every kind of request failed during it, the delete included
    assert wait_until(lambda: store.api.get("/readyz").status_code == 200, timeout=BOUND)
    assert store.kept_raw().content == store.kept_data
    data = random_wav(250_000)
    after = _upload(store.api, data, "after")
    assert after.status_code == 201, after.text
    media = after.json()["media_files"][0]
    assert store.api.get(f"/recordings/{after.json()['id']}/media/{media['id']}/raw").content == data
    assert _chunk(store.api, "bot-after", 0, random_wav(20_000)).status_code == 201
    assert store.api.delete(f"/recordings/{store.kept['id']}").status_code == 200


@dataclass
class LoadResult:
    sent: dict[str, bytes] = field(default_factory=dict)
    answers: dict[str, int | str] = field(default_factory=dict)
    recordings: dict[str, dict] = field(default_factory=dict)


def _load_through_an_outage(store: Store, kind: str) -> LoadResult:
    result = LoadResult()
    stop = threading.Event()

    def uploader(worker: int) -> None:
        n = 0
        while not stop.is_set():
            uid = f"load-{worker}-{n}"
            n += 1
            data = random_wav(150_000)
            result.sent[uid] = data
            elapsed, answer = _timed(lambda: _upload(store.api, data, uid))  # noqa: B023
            if isinstance(answer, Exception):
                result.answers[uid] = f"no answer after {elapsed:.1f}s: {answer!r}"
                continue
            result.answers[uid] = answer.status_code
            if answer.status_code == 201:
                result.recordings[uid] = answer.json()
            elif elapsed > BOUND:
                result.answers[uid] = f"{answer.status_code} after {elapsed:.1f}s"

    threads = [threading.Thread(target=uploader, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        store.break_(kind)
        time.sleep(OUTAGE_SECONDS[kind])
        store.repair(kind)
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_uploads_through_an_outage_are_201_or_503_and_the_index_holds_only_written_objects(
    store: Store, kind: str
) -> None:
    result = _load_through_an_outage(store, kind)
    assert set(result.answers.values()) == {201, 503}, result.answers  # both, and nothing else
    assert wait_until(lambda: store.api.get("/readyz").status_code == 200, timeout=BOUND)
    objects = bucket_objects(store.moto.client(), store.bucket)
    rows = index_rows(store.data_dir)
    for media in rows["media_files"]:
        assert objects.get(media["storage_key"]) == (media["file_size_bytes"], media["sha256"]), media
    for uid, recording in result.recordings.items():
        media = recording["media_files"][0]
        served = store.api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
        assert served.status_code == 200, (uid, served.status_code, served.text[:300])
        assert sha(served.content) == sha(result.sent[uid]), uid
    refused = {uid for uid, status in result.answers.items() if status == 503}
    assert not refused & {r["session_uid"] for r in rows["recordings"]}
