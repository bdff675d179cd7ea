"""The rebuild benchmark's recordings, written straight into the bucket with boto3 from a thread
pool and laid out by Lite's own code (lite.catalog.keys.media_key, lite.catalog.layout.manifest_bytes):
per recording one small WAV object, then its manifest (Lite's write order), round-robin over users."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any

from harness import log
from rebuild_s3 import BUCKET

WRITE_THREADS = 16
MEDIA_BYTES = 4096  # each recording's media object: a WAV header and silence


def _lite_modules(repo: Path) -> tuple[Any, Any, Any, Any]:
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from lite.catalog import keys, layout, records
    from lite.ids import new_id

    return keys, layout, records, new_id


def wav_bytes(size: int) -> bytes:
    """A 16 kHz mono 16-bit WAV of silence, `size` bytes in all."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data)
    return header + bytes(data)


def write_recordings(client: Any, repo: Path, users: list[int], count: int) -> dict[int, int]:
    """`count` recordings (media object, then manifest) round-robin over `users`; per user count."""
    keys, layout, records, new_id = _lite_modules(repo)
    body = wav_bytes(MEDIA_BYTES)
    digest = hashlib.sha256(body).hexdigest()
    base = time.time() - count  # a second apart, the newest a second ago
    per_user: dict[int, int] = dict.fromkeys(users, 0)

    def one(i: int) -> None:
        user_id = users[i % len(users)]
        recording_id, media_id = new_id(), new_id()
        session_uid = f"rebuild-{i:06d}"
        key = keys.media_key(user_id, recording_id, session_uid, "audio", "wav")
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i)) + ".000000+00:00"
        recording = records.Recording(
            id=recording_id,
            user_id=user_id,
            session_uid=session_uid,
            source="upload",
            status="completed",
            created_at=at,
            completed_at=at,
            updated_at=at,
            title=f"Rebuild bench {i}",
        )
        media = records.MediaFile(
            id=media_id,
            recording_id=recording_id,
            type="audio",
            format="wav",
            content_type="audio/wav",
            storage_backend="s3",
            storage_key=key,
            file_size_bytes=len(body),
            duration_seconds=(len(body) - 44) / 32000,
            sha256=digest,
            created_at=at,
            updated_at=at,
            extra=json.dumps({"sample_rate": 16000}),
        )
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        manifest = layout.manifest_bytes(recording, [media])
        client.put_object(Bucket=BUCKET, Key=layout.manifest_key(user_id, recording_id), Body=manifest)

    for i in range(count):
        per_user[users[i % len(users)]] += 1
    done = 0
    with concurrent.futures.ThreadPoolExecutor(WRITE_THREADS) as pool:
        for future in concurrent.futures.as_completed(pool.submit(one, i) for i in range(count)):
            future.result()
            done += 1
            if done % 2000 == 0:
                log(f"rebuild: {done:,} of {count:,} recordings written")
    return per_user
