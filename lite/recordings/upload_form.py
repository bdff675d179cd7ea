"""What a whole-file upload's form says before its file: the fields that decide where it is stored,
and the format, from the field, else the file name, else the file's first bytes.

`media_type` here is only the client's guess, used to name the stored object: the file's streams
decide the recorded type once it is stored (lite.recordings.uploaded.final_kind)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from lite.catalog.keys import check_session_uid
from lite.errors import BadInput, UnsupportedMedia
from lite.ids import new_id
from lite.media import formats as media

AUDIO_ONLY = ("wav", "mp3", "m4a", "opus")


@dataclass(frozen=True)
class UploadPlan:
    """What the form fields sent before the file decide: everything the storage key needs."""

    session_uid: str
    media_type: str
    format: str
    sniffed: bool = False  # the format came from the file's bytes (no field, no known extension)

    @classmethod
    def from_fields(cls, fields: dict[str, str], filename: str | None, head: bytes) -> UploadPlan:
        media_type = (fields.get("media_type") or "audio").strip().lower()
        if media_type not in media.MEDIA_TYPES:
            raise BadInput(f"media_type must be one of {', '.join(media.MEDIA_TYPES)}")
        fmt = _resolve_format(fields.get("format"), filename, head, media_type)
        if fmt in AUDIO_ONLY:  # the file decides the type; these formats hold no video
            media_type = "audio"
        session_uid = fields.get("session_uid") or new_session_uid()
        sniffed = not fields.get("format") and media.format_from_filename(filename) is None
        return cls(check_session_uid(session_uid), media_type, fmt, sniffed)

    def conflicts_with(self, name: str, value: str) -> bool:
        """A key-deciding field sent after the file, saying something else than was used.
        (`media_type` decides nothing any more: the file's streams do.)"""
        used = {"session_uid": self.session_uid, "format": self.format}
        return name in used and value.strip().lower() != used[name].lower()


def new_session_uid() -> str:
    return f"upload-{new_id():x}"


def _resolve_format(declared: str | None, filename: str | None, head: bytes, media_type: str) -> str:
    if declared:
        fmt = declared.strip().lower().lstrip(".")
        if fmt not in media.FORMATS:
            raise BadInput(f"unknown format {declared[:20]!r}; use one of {', '.join(media.FORMATS)}")
        return fmt
    fmt = media.format_from_filename(filename)
    if fmt:
        return fmt
    container = media.sniff_container(head)
    if container == "mp4":
        return "mp4" if media_type == "video" else "m4a"
    if container:
        return container
    ext = filename.rsplit(".", 1)[1][:16] if filename and "." in filename else ""
    ext = "".join(c for c in ext if c.isprintable())
    if ext:
        raise UnsupportedMedia(f".{ext} files are not supported; {media.SUPPORTED}")
    raise UnsupportedMedia(
        f"could not tell the format (no known file extension, unknown bytes); {media.SUPPORTED}"
    )


async def peek(chunks: AsyncIterator[bytes], want: int) -> tuple[bytes, AsyncIterator[bytes]]:
    """Read at least `want` bytes (or all there is) and give back a stream that still starts at 0."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= want:
            break

    async def rest() -> AsyncIterator[bytes]:
        if head:
            yield head
        async for chunk in chunks:
            yield chunk

    return head, rest()


def duration_field(fields: dict[str, str]) -> float | None:
    raw = fields.get("duration_seconds")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadInput("duration_seconds must be a number") from None
    if not 0 <= value < 1e7:
        raise BadInput("duration_seconds must be between 0 and 10,000,000")
    return value
