"""What `python -m lite import-vexa` leaves safe: a run killed half-way finishes when run again, Lite's
orphan clean-up (reconciliation and verify's repair) never deletes Vexa's objects, before or after the
import, while it still deletes Lite's own, nothing outside `recordings/` is touched, and Vexa's keys are
told apart from Lite's.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from lite.catalog import reconcile
from lite.catalog.reconcile import Reconciler
from lite.catalog.records import MediaFile, Recording
from lite.catalog.verify import Verifier
from lite.catalog.vexa_layout import is_vexa_key, parse
from lite.config import Settings
from lite.ids import new_id
from lite.services import build_services
from tests.maintenancekit import WAV, upload
from tests.vexaimportkit import (
    ASSEMBLED,
    BROKEN,
    MANIFESTS,
    MASTER,
    OUTSIDE,
    SINGLE,
    USER_B,
    WAV_CHUNKS,
    WEBM_CHUNKS,
    S,
    contents,
    put_all,
    run_import,
    vexa_keys,
    vexa_objects,
)


class Crash(BaseException):
    """A kill: nothing after it runs."""


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_a_run_killed_half_way_finishes_when_run_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await build_services(settings)
    try:
        await put_all(services.storage, vexa_objects())
        save_manifest, insert = services.catalog.save_manifest, services.index.insert_recording

        async def killed_before_the_manifest(recording: Recording, media: list[MediaFile]) -> None:
            if recording.id == WAV_CHUNKS:  # after its chunks were assembled
                raise Crash
            await save_manifest(recording, media)

        def killed_before_the_index(recording: Recording, media: list[MediaFile]) -> None:
            if recording.id == WEBM_CHUNKS:  # after its manifest
                raise Crash
            insert(recording, media)

        monkeypatch.setattr(services.catalog, "save_manifest", killed_before_the_manifest)
        with pytest.raises(Crash):
            await run_import(services, jobs=1)  # one at a time: a kill leaves nothing running
        monkeypatch.setattr(services.catalog, "save_manifest", save_manifest)
        monkeypatch.setattr(services.index, "insert_recording", killed_before_the_index)
        with pytest.raises(Crash):
            await run_import(services, jobs=1)  # one at a time: a kill leaves nothing running
        monkeypatch.setattr(services.index, "insert_recording", insert)
        await run_import(services)
        assert (await run_import(services)).imported == 0
        for recording_id in (SINGLE, MASTER, WAV_CHUNKS, WEBM_CHUNKS, BROKEN):
            assert services.index.get_recording_by_id(recording_id) is not None, recording_id
        added = set(await contents(services.storage)) - set(vexa_objects())
        assert added == ASSEMBLED | {f"recordings/{m[0]}/{m[1]}/manifest.json" for m in MANIFESTS}
        [media] = services.index.media_for([WAV_CHUNKS])
        assert media.storage_key == f"recordings/{USER_B}/{WAV_CHUNKS}/{S[3]}.wav"
        assert media.file_size_bytes == 44 + 3 * 32000
    finally:
        await services.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_lite_never_deletes_vexas_objects_as_orphans_but_still_deletes_its_own(
    settings: Settings,
) -> None:
    services = await build_services(dataclasses.replace(settings, reconcile_grace_seconds=0))
    try:
        owner = await services.auth.create_user("owner@example.com", None)
        await upload(services, owner.id, WAV)
        await services.auth.adopt_user(USER_B)  # Vexa's bot uploaded to Lite for this user already
        objects = vexa_objects()
        await put_all(services.storage, objects)
        killed = {f"recordings/{user}/{new_id()}/killed.wav" for user in (owner.id, USER_B)}
        await put_all(services.storage, dict.fromkeys(killed, WAV))  # uploads killed before their manifest

        async def stored() -> set[str]:
            return {info.key async for info in services.storage.list("recordings/")}

        outcome = await Reconciler(services, started=datetime.now(UTC) + reconcile.CLOCK_SLACK).reconcile()
        assert set(outcome.deleted) == killed  # Lite's own orphans go, for a Lite user and an adopted one
        assert vexa_keys(objects) <= await stored()

        assert (await run_import(services)).imported == 5
        outcome = await Reconciler(services, started=datetime.now(UTC) + reconcile.CLOCK_SLACK).reconcile()
        assert outcome.deleted == [] and vexa_keys(objects) | ASSEMBLED <= await stored()
        report = await Verifier(services.storage, services.index, grace_seconds=0).run(repair=True)
        assert not [f for f in report.findings if f.key in vexa_keys(objects) | ASSEMBLED], report.text()
        assert vexa_keys(objects) <= await stored()
        for key, data in OUTSIDE.items():
            assert await services.storage.read_bytes(key) == data
    finally:
        await services.aclose()


def test_vexa_keys_are_recognised_and_lites_own_are_not() -> None:
    prefix = "recordings/7/100000000001/"
    uuid = S[1]
    assert parse(f"{uuid}/audio/000012.webm").seq == 12  # type: ignore[union-attr]
    assert parse(f"{uuid}/video/master.mp4").is_master  # type: ignore[union-attr]
    assert parse(f"{uuid}.wav").media_type is None  # type: ignore[union-attr]
    assert parse("manifest.json") is None and parse(f"{uuid}.wav.chunks/000000") is None
    for key in (f"{uuid}/audio/000000.webm", f"{uuid}/video/master.webm", f"{uuid}.wav", f"{uuid}.mp4"):
        assert is_vexa_key(prefix + key), key
    for key in (
        "manifest.json",
        "killed.wav",
        f"{uuid}.webm.chunks/000003",
        "upload-1f.wav",
        f"{uuid}.video.webm",
    ):
        assert not is_vexa_key(prefix + key), key
    assert not is_vexa_key(f"signal/8/55/{uuid}/0.jsonl")
