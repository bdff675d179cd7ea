"""verify --repair: what it fixes, and what it leaves alone and reports.

Each case runs on local and on S3 (moto): old orphans are deleted but young ones (uploads in flight)
kept, lost index entries and missing manifests are restored, and corrupted or missing media is
kept and reported rather than "repaired" away.
"""

from __future__ import annotations

import pytest

from lite.catalog.layout import manifest_bytes, parse_manifest
from lite.catalog.records import changed
from tests.maintenancekit import (
    WAV,
    Store,
    corrupted,
    fixture_backend,  # noqa: F401 - a fixture
    fixture_store,  # noqa: F401 - a fixture
    kinds,
)


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
async def test_repair_never_replaces_a_manifest_written_after_the_walk(store: Store) -> None:
    """Another replica (its finalize, a rename) may write the manifest between the walk that found
    it missing and the repair: the repair creates it only if it is still absent."""
    before = await store.storage.read_bytes(store.manifest_key())
    await store.storage.delete(store.manifest_key())
    report = await store.verify(repair=False)
    [finding] = report.findings
    recording, media = parse_manifest(before)
    newer = manifest_bytes(changed(recording, title="Renamed elsewhere"), media)
    await store.storage.put_bytes(store.manifest_key(), newer)
    assert finding.fix is not None
    assert not await finding.fix()
    assert await store.storage.read_bytes(store.manifest_key()) == newer


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
