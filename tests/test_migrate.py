"""migrate: copying everything to another backend, in order, checked, and again after changes.

A dry run writes nothing; media that fails its manifest checksum is not copied; users come before
keys and each manifest after its media, and a bot session's claim after its recording; a second
run removes what the source deleted since and leaves alone objects it did not write; the storage
being read is refused as a target. Progress is a bar on a terminal and plain lines elsewhere.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lite.config import MiB
from lite.ops.migrate import PREFIXES, Journal, Migration, target_settings
from lite.ops.migrate_report import Progress, Summary
from lite.services import open_storage
from lite.storage import Storage
from tests.conftest import backend_env, s3_client
from tests.maintenancekit import (
    WAV,
    Store,
    corrupted,
    fixture_store,  # noqa: F401 - a fixture
    run_cli,
    send_chunk,
)


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


async def local_target(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> tuple[Storage, list[str]]:
    """A local target, and the keys written to it in the order they were written."""
    env = {"LOCAL_STORAGE_DIR": str(tmp_path / "target"), "LOCAL_STORAGE_FSYNC": "false"}
    target = await open_storage(target_settings(store.services.settings, "local", env))
    written: list[str] = []
    write = target._write

    async def record(key: str, chunks: AsyncIterator[bytes]) -> None:
        await write(key, chunks)
        written.append(key)

    monkeypatch.setattr(target, "_write", record)
    return target, written


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
    target, written = await local_target(tmp_path, store, monkeypatch)
    summary = await migrate(store, target, tmp_path / "journal")
    # a user, a key (2 objects), 3 media with their manifests, a receiving recording's chunk, its
    # manifest and its session's claim (shared storage)
    assert summary.copied == len(written) == 12
    assert [key.split("/")[0] for key in written[:3]] == ["users", "api-key-ids", "api-keys"]
    for n, key in enumerate(written):
        if key.endswith("/manifest.json"):
            prefix = key.removesuffix("manifest.json")
            assert all(not other.startswith(prefix) for other in written[n + 1 :]), key


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["s3"])
async def test_migrate_copies_a_bot_sessions_claim_after_the_recording_it_names(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On shared storage a session's claim says which recording it is; a bucket moved without it
    would let the session's next chunk start a second recording."""
    await send_chunk(store.services, store.user_id, WAV, "live", 0, final=False)
    target, written = await local_target(tmp_path, store, monkeypatch)
    await migrate(store, target, tmp_path / "journal")
    claims = [key for key in written if key.startswith("sessions/")]
    assert claims == [f"sessions/{store.user_id}/live.json"]
    manifests = [n for n, key in enumerate(written) if key.endswith("/manifest.json")]
    assert written.index(claims[0]) > max(manifests)


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_a_second_migrate_removes_what_the_source_deleted_since(
    store: Store, tmp_path: Path, moto_endpoint: str
) -> None:
    issued = await store.services.auth.create_key(store.user_id)
    target = await s3_target(store, tmp_path, moto_endpoint)
    await migrate(store, target, tmp_path / "journal")
    await store.services.recordings.delete(store.user_id, store.recordings[0]["id"])
    await store.services.auth.revoke_key(issued.key.id)  # a revoked key must not work again after the switch
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
    drawn = out.getvalue()
    assert drawn.startswith("\r") and drawn.endswith("\n")  # redrawn in place, then a new line
    assert "migrate:  50%" in drawn and "1/2 objects" in drawn and "1.00M/2.00M" in drawn


def test_progress_is_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(objects=2, size=2 * MiB, stream=out)
    progress.advance(MiB, copied=True)
    progress.advance(MiB, copied=False)
    progress.finish()
    assert out.getvalue().splitlines()[-1].startswith("migrate: 100% 2/2 objects, 2.0/2.0 MiB")
    assert "\r" not in out.getvalue()
