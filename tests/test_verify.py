"""verify: what it reports when the index and storage disagree, and how the command exits.

Each case runs on local and on S3 (moto), through the service layer, against a store of three
recordings: a missing object, an orphan, a checksum or size mismatch; chunks still arriving are no
orphans. The command exits 0 on a clean store and 1 with the problems named in JSON.
"""

from __future__ import annotations

import json

import pytest

from tests.maintenancekit import (
    WAV,
    Store,
    corrupted,
    fixture_backend,  # noqa: F401 - a fixture
    fixture_store,  # noqa: F401 - a fixture
    kinds,
    run_cli,
    send_chunk,
)


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


# the command, as operators run it


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
