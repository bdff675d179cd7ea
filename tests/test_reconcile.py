"""The reconciliation after a start (lite.catalog.reconcile): what requests killed mid-way left is cleaned up,
and nothing a live request is writing, nothing still receiving and nothing Lite did not write is
touched. The cases run on local, minio and s3 (moto), through the service layer; the last one starts
the server.

A kill is simulated by writing what the killed request had written (an object without its manifest,
a manifest without its index row) or by failing the step after it; `restarted()` is the reconciler
of a process that started after all of that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from lite.catalog import reconcile
from lite.catalog.layout import manifest_key
from lite.catalog.reconcile import Reconciler
from lite.catalog.verify import Verifier
from lite.config import ConfigError, Settings, load_settings
from lite.errors import StorageUnavailable
from lite.ids import new_id
from lite.services import Services, build_services, open_storage
from lite.sessions.bot_uploads import chunk_key
from lite.storage import ObjectInfo
from tests.conftest import start_server
from tests.faultkit import wait_until
from tests.maintenancekit import WAV, send_chunk, upload, variant


@dataclasses.dataclass
class Lite:
    services: Services
    user_id: int
    recordings: list[int]

    def orphan_key(self, name: str = "killed.wav") -> str:
        """Where an upload killed before its manifest left its file: a recording id nobody knows."""
        return f"recordings/{self.user_id}/{new_id()}/{name}"

    async def keys(self) -> set[str]:
        return {info.key async for info in self.services.storage.list("recordings/")}


@pytest.fixture
async def lite(settings: Settings) -> AsyncIterator[Lite]:
    """Two recordings of one user; on minio/s3 a grace of 0, so that the cases need not wait."""
    services = await build_services(dataclasses.replace(settings, reconcile_grace_seconds=0))
    user = await services.auth.create_user("owner@example.com", None)
    recordings = [(await upload(services, user["id"], variant(n)))["id"] for n in range(2)]
    yield Lite(services, user["id"], recordings)
    await services.aclose()


def restarted(services: Services) -> Reconciler:
    """The reconciler of a process started after everything stored so far was written."""
    return Reconciler(services, started=datetime.now(UTC) + reconcile.CLOCK_SLACK)


@pytest.mark.anyio
async def test_objects_of_requests_killed_before_their_manifest_are_deleted_and_nothing_else(
    lite: Lite,
) -> None:
    before = await lite.keys()
    upload_file = lite.orphan_key()
    first_chunk = chunk_key(lite.orphan_key("bot-1.wav"), 0)  # a bot session's first chunk
    for key in (upload_file, first_chunk):
        await lite.services.storage.put_bytes(key, WAV)
    outcome = await restarted(lite.services).reconcile()
    assert sorted(outcome.deleted) == sorted([upload_file, first_chunk])
    assert (outcome.indexed, outcome.left) == ([], [])
    assert await lite.keys() == before


@pytest.mark.anyio
async def test_a_recording_whose_manifest_was_written_but_not_indexed_is_indexed(lite: Lite) -> None:
    lost = lite.recordings[1]
    lite.services.index.delete_recording(lost)  # killed after the manifest, before the index
    before = await lite.keys()
    outcome = await restarted(lite.services).reconcile()
    assert (outcome.indexed, outcome.deleted) == ([lost], [])
    assert lite.services.index.get_recording(lite.user_id, lost) is not None
    assert await lite.keys() == before


@pytest.mark.anyio
async def test_chunks_of_a_session_still_receiving_are_kept(lite: Lite) -> None:
    for seq in (0, 1):
        await send_chunk(lite.services, lite.user_id, WAV, "live", seq, final=False)
    [media] = lite.services.index.receiving_media()
    # A chunk stored just before a kill, never indexed: the bot sends it again, into the same place.
    unindexed_chunk = chunk_key(media["storage_key"], 2)
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


@pytest.mark.anyio
async def test_chunks_under_a_media_file_finalized_just_before_a_kill(
    lite: Lite, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed inside finalization, after the completed manifest was saved and before the index heard
    of it. On minio/s3 the index takes the manifest in (another replica may have finalized it), so
    the chunks are debris and go; on local the index decides, and the idle finalizer will finish it
    again from the chunks, which stay."""
    services = lite.services
    for seq in (0, 1):
        await send_chunk(services, lite.user_id, variant(seq), "meeting", seq, final=False)
    [media] = services.index.receiving_media()
    recording = services.index.get_recording_by_id(media["recording_id"])
    assert recording is not None
    chunks = [c["storage_key"] for c in services.index.chunks_of(media["id"])]

    def killed(*args: object) -> None:
        raise RuntimeError("SIGKILL")

    with monkeypatch.context() as patch:
        patch.setattr(services.index, "finish_media", killed)
        with pytest.raises(RuntimeError):
            await services.finalizer.finalize(recording, force=True)
    outcome = await restarted(services).reconcile()
    keys = await lite.keys()
    assert media["storage_key"] in keys
    if backend == "local":
        assert outcome.deleted == [] and set(chunks) <= keys
    else:
        assert sorted(outcome.deleted) == sorted(chunks) and not set(chunks) & keys
        [now] = services.index.media_for([recording["id"]])
        assert now["state"] == "complete"


@pytest.mark.parametrize("named_by", ["manifest", "index"])
@pytest.mark.anyio
async def test_verify_does_not_delete_an_orphan_that_was_named_after_the_walk(
    lite: Lite, named_by: str
) -> None:
    """An upload's file, listed before its manifest and index row were written: the repair after
    the walk looks again."""
    services = lite.services
    recording = dict(services.index.get_recording_by_id(lite.recordings[0]) or {})
    [media] = services.index.media_for([recording["id"]])
    recording["id"] = media["recording_id"] = new_id()
    media["id"] = new_id()
    key = media["storage_key"] = f"recordings/{lite.user_id}/{recording['id']}/late.wav"
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


@pytest.mark.anyio
async def test_a_pass_that_fails_while_storage_is_down_is_tried_again(
    lite: Lite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(reconcile, "FIRST_RETRY", 0.01)
    storage = lite.services.storage
    listing = storage.list
    calls = 0

    def down_once(prefix: str) -> AsyncIterator[ObjectInfo]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StorageUnavailable("the object store did not answer")
        return listing(prefix)

    monkeypatch.setattr(storage, "list", down_once)
    orphan = lite.orphan_key()
    await storage.put_bytes(orphan, WAV)
    await asyncio.sleep(0.01)  # so that the orphan is older than the start, on local
    with caplog.at_level(logging.INFO, logger="lite.catalog.reconcile"):
        await restarted(lite.services).run()  # returns: once the pass succeeded, nothing is left to do
    assert "not reconciled with the index yet: the object store did not answer" in caplog.text
    assert caplog.text.count(reconcile.DONE) == 1
    assert orphan not in await lite.keys()


@pytest.mark.anyio
async def test_shared_storage_is_reconciled_again_once_the_grace_has_passed_since_the_start(
    lite: Lite, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the previous process left just before it died is younger than the grace at the start."""
    if backend == "local":
        pytest.skip("local needs no grace: one pass at the start takes all an earlier process left")
    lite.services.settings = dataclasses.replace(lite.services.settings, reconcile_grace_seconds=0.5)
    orphan = lite.orphan_key()
    await lite.services.storage.put_bytes(orphan, WAV)
    reconciler = Reconciler(lite.services)
    passes = []
    one_pass = reconciler.reconcile

    async def counted(cutoff: datetime | None = None) -> reconcile.Outcome:
        passes.append(cutoff)
        return await one_pass(cutoff)

    monkeypatch.setattr(reconciler, "reconcile", counted)
    await reconciler.run()
    assert len(passes) == 2
    assert passes[1] is not None and passes[1] >= reconciler.started - reconcile.CLOCK_SLACK
    assert orphan not in await lite.keys()


def test_the_grace_is_an_hour_unless_set() -> None:
    assert load_settings({}).reconcile_grace_seconds == 3600
    assert load_settings({"RECONCILE_GRACE_SECONDS": "0"}).reconcile_grace_seconds == 0
    with pytest.raises(ConfigError, match="RECONCILE_GRACE_SECONDS"):
        load_settings({"RECONCILE_GRACE_SECONDS": "-1"})


async def _stored(settings: Settings) -> set[str]:
    storage = await open_storage(settings)
    try:
        return {info.key async for info in storage.list("recordings/")}
    finally:
        await storage.aclose()


def test_the_server_reconciles_in_the_background_after_it_starts(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Ready at once (start_server waits for /readyz), and the orphan goes shortly after."""
    settings = dataclasses.replace(settings, reconcile_grace_seconds=0)
    caplog.set_level(logging.INFO, logger="lite.catalog.reconcile")  # the pass's own account, if it fails

    async def killed_upload() -> tuple[str, str]:
        services = await build_services(settings)
        user = await services.auth.create_user("owner@example.com", None)
        kept = await upload(services, user["id"], variant(1))
        orphan = f"recordings/{user['id']}/{new_id()}/killed.wav"
        await services.storage.put_bytes(orphan, WAV)
        await services.aclose()
        # A restarted process starts well after its predecessor's last write; the server here
        # starts in this process, maybe within the reconciler's clock slack of that write.
        await asyncio.sleep(2 * reconcile.CLOCK_SLACK.total_seconds())
        return orphan, manifest_key(user["id"], kept["id"])

    orphan, kept = asyncio.run(killed_upload())
    live = start_server(settings)
    try:
        gone = wait_until(lambda: orphan not in asyncio.run(_stored(settings)), timeout=30)
        assert gone, [r.getMessage() for r in caplog.records if r.name == "lite.catalog.reconcile"]
        assert kept in asyncio.run(_stored(settings))
    finally:
        live.stop()


def test_a_start_after_a_clean_stop_skips_the_walk_and_one_after_a_kill_does_not(
    settings: Settings,
) -> None:
    """Only a kill or a crash leaves anything: after a graceful shutdown the (costly) walk is skipped."""
    settings = dataclasses.replace(settings, reconcile_grace_seconds=0)
    live = start_server(settings)
    live.stop()  # graceful: leaves the mark

    async def two_starts() -> tuple[bool, bool]:
        services = await build_services(settings)
        try:
            user = await services.auth.create_user("owner@example.com", None)
            orphan = f"recordings/{user['id']}/{new_id()}/killed.wav"
            await services.storage.put_bytes(orphan, WAV)
            await asyncio.sleep(2 * reconcile.CLOCK_SLACK.total_seconds())  # older than the start
            await asyncio.wait_for(Reconciler(services).run(), 10)  # after the clean stop
            kept = orphan in {info.key async for info in services.storage.list("recordings/")}
            await asyncio.wait_for(Reconciler(services).run(), 10)  # no mark now: as after a kill
            gone = orphan not in {info.key async for info in services.storage.list("recordings/")}
            return kept, gone
        finally:
            await services.aclose()

    assert asyncio.run(two_starts()) == (True, True)
