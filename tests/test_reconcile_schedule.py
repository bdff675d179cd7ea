"""When the reconciliation (lite.catalog.reconcile) runs: a pass that fails while storage is down is tried
again, shared storage is reconciled again once the grace (an hour unless set) has passed since the start,
the server reconciles in the background after it starts, and a start after a clean stop skips the walk
while one after a kill does not. On local, minio and s3 (moto); the last cases start the server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from lite.catalog import reconcile
from lite.catalog.layout import manifest_key
from lite.catalog.reconcile import Reconciler
from lite.config import ConfigError, Settings, load_settings
from lite.errors import StorageUnavailable
from lite.ids import new_id
from lite.services import build_services, open_storage
from lite.storage import ObjectInfo
from tests.conftest import start_server
from tests.faultkit import wait_until
from tests.maintenancekit import WAV, upload, variant
from tests.reconcilekit import Lite, fixture_lite, restarted  # noqa: F401 - a fixture (lite)


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
        kept = await upload(services, user.id, variant(1))
        orphan = f"recordings/{user.id}/{new_id()}/killed.wav"
        await services.storage.put_bytes(orphan, WAV)
        await services.aclose()
        # A restarted process starts well after its predecessor's last write; the server here
        # starts in this process, maybe within the reconciler's clock slack of that write.
        await asyncio.sleep(2 * reconcile.CLOCK_SLACK.total_seconds())
        return orphan, manifest_key(user.id, kept["id"])

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
            orphan = f"recordings/{user.id}/{new_id()}/killed.wav"
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
