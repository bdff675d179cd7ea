"""What a bot's chunk upload says about itself: Vexa's form fields, defaults and precedence.

Vexa's bot (v0.10.7, and its newest version where that costs nothing) sends a multipart form of
`metadata` (JSON), then flat `chunk_seq` and `is_final` parts, then the `file`. Rules, as Vexa's
meeting-api applies them:

- the JSON `metadata` wins over a flat field of the same name (v0.10.7); `media_format` is accepted
  for `format` (newer Vexa);
- `media_type` defaults to audio, `format` to wav;
- `chunk_seq` defaults to 0 and `is_final` to true: a one-shot upload (the video file at the end of
  a meeting, a whole audio file) is chunk 0 and final;
- booleans are 1/true/yes/on or 0/false/no/off, in any case;
- `title` (Lite's, optional): the recording's title, taken from the session's first chunk (later
  chunks' titles are ignored; rename with PATCH /recordings/{id}); control characters are removed
  and it is cut to 200 characters rather than refused, so a chunk is never lost over its title.

Where Lite is stricter than v0.10.7, it is to lose nothing: v0.10.7 ignores an unparsable
`chunk_seq` in metadata (the chunk then counts as chunk 0 and would replace it); here such a value
falls back to the flat field, and without one is refused (422). `chunk_seq` is ASCII digits within
0..RECORDING_MAX_CHUNKS, so no input can make a session's bookkeeping large.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lite.catalog.keys import check_session_uid
from lite.errors import BadInput
from lite.media import formats as media
from lite.recordings.shapes import check_meeting_id
from lite.recordings.titles import clean_title

FIELDS = ("session_uid", "media_type", "format", "media_format", "chunk_seq", "is_final",
          "duration_seconds", "sample_rate", "meeting_id", "user_id", "title")  # fmt: skip
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadInput(f"{name} must be true or false (1/true/yes/on, 0/false/no/off)")


def parse_seq(value: Any, most: int) -> int | None:
    """The chunk number, or None when it is not one (not ASCII digits, or out of range)."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not text or len(text) > 12 or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= most else None


def parse_number(value: Any, name: str, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a number") from None
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low:g} and {high:g}")
    return number


def _metadata(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        decoded = json.loads(raw)
    except ValueError:
        raise BadInput("metadata must be a JSON object") from None
    if not isinstance(decoded, dict):
        raise BadInput("metadata must be a JSON object")
    return decoded


@dataclass(frozen=True)
class ChunkMeta:
    session_uid: str
    media_type: str
    format: str
    chunk_seq: int
    is_final: bool
    meeting_id: str | None
    user_id: int | None  # named by the upload itself: only with INTERNAL_API_SECRET
    title: str | None = None  # the recording's, if this chunk starts it

    @classmethod
    def parse(cls, fields: dict[str, str], max_chunks: int) -> ChunkMeta:
        metadata = _metadata(fields.get("metadata"))
        flat = {k: v for k, v in fields.items() if k != "metadata"}
        values = flat | metadata  # the JSON metadata wins (Vexa v0.10.7)
        session_uid = values.get("session_uid")
        if session_uid in (None, ""):
            raise BadInput("session_uid is required (in metadata, or as a form field)")
        media_type = str(values.get("media_type") or "audio").lower()
        if media_type not in media.MEDIA_TYPES:
            raise BadInput(f"media_type must be one of {', '.join(media.MEDIA_TYPES)}")
        fmt = str(values.get("format") or values.get("media_format") or "wav").lower()
        if fmt not in media.FORMATS:
            raise BadInput(f"unknown format {fmt[:20]!r}; use one of {', '.join(media.FORMATS)}")
        parse_number(values.get("duration_seconds"), "duration_seconds", 0, 1e7)  # the media decides
        parse_number(values.get("sample_rate"), "sample_rate", 1, 1e6)
        meeting_id = values.get("meeting_id")
        return cls(
            session_uid=check_session_uid(str(session_uid)),
            media_type=media_type,
            format=fmt,
            chunk_seq=cls._seq(metadata, flat, max_chunks),
            is_final=parse_bool(values.get("is_final", True), "is_final"),
            meeting_id=check_meeting_id(None if meeting_id is None else str(meeting_id)),
            user_id=cls._user_id(values.get("user_id")),
            title=clean_title(values.get("title")),
        )

    @staticmethod
    def _seq(metadata: dict[str, Any], flat: dict[str, str], most: int) -> int:
        for source in (metadata, flat):
            if source.get("chunk_seq") not in (None, ""):
                seq = parse_seq(source["chunk_seq"], most)
                if seq is not None:
                    return seq
        if any(source.get("chunk_seq") not in (None, "") for source in (metadata, flat)):
            raise BadInput(
                f"chunk_seq must be a whole number from 0 to {most} in ASCII digits (RECORDING_MAX_CHUNKS)"
            )
        return 0

    @staticmethod
    def _user_id(value: Any) -> int | None:
        seq = parse_seq(value, 2**63 - 1) if value not in (None, "") else None
        if value not in (None, "") and not seq:
            raise BadInput("user_id must be a positive whole number")
        return seq
