"""migrate local -> S3 of a few hundred recordings, killed once and resumed.

The resumed run copies only what had not arrived; afterwards every object is on the target byte for
byte (manifests naming the new backend), the index names S3, verify finds the bucket clean, and a
server started on the bucket alone serves every recording identically.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lite.catalog.index import Index, ListQuery
from lite.catalog.layout import parse_manifest
from lite.catalog.records import changed
from lite.config import Settings, load_settings
from lite.services import build_services
from tests.conftest import backend_env, s3_client
from tests.maintenancekit import run_cli, send_chunk, upload, variant
from tests.procserver import ROOT, ServerProcess

RECORDINGS = 300


KILL_AT = 200  # objects in the target


@dataclass
class Migrated:
    source_env: dict[str, str]
    target_env: dict[str, str]
    bucket: str
    moto: str
    keys: list[str]  # each user's API key
    expected: dict[int, bytes]  # media id -> what raw must serve
    objects_at_kill: int
    killed: int  # the interrupted run's exit status
    resumed: subprocess.CompletedProcess[str]


async def _generate(settings: Settings) -> tuple[list[str], dict[int, bytes]]:
    services = await build_services(settings)
    keys, expected = [], {}
    try:
        users = [await services.auth.create_user(f"u{i}@example.com", None) for i in range(3)]
        keys = [(await services.auth.create_key(user.id)).token for user in users]
        for n in range(RECORDINGS):
            data = variant(n)
            recording = await upload(services, users[n % 3].id, data)
            expected[recording["media_files"][0]["id"]] = data
        chunks = [variant(1000 + seq) for seq in range(3)]
        for seq, chunk in enumerate(chunks):  # a bot recording, finalized into a master
            await send_chunk(services, users[0].id, chunk, "bot-done", seq, final=seq == 2)
        await send_chunk(services, users[0].id, chunks[0], "bot-live", 0, final=False)  # still receiving
        bots, _ = services.index.recordings_page(users[0].id, ListQuery(limit=2))
        for media in services.index.media_for([bot.id for bot in bots]):
            master = settings.local_storage_dir / media.storage_key
            expected[media.id] = master.read_bytes() if media.state == "complete" else chunks[0]
    finally:
        await services.aclose()
    return keys, expected


@pytest.fixture(scope="module")
def migrated(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    tmp = tmp_path_factory.mktemp("migrate")
    target_env = backend_env("s3", tmp, moto_endpoint)
    source_env = {**target_env, "STORAGE_BACKEND": "local"}
    keys, expected = asyncio.run(_generate(load_settings(source_env)))
    bucket = target_env["S3_BUCKET"]
    client = s3_client(moto_endpoint)

    first = subprocess.Popen(
        [sys.executable, "-m", "lite", "migrate", "--to", "s3"],
        cwd=ROOT,
        env={**os.environ, **source_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    count = 0
    deadline = time.monotonic() + 60
    while first.poll() is None and count < KILL_AT and time.monotonic() < deadline:
        count = client.list_objects_v2(Bucket=bucket)["KeyCount"]
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)  # no cleanup runs, as in a power cut
    killed = first.wait(timeout=10)

    started = time.monotonic()
    resumed = run_cli(source_env, "migrate", "--to", "s3")
    print(f"resumed migrate: {time.monotonic() - started:.1f} s\n{resumed.stdout}", file=sys.stderr)
    return Migrated(source_env, target_env, bucket, moto_endpoint, keys, expected, count, killed, resumed)


def _summary_counts(stdout: str) -> dict[str, int]:
    found = re.search(r": (\d+) objects, copied (\d+) .* (\d+) already there, (\d+) failed", stdout)
    assert found, stdout
    return dict(zip(("objects", "copied", "skipped", "failed"), map(int, found.groups()), strict=True))


@dataclass
class Objects:
    source: dict[str, bytes]
    target: dict[str, bytes]


@pytest.fixture(scope="module")
def objects(migrated: Migrated) -> Objects:
    """Every object on both sides after the migration, read once for the tests that compare them."""
    root = load_settings(migrated.source_env).local_storage_dir
    source = {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }
    client = s3_client(migrated.moto)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=migrated.bucket)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    target = {key: client.get_object(Bucket=migrated.bucket, Key=key)["Body"].read() for key in keys}
    return Objects(source, target)


def test_a_killed_migrate_resumes_without_copying_again_what_arrived(migrated: Migrated) -> None:
    assert migrated.killed == -signal.SIGKILL, "the first run finished before it could be interrupted"
    assert migrated.resumed.returncode == 0, migrated.resumed.stdout + migrated.resumed.stderr
    counts = _summary_counts(migrated.resumed.stdout)
    assert counts["failed"] == 0
    assert counts["copied"] + counts["skipped"] == counts["objects"]
    # At most the copies in flight at the kill (one per job) arrived without reaching the journal.
    assert counts["skipped"] >= migrated.objects_at_kill - 4


def test_migrate_copies_every_object_byte_for_byte_but_manifests(objects: Objects) -> None:
    assert sorted(objects.target) == sorted(objects.source)
    differing = [key for key, data in objects.source.items() if objects.target[key] != data]
    assert all(key.endswith("/manifest.json") for key in differing)


def test_migrated_manifests_name_the_new_backend_and_nothing_else_changes(objects: Objects) -> None:
    manifests = [key for key in objects.source if key.endswith("/manifest.json")]
    assert len(manifests) == RECORDINGS + 2
    for key in manifests:
        recording, media = parse_manifest(objects.source[key])
        assert parse_manifest(objects.target[key]) == (
            recording,
            [changed(m, storage_backend="s3") for m in media],
        )


def test_the_index_names_the_new_backend_after_migrate(migrated: Migrated) -> None:
    index = Index(load_settings(migrated.source_env).index_path)
    try:
        backends = {row[0] for row in index.db.execute("SELECT storage_backend FROM media_files")}
    finally:
        index.close()
    assert backends == {"s3"}


def test_verify_reports_the_migrated_bucket_clean(migrated: Migrated) -> None:
    result = run_cli(migrated.target_env, "verify", "--checksums", "--grace", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{RECORDINGS + 2} recordings" in result.stdout


def test_a_server_on_the_target_serves_every_recording_byte_identically(
    migrated: Migrated, tmp_path: Path
) -> None:
    env = migrated.target_env | {"DATA_DIR": str(tmp_path / "new-disk")}  # the index rebuilds from S3
    server = ServerProcess(env, tmp_path / "server.log").start()
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)  # the index is rebuilt from the bucket first
    served: dict[int, bytes] = {}
    backends: set[str] = set()
    try:
        for key in migrated.keys:
            with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as api:
                for offset in range(0, RECORDINGS + 2, 200):
                    page = api.get("/recordings", params={"limit": 200, "offset": offset}).json()
                    for recording in page["recordings"]:
                        for media in recording["media_files"]:
                            backends.add(media["storage_backend"])
                            raw = api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
                            served[media["id"]] = raw.content
    finally:
        server.stop()
    assert backends == {"s3"}
    assert served == migrated.expected
