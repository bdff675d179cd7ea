"""Media formats: which are accepted, their content types, and recognising them by their bytes."""

from __future__ import annotations

from lite.errors import UnsupportedMedia

MEDIA_TYPES = ("audio", "video")

# format -> (content type as audio, content type as video)
FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("audio/wav", "audio/wav"),
    "webm": ("audio/webm", "video/webm"),
    "ogg": ("audio/ogg", "video/ogg"),
    "opus": ("audio/ogg", "audio/ogg"),
    "mp3": ("audio/mpeg", "audio/mpeg"),
    "m4a": ("audio/mp4", "audio/mp4"),
    "mp4": ("audio/mp4", "video/mp4"),
}

# Formats that share a container are recognised as that container.
_CONTAINER = {
    "wav": "wav",
    "webm": "webm",
    "ogg": "ogg",
    "opus": "ogg",
    "mp3": "mp3",
    "m4a": "mp4",
    "mp4": "mp4",
}
_NAMES = {"wav": "WAV", "webm": "WebM", "ogg": "Ogg", "mp3": "MP3", "mp4": "MP4"}
SNIFF_BYTES = 12
# Said in every refusal of a file, so the sender knows what to send instead.
SUPPORTED = "supported formats: wav, webm, ogg, opus, mp3, m4a, mp4 (WAV, WebM, Ogg, MP3, MP4/M4A)"


def content_type(fmt: str, media_type: str) -> str:
    audio, video = FORMATS[fmt]
    return video if media_type == "video" else audio


def format_from_filename(filename: str | None) -> str | None:
    if not filename or "." not in filename:
        return None
    ext = filename.rsplit(".", 1)[1].lower()
    return ext if ext in FORMATS else None


def sniff_container(head: bytes) -> str | None:
    """The container the first bytes of a file announce, or None when they announce none we know."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def check_content(fmt: str, head: bytes) -> None:
    """Refuse a file whose bytes are not the format it claims to be."""
    found = sniff_container(head)
    expected = _CONTAINER[fmt]
    if found is None:
        raise UnsupportedMedia(
            f"the file is not a recognised audio or video file (expected {_NAMES[expected]}); {SUPPORTED}"
        )
    if found != expected:
        raise UnsupportedMedia(
            f"the file content is {_NAMES[found]} but the format says {fmt}: "
            "send the right 'format' (or none: the file's bytes decide)"
        )
