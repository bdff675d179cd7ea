"""Helpers for the `python -m lite import-vexa` tests: a Vexa bucket in both of Vexa's key layouts, with
real MediaRecorder audio and video, WAV chunks, a file that does not play and objects outside
`recordings/`; what the import adds to it; and ways to store, list and import it."""

from __future__ import annotations

import io

from lite.ops.import_vexa import VexaImport
from lite.ops.import_vexa_report import ImportSummary
from lite.services import Services
from lite.storage import Storage
from tests.mediakit import record_chunks, wav_bytes

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


def vexa_keys(objects: dict[str, bytes]) -> set[str]:
    return {key for key in objects if key.startswith("recordings/") and key.count("/") > 1}
