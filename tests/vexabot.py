"""A client that uploads as Vexa's meeting bot does (v0.10.7 `recording.ts`, and its newest version),
built from the interop reference, not from Lite's code:

- the MeetingToken minted as Vexa's meeting-api mints it: compact JSON, base64url without padding,
  HMAC-SHA256 with ADMIN_TOKEN (by hand, not with a JWT library, so a library's leniency on either
  side cannot hide a mismatch);
- multipart parts in the bot's order and with its part content types: `metadata`
  (application/json), `chunk_seq`, `is_final`, then `file` (`recording.<seq>.<fmt>`, `audio/<fmt>`),
  with the bot's boundary strings; a one-shot upload (the video at the end) has no chunk_seq/is_final;
- the bot's retries: 3 attempts per chunk (500 ms * 2^n), 4 for a one-shot file (1 s * 2^n).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

UPLOAD = "/internal/recordings/upload"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_meeting_token(secret: str, user_id: int, meeting_id: int, platform: str = "google_meet",
                       native_meeting_id: str = "abc-defg-hij", ttl: int = 7200,
                       header: dict[str, str] | None = None, **overrides: Any) -> str:  # fmt: skip
    now = int(time.time())
    claims = {
        "meeting_id": meeting_id,
        "user_id": user_id,
        "platform": platform,
        "native_meeting_id": native_meeting_id,
        "scope": "transcribe:write",
        "iss": "meeting-api",
        "aud": "transcription-collector",
        "iat": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    } | overrides
    header = header or {"alg": "HS256", "typ": "JWT"}
    parts = [_b64(json.dumps(item, separators=(",", ":")).encode()) for item in (header, claims)]
    signing_input = ".".join(parts)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _part(boundary: str, name: str, value: bytes, filename: str | None = None,
          content_type: str | None = None) -> bytes:  # fmt: skip
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + value + b"\r\n"


@dataclass
class VexaBot:
    client: httpx.Client  # base_url = Lite; no auth headers of its own
    token: str  # the MeetingToken (or INTERNAL_API_SECRET)
    meeting_id: int
    session_uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent: list[httpx.Response] = field(default_factory=list)

    def chunk(self, data: bytes, seq: int, final: bool, fmt: str = "wav", **metadata: Any) -> httpx.Response:
        meta = {"meeting_id": self.meeting_id, "session_uid": self.session_uid, "format": fmt,
                "sample_rate": 16000, "channels": 1, "file_size_bytes": len(data), "chunk_seq": seq,
                "is_final": final} | metadata  # fmt: skip
        boundary = f"----VexaRecordingChunk{int(time.time() * 1000)}{seq}"
        body = (
            _part(boundary, "metadata", json.dumps(meta).encode(), content_type="application/json")
            + _part(boundary, "chunk_seq", str(seq).encode())
            + _part(boundary, "is_final", b"true" if final else b"false")
            + _part(boundary, "file", data, f"recording.{seq}.{fmt}", f"audio/{fmt}")
            + f"--{boundary}--\r\n".encode()
        )
        return self._send(body, boundary, attempts=3, delay=0.5)

    def one_shot_video(self, data: bytes, fmt: str = "webm") -> httpx.Response:
        meta = {"meeting_id": self.meeting_id, "session_uid": self.session_uid, "media_type": "video",
                "format": fmt, "duration_seconds": 3.0, "file_size_bytes": len(data),
                "start_time_utc": "2026-12-04T01:00:00Z"}  # fmt: skip
        boundary = f"----VexaVideoRecording{int(time.time() * 1000)}"
        body = (
            _part(boundary, "metadata", json.dumps(meta).encode(), content_type="application/json")
            + _part(boundary, "file", data, f"video.{fmt}", f"video/{fmt}")
            + f"--{boundary}--\r\n".encode()
        )
        return self._send(body, boundary, attempts=4, delay=1.0)

    def _send(self, body: bytes, boundary: str, attempts: int, delay: float) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        for attempt in range(attempts):
            answer = self.client.post(UPLOAD, content=body, headers=headers, timeout=30)
            if answer.is_success or attempt == attempts - 1:
                break
            time.sleep(delay * 2**attempt)
        self.sent.append(answer)
        return answer
