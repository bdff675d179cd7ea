"""What the reconciliation after a start (lite.catalog.reconcile) never touches: chunks of a session still
receiving, objects written since the cutoff (uploads in flight), objects Lite did not write (left and
reported for an operator), more orphans than a crash leaves (all kept and reported), and an orphan that
verify found but a manifest or index row named after its walk. On local, minio and s3 (moto), through
the service layer.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

import pytest

from lite.catalog import reconcile
from lite.catalog.reconcile import Reconciler
from lite.catalog.records import changed
from lite.catalog.verify import Verifier
from lite.ids import new_id
from lite.sessions.bot_uploads import chunk_key
from tests.maintenancekit import WAV, send_chunk
from tests.reconcilekit import Lite, fixture_lite, restarted  # noqa: F401 - a fixture (lite)


@pytest.mark.anyio
async def test_chunks_of_a_session_still_receiving_are_kept(lite: Lite) -> None:
    for seq in (0, 1):
        await send_chunk(lite.services, lite.user_id, WAV, "live", seq, final=False)
    [media] = lite.services.index.receiving_media()
    # A chunk stored just before a kill, never indexed: the bot sends it again, into the same place.
    unindexed_chunk = chunk_key(media.storage_key, 2)
    await lite.services.storage.put_bytes(unindexed_chunk, WAV)
    before = await lite.keys()
    outcome = await restarted(lite.services).reconcile()
    assert (outcome.deleted, outcome.left) == ([], [])
    assert await lite.keys() == before
    assert unindexed_chunk in before


@pytest.mark.anyio
async def test_objects_written_since_the_cutoff_are_left_alone(lite: Lite) -> None:
    """Uploads in flight: on local, this process's own (written after it started); on minio/s3,
    any replica's younger than the grace."""
    lite.services.settings = dataclasses.replace(lite.services.settings, reconcile_grace_seconds=3600)
    reconciler = Reconciler(lite.services, started=datetime.now(UTC) - timedelta(seconds=60))
    arriving = lite.orphan_key("arriving.wav")
    await lite.services.storage.put_bytes(arriving, WAV)
    outcome = await reconciler.reconcile()
    assert (outcome.deleted, outcome.in_flight) == ([], 1)
    assert arriving in await lite.keys()


@pytest.mark.anyio
async def test_what_lite_did_not_write_is_left_for_an_operator(
    lite: Lite, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = ["recordings/1/2/other-software.wav", "recordings/notes.txt"]  # user 1 is no Lite user
    for key in foreign:
        await lite.services.storage.put_bytes(key, WAV)
    with caplog.at_level(logging.WARNING, logger="lite.catalog.reconcile"):
        outcome = await restarted(lite.services).reconcile()
    assert outcome.deleted == []
    assert sorted((f.kind, f.key) for f in outcome.left) == [("orphan", key) for key in sorted(foreign)]
    assert set(foreign) <= await lite.keys()
    assert "2 orphan" in caplog.text


@pytest.mark.anyio
async def test_more_orphans_than_a_crash_leaves_are_all_kept_and_reported(
    lite: Lite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(reconcile, "MAX_DELETIONS", 2)
    orphans = [lite.orphan_key() for _ in range(3)]
    for key in orphans:
        await lite.services.storage.put_bytes(key, WAV)
    with caplog.at_level(logging.ERROR, logger="lite.catalog.reconcile"):
        outcome = await restarted(lite.services).reconcile()
    assert (outcome.deleted, sorted(outcome.withheld)) == ([], sorted(orphans))
    assert set(orphans) <= await lite.keys()
    assert "3 unaccounted objects" in caplog.text and "none deleted" in caplog.text


@pytest.mark.parametrize("named_by", ["manifest", "index"])
@pytest.mark.anyio
async def test_verify_does_not_delete_an_orphan_that_was_named_after_the_walk(
    lite: Lite, named_by: str
) -> None:
    """An upload's file, listed before its manifest and index row were written: the repair after
    the walk looks again."""
    services = lite.services
    indexed = services.index.get_recording_by_id(lite.recordings[0])
    assert indexed is not None
    [indexed_media] = services.index.media_for([indexed.id])
    recording = changed(indexed, id=new_id())
    key = f"recordings/{lite.user_id}/{recording.id}/late.wav"
    media = changed(indexed_media, id=new_id(), recording_id=recording.id, storage_key=key)
    await services.storage.put_bytes(key, WAV)
    report = await Verifier(services.storage, services.index, grace_seconds=0).run()
    [orphan] = report.findings
    assert (orphan.kind, orphan.key) == ("orphan", key)
    if named_by == "manifest":
        await services.catalog.save_manifest(recording, [media])
    else:
        services.index.insert_recording(recording, [media])
    assert orphan.fix is not None
    assert not await orphan.fix()
    assert key in await lite.keys()
