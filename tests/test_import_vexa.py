"""`python -m lite import-vexa`: a Vexa bucket, in both of Vexa's key layouts and with real audio and
video, indexed into Lite and played back through `/raw` with a key of the adopted user; on local, on
moto and on the second S3 server, and copied from a local Vexa volume onto S3. A second run imports
nothing, a dry run changes nothing, a run killed half-way finishes when run again, nothing outside
`recordings/` is touched, and Lite's orphan clean-up never deletes Vexa's objects (before or after the
import) while it still deletes Lite's own.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
import wave
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import av
import httpx
import pytest

from lite.catalog import reconcile
from lite.catalog.reconcile import Reconciler
from lite.catalog.verify import Verifier
from lite.catalog.vexa_layout import is_vexa_key, parse
from lite.config import Settings
from lite.ids import new_id
from lite.ops.import_vexa import VexaImport
from lite.ops.import_vexa_cli import open_source
from lite.ops.import_vexa_report import ImportSummary
from lite.services import Services, build_services
from lite.storage import LocalStorage, Storage
from tests.conftest import ADMIN_TOKEN, start_server
from tests.maintenancekit import WAV, run_cli, upload
from tests.mediarecorder import record_chunks, wav_bytes

USER_A, USER_B = 7, 8
SINGLE, MASTER, WAV_CHUNKS, WEBM_CHUNKS, BROKEN = (100000000001 + n for n in range(5))
S = {n: f"3f2a9c1e-0b4d-4e8f-9a1b-{n:012d}" for n in range(1, 6)}  # Vexa's session_uids: UUIDs
AUDIO_CHUNKS = record_chunks("audio", 3.0)  # MediaRecorder's blobs (cached)
VIDEO = b"".join(record_chunks("video", 3.0))  # the bot's one-shot video
WAVS = [wav_bytes(1.0, freq=300 + 100 * n) for n in range(3)]  # the bot's PCM chunks, 1 s each
OUTSIDE = {"signal/8/55/tape/0.jsonl": b'{"t":0}\n', "bot-userdata/8/state.json": b"{}"}


def vexa_objects() -> dict[str, bytes]:
    a, b = f"recordings/{USER_A}", f"recordings/{USER_B}"
    objects = {
        f"{a}/{SINGLE}/{S[1]}.wav": wav_bytes(2.0),  # v0.10: one file per session, audio and video
        f"{a}/{SINGLE}/{S[1]}.webm": VIDEO,
        f"{a}/{MASTER}/{S[2]}/audio/master.webm": b"".join(AUDIO_CHUNKS),  # chunks and their master
        f"{b}/{WEBM_CHUNKS}/{S[4]}/video/000000.webm": VIDEO,
        f"{b}/{BROKEN}/{S[5]}.wav": b"RIFF but nothing that plays",
        "recordings/README.txt": b"not a recording",
        **OUTSIDE,
    }
    for seq, chunk in enumerate(AUDIO_CHUNKS):
        objects[f"{a}/{MASTER}/{S[2]}/audio/{seq:06d}.webm"] = chunk
        objects[f"{b}/{WEBM_CHUNKS}/{S[4]}/audio/{seq:06d}.webm"] = chunk  # no master: assembled
    for seq, chunk in enumerate(WAVS):
        objects[f"{b}/{WAV_CHUNKS}/{S[3]}/audio/{seq:06d}.wav"] = chunk  # no master: assembled
    return objects


MANIFESTS = [
    (USER_A, SINGLE),
    (USER_A, MASTER),
    (USER_B, WAV_CHUNKS),
    (USER_B, WEBM_CHUNKS),
    (USER_B, BROKEN),
]
ASSEMBLED = {
    f"recordings/{USER_B}/{WAV_CHUNKS}/{S[3]}.wav",
    f"recordings/{USER_B}/{WEBM_CHUNKS}/{S[4]}.webm",
    f"recordings/{USER_B}/{WEBM_CHUNKS}/{S[4]}.video.webm",
}


async def put_all(storage: Storage, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        await storage.put_bytes(key, data)


async def contents(storage: Storage) -> dict[str, bytes]:
    keys = [
        info.key
        for prefix in ("recordings/", "signal/", "bot-userdata/")
        async for info in storage.list(prefix)
    ]
    return {key: await storage.read_bytes(key) for key in keys}


async def run_import(services: Services, source: Storage | None = None, jobs: int = 2) -> ImportSummary:
    summary = ImportSummary("vexa", services.storage.backend, False)
    return await VexaImport(services, summary, source, jobs=jobs, progress_stream=io.StringIO()).run()


def decoded_seconds(data: bytes, kind: str) -> float:
    """Decode every frame of the first `kind` stream: the media plays, this long."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        last = 0.0
        for frame in container.decode(stream):
            if frame.pts is not None:
                last = max(last, float(frame.pts * frame.time_base))
        return last


@dataclass
class Played:
    recordings: dict[int, dict]
    raw: dict[tuple[int, str], bytes]


def play_back(settings: Settings, user_id: int) -> Played:
    """A key for the adopted user from the admin API, then the list and every media file's /raw."""
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=60) as client:
            answer = client.post(f"/admin/users/{user_id}/tokens", headers={"X-Admin-API-Key": ADMIN_TOKEN})
            assert answer.status_code in (200, 201), answer.text
            client.headers["X-API-Key"] = answer.json()["token"]
            listed = client.get("/recordings", params={"limit": 50})
            assert listed.status_code == 200, listed.text
            recordings = {r["id"]: r for r in listed.json()["recordings"]}
            raw = {}
            for recording in recordings.values():
                for media in recording["media_files"]:
                    got = client.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
                    assert got.status_code == 200, got.text
                    raw[recording["id"], media["type"]] = got.content
            return Played(recordings, raw)
    finally:
        live.stop()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("backend", "source_kind"),
    [("local", None), ("s3", None), ("minio@s3rver", None), ("s3", "volume"), ("minio@s3rver", "bucket")],
    ids=["local", "s3", "minio@s3rver", "local-volume-to-s3", "another-bucket-to-minio@s3rver"],
)
async def test_a_vexa_bucket_is_imported_and_plays_back(
    settings: Settings, tmp_path: Path, source_kind: str | None
) -> None:
    services = await build_services(settings)
    source: Storage | None = None
    from_volume = source_kind is not None  # Vexa's objects elsewhere, copied into Lite's storage
    try:
        if source_kind == "volume":  # Vexa's local volume
            source = LocalStorage(tmp_path / "vexa-volume", fsync=False)
        if source_kind == "bucket":  # Vexa's own bucket on the same endpoint (--from-bucket)
            vexa_bucket = dataclasses.replace(settings.s3, bucket=f"vexa-{secrets.token_hex(4)}")
            source = await open_source(
                dataclasses.replace(settings, s3=dataclasses.replace(vexa_bucket, create_bucket=True))
            )
        await put_all(source or services.storage, vexa_objects())
        before = await contents(source or services.storage)
        summary = await run_import(services, source=source)
        assert (summary.imported, summary.failed, len(summary.unplayable), summary.assembled) == (
            5,
            0,
            1,
            3,
        ), summary.text()
        assert summary.skipped == {"objects under recordings/ outside any recording's prefix": 1}
        after = await contents(services.storage)
        # Vexa's objects are all there, unchanged (copied when they came from elsewhere), and what is
        # outside recordings/ too; Lite added only its manifests and the files it assembled.
        for key in vexa_keys(before) if from_volume else before:
            assert after[key] == before[key], key
        manifests = {f"recordings/{user}/{recording}/manifest.json" for user, recording in MANIFESTS}
        assert set(after) - set(before) == manifests | ASSEMBLED
        assert (await run_import(services, source=source)).imported == 0  # a second run: nothing new
    finally:
        await services.aclose()
        if source is not None:
            await source.aclose()

    a, b = play_back(settings, USER_A), play_back(settings, USER_B)
    assert set(a.recordings) == {SINGLE, MASTER} and set(b.recordings) == {WAV_CHUNKS, WEBM_CHUNKS, BROKEN}
    objects = vexa_objects()
    # Vexa's files play as they are: the bytes Vexa stored, the media pointing at its objects.
    assert a.raw[SINGLE, "audio"] == objects[f"recordings/{USER_A}/{SINGLE}/{S[1]}.wav"]
    assert a.raw[SINGLE, "video"] == VIDEO
    assert a.raw[MASTER, "audio"] == b"".join(AUDIO_CHUNKS)
    single = a.recordings[SINGLE]
    assert (single["session_uid"], single["status"], single["source"], single["meeting_id"]) == (
        S[1], "completed", "bot", None,
    )  # fmt: skip
    assert {m["storage_path"] for m in single["media_files"]} == {
        f"recordings/{USER_A}/{SINGLE}/{S[1]}.wav", f"recordings/{USER_A}/{SINGLE}/{S[1]}.webm",
    }  # fmt: skip
    assert datetime.fromisoformat(single["created_at"]) <= datetime.now(UTC)
    # Chunk-only sessions are assembled as Lite's finalizer does: the WAV's PCM in order, webm remuxed.
    with wave.open(io.BytesIO(b.raw[WAV_CHUNKS, "audio"])) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 48000)
        assert w.readframes(48000) == b"".join(chunk[44:] for chunk in WAVS)
    assert decoded_seconds(b.raw[WEBM_CHUNKS, "audio"], "audio") > 2.0
    assert decoded_seconds(b.raw[WEBM_CHUNKS, "video"], "video") > 2.0
    assert decoded_seconds(a.raw[SINGLE, "video"], "video") > 2.0
    assert b.recordings[WEBM_CHUNKS]["status"] == "completed"
    broken = b.recordings[BROKEN]
    assert broken["status"] == "failed" and "does not play" in broken["error_message"]


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_the_command_dry_run_changes_nothing_and_a_second_run_imports_nothing(
    settings: Settings, env: dict[str, str]
) -> None:
    services = await build_services(settings)
    await put_all(services.storage, vexa_objects())
    before = await contents(services.storage)
    await services.aclose()

    dry = run_cli(env, "import-vexa", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert (
        "would import 5" in dry.stdout and f"recordings/{USER_B}/{WAV_CHUNKS}/: import session" in dry.stdout
    )
    services = await build_services(settings)
    try:
        assert await contents(services.storage) == before
        assert services.index.get_recording_by_id(SINGLE) is None and services.index.get_user(USER_A) is None
    finally:
        await services.aclose()

    first = run_cli(env, "import-vexa")
    assert first.returncode == 0, first.stderr
    assert "imported 5" in first.stdout and "failed 0" in first.stdout
    second = run_cli(env, "import-vexa")
    assert second.returncode == 0, second.stderr
    assert "imported 0" in second.stdout and "skipped 5: already in Lite" in second.stdout


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local"])
async def test_users_exported_from_vexa_are_found_by_email_under_their_vexa_ids(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    services = await build_services(settings)
    await put_all(services.storage, vexa_objects())
    await services.auth.adopt_user(USER_B)  # Vexa's bot sent a chunk before the import: a placeholder
    await services.aclose()
    users = tmp_path / "users.csv"
    users.write_text(f"id,email,name\n{USER_A},Ada@Example.com,Ada\n{USER_B},bob@example.com,\n")

    done = run_cli(env, "import-vexa", "--users", str(users))
    assert done.returncode == 0, done.stderr
    assert "users from --users: 1 created, 1 named; 0 refused" in done.stdout
    services = await build_services(settings)
    try:
        ada = await services.auth.find_user_by_email("ada@example.com")
        bob = await services.auth.find_user_by_email("bob@example.com")
        assert ada and bob and (ada["id"], ada["name"], bob["id"]) == (USER_A, "Ada", USER_B)
        assert services.index.get_recording(USER_A, SINGLE) is not None
    finally:
        await services.aclose()


@pytest.mark.parametrize("backend", ["local"])
def test_a_users_file_that_is_not_id_email_rows_stops_the_import_naming_the_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text("id,email\n7,a@example.com\nseven,b@example.com\n")
    done = run_cli(env, "import-vexa", "--users", str(users))
    assert done.returncode != 0 and "line 3" in done.stderr + done.stdout


@pytest.mark.parametrize("backend", ["local"])
def test_another_bucket_needs_lite_on_object_storage(env: dict[str, str]) -> None:
    done = run_cli(env, "import-vexa", "--from-bucket", "vexa")
    assert done.returncode != 0 and "--from-bucket needs Lite on minio or s3" in done.stderr + done.stdout


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

        async def killed_before_the_manifest(recording: dict, media: list) -> None:
            if recording["id"] == WAV_CHUNKS:  # after its chunks were assembled
                raise Crash
            await save_manifest(recording, media)

        def killed_before_the_index(recording: dict, media: list) -> None:
            if recording["id"] == WEBM_CHUNKS:  # after its manifest
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
        assert media["storage_key"] == f"recordings/{USER_B}/{WAV_CHUNKS}/{S[3]}.wav"
        assert media["file_size_bytes"] == 44 + 3 * 32000
    finally:
        await services.aclose()


def vexa_keys(objects: dict[str, bytes]) -> set[str]:
    return {key for key in objects if key.startswith("recordings/") and key.count("/") > 1}


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_lite_never_deletes_vexas_objects_as_orphans_but_still_deletes_its_own(
    settings: Settings,
) -> None:
    services = await build_services(dataclasses.replace(settings, reconcile_grace_seconds=0))
    try:
        owner = await services.auth.create_user("owner@example.com", None)
        await upload(services, owner["id"], WAV)
        await services.auth.adopt_user(USER_B)  # Vexa's bot uploaded to Lite for this user already
        objects = vexa_objects()
        await put_all(services.storage, objects)
        killed = {f"recordings/{user}/{new_id()}/killed.wav" for user in (owner["id"], USER_B)}
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
