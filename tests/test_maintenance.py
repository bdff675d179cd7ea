"""verify (the index against storage, and --repair) and migrate (everything to another backend)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.catalog import manifest_key, parse_manifest
from lite.config import MiB, Settings, load_settings
from lite.index import Index
from lite.migrate import PREFIXES, Journal, Migration, Progress, Summary, target_settings
from lite.multipart import FilePart
from lite.services import Services, build_services, open_storage
from lite.storage import Storage
from lite.verify import Report, Verifier
from tests.conftest import backend_env, s3_client
from tests.mediarecorder import wav_bytes
from tests.procserver import ROOT, ServerProcess

WAV = wav_bytes(1.0)  # 32 KB


def variant(n: int) -> bytes:
    """A distinct, valid WAV per recording, without synthesizing audio for each."""
    data = bytearray(WAV)
    data[44:52] = n.to_bytes(8, "little")
    return bytes(data)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _form(data: bytes, **fields: str) -> AsyncIterator[tuple[str, str | FilePart]]:
    for name, value in fields.items():
        yield name, value
    yield "file", FilePart("a.wav", _once(data))


async def upload(services: Services, user_id: int, data: bytes) -> dict[str, Any]:
    # A stated duration skips probing: hundreds of recordings are made in well under a second.
    return await services.recordings.upload(user_id, _form(data, duration_seconds="1.0"))


async def send_chunk(
    services: Services, user_id: int, data: bytes, session: str, seq: int, final: bool
) -> None:
    meta = {"session_uid": session, "format": "wav", "chunk_seq": seq, "is_final": final}
    await services.bot_uploads.upload_chunk(user_id, _form(data, metadata=json.dumps(meta)))


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lite", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# verify: each case on local and on S3 (moto), through the service layer


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Store:
    services: Services
    user_id: int
    recordings: list[dict[str, Any]]

    @property
    def storage(self) -> Storage:
        return self.services.storage

    def media_key(self, n: int = 0) -> str:
        media = self.services.index.media_for([self.recordings[n]["id"]])
        return str(media[0]["storage_key"])

    def manifest_key(self, n: int = 0) -> str:
        return manifest_key(self.user_id, self.recordings[n]["id"])

    async def verify(self, repair: bool = False, checksums: bool = True, grace: float = 0) -> Report:
        verifier = Verifier(self.storage, self.services.index, checksums=checksums, grace_seconds=grace)
        return await verifier.run(repair=repair)

    async def exists(self, key: str) -> bool:
        return key in [info.key async for info in self.storage.list(key)]


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    services = await build_services(settings)
    user = await services.auth.create_user("owner@example.com", None)
    recordings = [await upload(services, user["id"], variant(n)) for n in range(3)]
    yield Store(services, user["id"], recordings)
    await services.aclose()


def kinds(report: Report) -> list[tuple[str, str]]:
    return [(finding.kind, finding.key) for finding in report.findings]


def corrupted(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 0x01]) + data[101:]


@pytest.mark.anyio
async def test_verify_finds_nothing_wrong_with_an_intact_store(store: Store) -> None:
    report = await store.verify()
    assert (kinds(report), report.recordings, report.hashed) == ([], 3, 3)


@pytest.mark.anyio
async def test_verify_reports_a_deleted_media_object_as_missing(store: Store) -> None:
    await store.storage.delete(store.media_key())
    assert kinds(await store.verify()) == [("missing", store.media_key())]


@pytest.mark.anyio
async def test_verify_reports_an_object_nothing_names_as_an_orphan(store: Store) -> None:
    stray = f"recordings/{store.user_id}/{store.recordings[0]['id']}/stray.wav"
    await store.storage.put_bytes(stray, WAV)
    assert kinds(await store.verify()) == [("orphan", stray)]


@pytest.mark.anyio
async def test_verify_reports_a_corrupted_byte_as_a_checksum_mismatch(store: Store) -> None:
    key = store.media_key(1)
    await store.storage.put_bytes(key, corrupted(await store.storage.read_bytes(key)))
    assert kinds(await store.verify()) == [("checksum", key)]


@pytest.mark.anyio
async def test_verify_reports_a_truncated_object_as_a_size_mismatch(store: Store) -> None:
    key = store.media_key(2)
    await store.storage.put_bytes(key, WAV[:1000])
    assert kinds(await store.verify(checksums=False)) == [("size", key)]


@pytest.mark.anyio
async def test_chunks_of_a_recording_still_receiving_are_not_orphans(store: Store) -> None:
    await send_chunk(store.services, store.user_id, WAV, "live", 0, final=False)
    report = await store.verify()
    assert (kinds(report), report.recordings) == ([], 4)


@pytest.mark.anyio
async def test_repair_deletes_an_orphan_older_than_the_grace_period(store: Store) -> None:
    stray = f"recordings/{store.user_id}/777/left-behind.wav"
    await store.storage.put_bytes(stray, WAV)
    report = await store.verify(repair=True, grace=0)
    assert [(f.kind, f.repaired) for f in report.findings] == [("orphan", True)]
    assert not await store.exists(stray)


@pytest.mark.anyio
async def test_repair_leaves_a_young_orphan_alone_as_an_upload_in_flight(store: Store) -> None:
    stray = f"recordings/{store.user_id}/777/arriving.wav"
    await store.storage.put_bytes(stray, WAV)
    report = await store.verify(repair=True, grace=3600)
    assert (kinds(report), report.in_flight) == ([], [stray])
    assert await store.exists(stray)


@pytest.mark.anyio
async def test_repair_indexes_a_recording_the_index_lost(store: Store) -> None:
    lost = store.recordings[1]["id"]
    store.services.index.delete_recording(lost)
    report = await store.verify(repair=True)
    assert [(f.kind, f.recording_id, f.repaired) for f in report.findings] == [("unindexed", lost, True)]
    assert store.services.index.get_recording(store.user_id, lost) is not None


@pytest.mark.anyio
async def test_repair_rewrites_a_missing_manifest_from_the_index(store: Store) -> None:
    before = await store.storage.read_bytes(store.manifest_key())
    await store.storage.delete(store.manifest_key())
    report = await store.verify(repair=True)
    assert [(f.kind, f.repaired) for f in report.findings] == [("no-manifest", True)]
    assert parse_manifest(await store.storage.read_bytes(store.manifest_key())) == parse_manifest(before)


@pytest.mark.anyio
async def test_repair_writes_no_manifest_for_a_recording_whose_media_is_missing(store: Store) -> None:
    await store.storage.delete(store.manifest_key())
    await store.storage.delete(store.media_key())
    report = await store.verify(repair=True)
    assert [(f.kind, f.repaired) for f in report.findings] == [("no-manifest", False), ("missing", False)]
    assert not await store.exists(store.manifest_key())


@pytest.mark.anyio
async def test_repair_keeps_and_reports_a_corrupted_recording(store: Store) -> None:
    key = store.media_key()
    await store.storage.put_bytes(key, corrupted(await store.storage.read_bytes(key)))
    report = await store.verify(repair=True)
    assert [(f.kind, f.repaired) for f in report.unresolved] == [("checksum", False)]
    assert await store.exists(key)
    assert store.services.index.get_recording(store.user_id, store.recordings[0]["id"]) is not None


# the commands, as operators run them


@pytest.mark.anyio
async def test_verify_command_exits_0_on_a_clean_store(env: dict[str, str], store: Store) -> None:
    result = run_cli(env, "verify", "--checksums")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "clean"


@pytest.mark.anyio
async def test_verify_command_exits_1_and_names_the_problem_in_json(
    env: dict[str, str], store: Store
) -> None:
    await store.storage.delete(store.media_key())
    result = run_cli(env, "verify", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert [(p["kind"], p["key"], p["repairable"]) for p in problems] == [
        ("missing", store.media_key(), False)
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_migrate_dry_run_writes_nothing_to_the_target(
    store: Store, tmp_path: Path, moto_endpoint: str
) -> None:
    target = backend_env("s3", tmp_path, moto_endpoint)
    result = run_cli({**target, "STORAGE_BACKEND": "local"}, "migrate", "--to", "s3", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would copy 7" in result.stdout  # the user, and three media files with their manifests
    assert s3_client(moto_endpoint).list_objects_v2(Bucket=target["S3_BUCKET"])["KeyCount"] == 0


async def s3_target(store: Store, tmp_path: Path, moto: str) -> Storage:
    env = {**backend_env("s3", tmp_path, moto), "STORAGE_BACKEND": store.storage.backend}
    return await open_storage(target_settings(store.services.settings, "s3", env))


async def migrate(store: Store, target: Storage, journal: Path) -> Summary:
    """One migrate run in this process (cheaper than the command, same code)."""
    summary = Summary(store.storage.backend, target.backend, False, journal)
    opened = Journal(journal)
    try:
        await Migration(store.storage, target, store.services.index, opened, summary).run()
    finally:
        opened.close()
    return summary


async def keys_in(storage: Storage) -> list[str]:
    return [info.key for prefix in PREFIXES async for info in storage.list(prefix)]


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_migrate_refuses_media_that_does_not_match_its_manifest_checksum(
    store: Store, tmp_path: Path, moto_endpoint: str
) -> None:
    key = store.media_key()
    await store.storage.put_bytes(key, corrupted(await store.storage.read_bytes(key)))
    target = await s3_target(store, tmp_path, moto_endpoint)
    summary = await migrate(store, target, tmp_path / "journal")
    assert (summary.copied, summary.failed) == (5, 2)  # that recording's media, and so its manifest
    assert "manifest records" in summary.failures[0]
    copied = await keys_in(target)
    assert key not in copied and store.manifest_key() not in copied


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["s3"])
async def test_migrate_writes_users_before_keys_and_each_manifest_after_its_media(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.services.auth.create_key(store.user_id)
    await send_chunk(store.services, store.user_id, WAV, "live", 0, final=False)
    env = {"LOCAL_STORAGE_DIR": str(tmp_path / "target"), "LOCAL_STORAGE_FSYNC": "false"}
    target = await open_storage(target_settings(store.services.settings, "local", env))
    written: list[str] = []
    write = target._write

    async def record(key: str, chunks: AsyncIterator[bytes]) -> None:
        await write(key, chunks)
        written.append(key)

    monkeypatch.setattr(target, "_write", record)
    summary = await migrate(store, target, tmp_path / "journal")
    # a user, a key (2 objects), 3 media with their manifests, a receiving recording's chunk and manifest
    assert summary.copied == len(written) == 11
    assert [key.split("/")[0] for key in written[:3]] == ["users", "api-key-ids", "api-keys"]
    for n, key in enumerate(written):
        if key.endswith("/manifest.json"):
            prefix = key.removesuffix("manifest.json")
            assert all(not other.startswith(prefix) for other in written[n + 1 :]), key


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_a_second_migrate_removes_what_the_source_deleted_since(
    store: Store, tmp_path: Path, moto_endpoint: str
) -> None:
    key = await store.services.auth.create_key(store.user_id)
    target = await s3_target(store, tmp_path, moto_endpoint)
    await migrate(store, target, tmp_path / "journal")
    await store.services.recordings.delete(store.user_id, store.recordings[0]["id"])
    await store.services.auth.revoke_key(key["id"])  # a revoked key must not work again after the switch
    summary = await migrate(store, target, tmp_path / "journal")
    assert (summary.removed, summary.copied) == (4, 0)
    assert await keys_in(target) == await keys_in(store.storage)


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_migrate_leaves_alone_target_objects_it_did_not_write(
    store: Store, tmp_path: Path, moto_endpoint: str
) -> None:
    target = await s3_target(store, tmp_path, moto_endpoint)
    foreign = "recordings/1/2/someone-elses.wav"
    await target.put_bytes(foreign, WAV)
    summary = await migrate(store, target, tmp_path / "journal")
    assert (summary.foreign, summary.removed) == (1, 0)
    assert foreign in await keys_in(target)


@pytest.mark.parametrize("backend", ["local"])
def test_migrate_refuses_to_copy_onto_the_storage_it_reads(env: dict[str, str]) -> None:
    result = run_cli(env, "migrate", "--to", "local")
    assert result.returncode == 2
    assert "--to local: that is where the data is now" in result.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_redrawn_in_place_on_a_terminal() -> None:
    out = Terminal()
    progress = Progress(objects=2, size=2 * MiB, stream=out)
    progress.advance(MiB, copied=True)
    progress.finish()
    assert out.getvalue().startswith("\r[###############") and out.getvalue().endswith("\n")
    assert "100% 1/2 objects" not in out.getvalue() and " 50% 1/2 objects, 1.0/2.0 MiB" in out.getvalue()


def test_progress_is_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(objects=2, size=2 * MiB, stream=out)
    progress.advance(MiB, copied=True)
    progress.advance(MiB, copied=False)
    progress.finish()
    assert out.getvalue().splitlines()[-1].startswith("migrate: 100% 2/2 objects, 2.0/2.0 MiB")
    assert "\r" not in out.getvalue()


# migrate local -> s3 of a few hundred recordings, killed once and resumed

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
        keys = [(await services.auth.create_key(user["id"]))["token"] for user in users]
        for n in range(RECORDINGS):
            data = variant(n)
            recording = await upload(services, users[n % 3]["id"], data)
            expected[recording["media_files"][0]["id"]] = data
        chunks = [variant(1000 + seq) for seq in range(3)]
        for seq, chunk in enumerate(chunks):  # a bot recording, finalized into a master
            await send_chunk(services, users[0]["id"], chunk, "bot-done", seq, final=seq == 2)
        await send_chunk(services, users[0]["id"], chunks[0], "bot-live", 0, final=False)  # still receiving
        bots, _ = services.index.list_recordings(users[0]["id"], 2, 0)
        for media in services.index.media_for([bot["id"] for bot in bots]):
            master = settings.local_storage_dir / media["storage_key"]
            expected[media["id"]] = master.read_bytes() if media["state"] == "complete" else chunks[0]
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
            [m | {"storage_backend": "s3"} for m in media],
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
