"""The page benchmark's data: the signed-in user's recordings, small real WAV files (8 kHz mono, 1 s
to 5 min, talk-like bursts and pauses; a third renamed, a few with a meeting id) uploaded through
`POST /recordings` as a client uploads them; and the page's own page size."""

from __future__ import annotations

import io
import json
import math
import re
import sys
import time
import uuid
import wave
from pathlib import Path
from typing import Any

from harness import http_json
from servers import LiteServer

RATE = 8000  # Hz, mono, 16 bit: 16 KB a second
# Seconds of audio, cycled over the recordings: mostly short, some long enough for a real overview.
DURATIONS = (1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300)


def talk_wav(seconds: int, seed: int) -> bytes:
    """A WAV of `seconds` with talk-like bursts and pauses (so its level overview has a shape),
    made from a few precomputed one-second blocks so 200 files take no time to build."""
    blocks = _blocks()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(blocks[(seed * 7 + i * i + i // 3) % len(blocks)] for i in range(seconds)))
    return out.getvalue()


_BLOCKS: list[bytes] = []


def _blocks() -> list[bytes]:
    if not _BLOCKS:
        import array

        for level, pitch in ((0.0, 0), (0.05, 180), (0.3, 220), (0.6, 140), (0.9, 260), (0.45, 300)):
            samples = array.array("h")
            for n in range(RATE):
                t = n / RATE
                envelope = level * (0.6 + 0.4 * abs(math.sin(2 * math.pi * 1.7 * t)))
                samples.append(int(envelope * 30000 * math.sin(2 * math.pi * pitch * t)))
            if sys.byteorder != "little":
                samples.byteswap()
            _BLOCKS.append(samples.tobytes())
    return _BLOCKS


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def fill(server: LiteServer, key: str, count: int) -> dict[str, Any]:
    """`count` recordings for the key's user, uploaded through POST /recordings like a client's."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    started = time.monotonic()
    total_bytes = 0
    seconds = 0
    try:
        for i in range(count):
            duration = DURATIONS[i % len(DURATIONS)]
            data = talk_wav(duration, i)
            fields = {"session_uid": f"bench-page-{i:04d}"}
            if i % 10 == 0:
                fields["meeting_id"] = f"standup-{i // 10:02d}"
            body, content_type = multipart(fields, f"meeting-{i:04d}.wav", data)
            conn.request("POST", "/recordings", body, {"X-API-Key": key, "Content-Type": content_type})
            answer = conn.getresponse()
            raw = answer.read()
            if answer.status != 201:
                raise RuntimeError(f"POST /recordings answered {answer.status}: {raw[:300]!r}")
            if i % 3 == 0:  # a third renamed, as people do
                rid = json.loads(raw)["id"]
                title = json.dumps({"title": f"Weekly sync #{i}: roadmap, hiring and the Q3 budget"})
                conn.request(
                    "PATCH",
                    f"/recordings/{rid}",
                    title.encode(),
                    {"X-API-Key": key, "Content-Type": "application/json"},
                )
                renamed = conn.getresponse()
                renamed.read()
                if renamed.status != 200:
                    raise RuntimeError(f"PATCH /recordings/{rid} answered {renamed.status}")
            total_bytes += len(data)
            seconds += duration
    finally:
        conn.close()
    status, page = http_json("GET", f"{server.url}/recordings?limit=1", {"X-API-Key": key})
    total = page.get("total") if isinstance(page, dict) else None
    if status != 200 or total != count:
        raise RuntimeError(f"GET /recordings answered {status}, total {total}, not {count}")
    return {
        "recordings": count,
        "audio_seconds": seconds,
        "wav_bytes": total_bytes,
        "upload_s": round(time.monotonic() - started, 1),
    }


def page_size(repo: Path) -> int:
    """The page's own PAGE_SIZE (static/app.js), so the script waits for as many rows as it shows."""
    text = (repo / "static" / "app.js").read_text()
    found = re.search(r"const PAGE_SIZE = (\d+);", text)
    return int(found.group(1)) if found else 20
