"""Storage is the source of truth: the index is a cache that rebuilds, and replicas act as one server."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, new_user_key
from tests.mediakit import wav_bytes
from tests.procserver import ROOT, ServerProcess
from tests.test_api_recordings import upload
from tests.test_bot_upload import send_chunk, wav_chunks


def forget_everything_but_storage(env: dict[str, str]) -> None:
    data = Path(env["DATA_DIR"])
    if env["STORAGE_BACKEND"] == "local":  # the recordings live under DATA_DIR: lose only the index
        for path in data.glob("lite.db*"):
            path.unlink()
    else:  # the container's whole disk is gone
        shutil.rmtree(data)


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz").status_code == 200:
            return
        time.sleep(0.1)
    raise TimeoutError("never ready")


def _snapshot(api: httpx.Client) -> dict[int, tuple[dict, list[bytes]]]:
    listing = api.get("/recordings", params={"limit": 200}).json()["recordings"]
    return {
        r["id"]: (
            r,
            [api.get(f"/recordings/{r['id']}/media/{m['id']}/raw").content for m in r["media_files"]],
        )
        for r in listing
    }


def test_a_fresh_server_on_an_empty_disk_gets_everything_back_from_storage(
    env: dict[str, str], tmp_path: Path
) -> None:
    first = ServerProcess(env, tmp_path / "first.log").start()
    try:
        with httpx.Client(base_url=first.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            user_id, key = new_user_key(admin, "keeper@example.com")
        with httpx.Client(base_url=first.url, headers={"X-API-Key": key}, timeout=30) as api:
            upload(api, wav_bytes(1.0), session_uid="whole")
            chunks = wav_chunks(3)
            for seq, chunk in enumerate(chunks):
                send_chunk(api, chunk, seq, session="finished", final=seq == 2)
            send_chunk(api, chunks[0], 0, session="running")  # still in progress
            before = _snapshot(api)
    finally:
        first.stop()
    forget_everything_but_storage(env)
    second = ServerProcess(env, tmp_path / "second.log").start()
    try:
        _wait_ready(second.url)
        with httpx.Client(base_url=second.url, headers={"X-API-Key": key}, timeout=30) as api:
            after = _snapshot(api)
            assert after == before
            send_chunk(api, chunks[1], 1, session="running", final=True)
            assert api.get("/recordings?session_uid=running").json()["recordings"][0]["status"] == "completed"
        with httpx.Client(base_url=second.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            assert [u["id"] for u in admin.get("/admin/users").json()] == [user_id]
    finally:
        second.stop()


class RoundRobin:
    """A client that alternates between replicas, as a round-robin balancer does."""

    def __init__(self, urls: list[str], headers: dict[str, str]) -> None:
        self.clients = [httpx.Client(base_url=url, headers=headers, timeout=30) for url in urls]
        self.turn = itertools.cycle(self.clients)

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return next(self.turn).request(method, path, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: object) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def replicas(env: dict[str, str], tmp_path: Path, backend: str) -> Iterator[list[ServerProcess]]:
    if backend == "local":
        pytest.skip(
            "replicas share object storage; the local backend is single-replica (Kubernetes option A)"
        )
    servers = [
        ServerProcess(
            env | {"DATA_DIR": str(tmp_path / f"replica-{i}")}, tmp_path / f"replica-{i}.log"
        ).start()
        for i in range(2)
    ]
    yield servers
    for server in servers:
        server.stop()


def test_two_replicas_on_one_bucket_behave_as_one_server(replicas: list[ServerProcess]) -> None:
    urls = [server.url for server in replicas]
    admin = RoundRobin(urls, {"X-Admin-API-Key": ADMIN_TOKEN})
    user = admin.post("/admin/users", json={"email": "rr@example.com"}).json()  # on replica 0
    key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]  # on replica 1
    api = RoundRobin(urls, {"X-API-Key": key})
    try:
        data = wav_bytes(1.0)
        recording = api.post("/recordings", files={"file": ("a.wav", data)}).json()  # replica 0
        media_id = recording["media_files"][0]["id"]
        assert api.get(f"/recordings/{recording['id']}").json() == recording  # replica 1
        assert [r["id"] for r in api.get("/recordings").json()["recordings"]] == [recording["id"]]  # 0
        assert api.get(f"/recordings/{recording['id']}/media/{media_id}/raw").content == data  # 1
        assert [r["id"] for r in api.get("/recordings").json()["recordings"]] == [recording["id"]]  # 0

        chunks = wav_chunks(4)
        for seq, chunk in enumerate(chunks):  # a bot's chunks spread over both replicas
            ack = api.post(
                "/internal/recordings/upload",
                files={"file": ("c", chunk)},
                data={
                    "metadata": json.dumps(
                        {"session_uid": "rr", "format": "wav", "chunk_seq": seq, "is_final": seq == 3}
                    )
                },
            )
            assert ack.status_code == 201, ack.text
        assert ack.json()["status"] == "completed"
        bot = api.get(f"/recordings/{ack.json()['recording_id']}").json()
        assert bot["media_files"][0]["chunk_count"] == 4

        assert api.delete(f"/recordings/{recording['id']}").status_code == 200
        for _ in urls:  # gone on every replica at once
            assert api.get(f"/recordings/{recording['id']}").status_code == 404
            assert recording["id"] not in [r["id"] for r in api.get("/recordings").json()["recordings"]]

    finally:
        api.close()
        admin.close()


def test_a_key_revoked_on_one_replica_stops_working_on_the_other_within_seconds(
    replicas: list[ServerProcess],
) -> None:
    a, b = (httpx.Client(base_url=s.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) for s in replicas)
    user = a.post("/admin/users", json={"email": "rv@example.com"}).json()
    token = a.post(f"/admin/users/{user['id']}/tokens").json()
    headers = {"X-API-Key": token["token"]}
    assert httpx.get(f"{replicas[1].url}/recordings", headers=headers).status_code == 200
    assert b.delete(f"/admin/tokens/{token['id']}").status_code == 204  # revoked through the other one
    revoked_at = time.monotonic()
    while httpx.get(f"{replicas[0].url}/recordings", headers=headers).status_code == 200:
        assert time.monotonic() - revoked_at < 6, "still accepted after KEY_RECHECK_SECONDS"
        time.sleep(0.2)
    assert httpx.get(f"{replicas[1].url}/recordings", headers=headers).status_code == 401


def test_reindex_rebuilds_the_index_from_storage_on_demand(env: dict[str, str], tmp_path: Path) -> None:
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
            for _ in range(3):
                upload(api, wav_bytes(0.2))
    finally:
        server.stop()
    result = subprocess.run(
        [sys.executable, "-m", "lite", "reindex"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "1 users, 1 API keys, 3 recordings" in result.stdout
