"""The local backend on a small file system that fills up: 507 with a clear detail, nothing partial
left, reads and other users unaffected, and uploads work again once space is freed.

The file system is an 8 MiB tmpfs mounted by the test (root is needed), else a loop-mounted ext4
image; where neither can be mounted the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lite.config import load_settings
from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key, start_server
from tests.faultkit import TEMP_MARK, blocks_of, content_type, multipart, random_wav
from tests.test_bot_upload import UPLOAD

DISK_BYTES = 8 * 1024 * 1024


def _run(*args: str) -> bool:
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def _mount_small_disk(mountpoint: Path, scratch: Path) -> str:
    """Mount an 8 MiB file system at `mountpoint`; returns how, or skips with the reason."""
    mountpoint.mkdir()
    if _run("mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mountpoint)):
        return "tmpfs"
    image = scratch / "disk.img"
    with open(image, "wb") as f:
        f.truncate(DISK_BYTES)
    if (
        shutil.which("mkfs.ext4")
        and _run("mkfs.ext4", "-q", "-m", "0", str(image))
        and _run("mount", "-o", "loop", str(image), str(mountpoint))
    ):
        return "loop"
    pytest.skip(
        "cannot mount a small file system here (tmpfs and loop mounts both refused; they need root "
        "or CAP_SYS_ADMIN): the disk-full behaviour is untested in this environment"
    )


@dataclass
class SmallDisk:
    root: Path
    server: LiveServer
    a: httpx.Client
    b: httpx.Client

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def fill(self) -> Path:
        """Take every free byte with a filler file (outside the recordings' keys)."""
        filler = self.root / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):  # down to the last free byte
                try:
                    while os.write(fd, b"\0" * size):
                        pass
                except OSError:
                    pass
        finally:
            os.close(fd)
        return filler


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mountpoint = tmp_path / "disk"
    _mount_small_disk(mountpoint, tmp_path)
    try:
        env = {
            "STORAGE_BACKEND": "local",
            "DATA_DIR": str(tmp_path / "data"),
            "LOCAL_STORAGE_DIR": str(mountpoint),
            "LOCAL_STORAGE_FSYNC": "true",
            "ADMIN_API_TOKEN": ADMIN_TOKEN,
        }
        server = start_server(load_settings(env))
        try:
            with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
                keys = [new_user_key(admin)[1] for _ in range(2)]
            clients = [httpx.Client(base_url=server.url, headers={"X-API-Key": k}, timeout=30) for k in keys]
            try:
                yield SmallDisk(mountpoint, server, *clients)
            finally:
                for client in clients:
                    client.close()
        finally:
            server.stop()
    finally:
        if not _run("umount", str(mountpoint)):
            _run("umount", "-l", str(mountpoint))


def _upload(client: httpx.Client, data: bytes, uid: str) -> httpx.Response:
    body = multipart([("session_uid", uid), ("format", "wav")], blocks_of(data))
    return client.post("/recordings", content=body, headers=content_type())


def _too_big(disk: SmallDisk) -> httpx.Response:
    """Half the disk is taken by a first recording; the second one does not fit."""
    first = _upload(disk.a, random_wav(4 * 1024 * 1024), "first")
    assert first.status_code == 201, first.text
    return _upload(disk.a, random_wav(6 * 1024 * 1024), "second")


def test_an_upload_that_does_not_fit_gets_507_with_a_clear_detail(disk: SmallDisk) -> None:
    answer = _too_big(disk)
    assert answer.status_code == 507
    assert "disk is full" in answer.json()["detail"]


def test_an_upload_refused_for_space_leaves_no_partial_file_and_no_recording(disk: SmallDisk) -> None:
    first = _upload(disk.a, random_wav(4 * 1024 * 1024), "first")
    before = disk.files()
    assert _upload(disk.a, random_wav(6 * 1024 * 1024), "second").status_code == 507
    assert disk.files() == before
    assert not any(TEMP_MARK in name for name in os.listdir(disk.root))
    assert [r["id"] for r in disk.a.get("/recordings").json()["recordings"]] == [first.json()["id"]]


def test_reads_and_other_users_keep_working_on_a_full_disk(disk: SmallDisk) -> None:
    data = random_wav(1024 * 1024)
    recording = _upload(disk.a, data, "kept").json()
    disk.fill()
    assert _upload(disk.b, random_wav(100_000), "refused").status_code == 507
    media = recording["media_files"][0]
    assert disk.a.get(f"/recordings/{recording['id']}/media/{media['id']}/raw").content == data
    assert disk.a.get(f"/recordings/{recording['id']}").status_code == 200
    assert disk.b.get("/recordings").json()["total"] == 0
    assert httpx.get(f"{disk.server.url}/healthz").status_code == 200


def test_uploads_work_again_once_space_is_freed(disk: SmallDisk) -> None:
    assert _too_big(disk).status_code == 507
    first = disk.a.get("/recordings").json()["recordings"][0]
    assert disk.a.delete(f"/recordings/{first['id']}").status_code == 200
    data = random_wav(6 * 1024 * 1024)
    again = _upload(disk.a, data, "again")
    assert again.status_code == 201, again.text
    media = again.json()["media_files"][0]
    assert disk.a.get(f"/recordings/{again.json()['id']}/media/{media['id']}/raw").content == data


def test_a_disk_that_fills_up_during_a_streaming_upload_answers_507_and_recovers(disk: SmallDisk) -> None:
    data = random_wav(3 * 1024 * 1024)
    filled = threading.Event()

    def slow_blocks() -> Iterator[bytes]:
        for n, block in enumerate(blocks_of(data)):
            if n == 8:  # half a MiB in: another writer takes all the space that is left
                threading.Thread(target=lambda: (disk.fill(), filled.set())).start()
                filled.wait(10)
            yield block
            time.sleep(0.005)

    body = multipart([("session_uid", "streamed"), ("format", "wav")], slow_blocks())
    answer = disk.a.post("/recordings", content=body, headers=content_type())
    assert answer.status_code == 507
    assert "disk is full" in answer.json()["detail"]
    left = [f for f in disk.files() if "streamed" in f or TEMP_MARK in f]
    assert left == []
    assert disk.a.get("/recordings").json()["total"] == 0
    (disk.root / "filler").unlink()
    assert _upload(disk.a, data, "streamed").status_code == 201


def test_a_bot_chunk_on_a_full_disk_gets_507_and_the_resend_works_after(disk: SmallDisk) -> None:
    chunk = random_wav(64_000)
    meta = {"session_uid": "bot-full", "media_type": "audio", "format": "wav", "chunk_seq": 0}
    form = {"metadata": json.dumps(meta)}
    filler = disk.fill()
    refused = disk.a.post(UPLOAD, files={"file": ("c.wav", chunk)}, data=form)
    assert refused.status_code == 507
    assert "disk is full" in refused.json()["detail"]
    assert disk.a.get("/recordings").json()["total"] == 0
    filler.unlink()
    accepted = disk.a.post(UPLOAD, files={"file": ("c.wav", chunk)}, data=form)
    assert accepted.status_code == 201, accepted.text
