"""Opening an uploaded file with FFmpeg (PyAV) by rule: only the demuxers of the formats Lite
supports, chosen from the file's own first bytes, never by FFmpeg's probing.

Left to probe, FFmpeg tries every demuxer it has, and some follow references out of the file: an
SDP description opens UDP sockets, HLS and DASH playlists fetch URLs, concat and ffconcat scripts and
image2 patterns read other files. Here the first bytes must announce one of Lite's containers (WAV,
WebM/Matroska, Ogg, MP3, MP4) and exactly that demuxer opens it; the only protocol allowed for a
path is `file`, and MP4's external data references stay off. Anything else is a 415 that lists
what is supported.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

import av

from lite.errors import UnsupportedMedia
from lite.media import formats as media

DEMUXERS = {"wav": "wav", "webm": "matroska", "ogg": "ogg", "mp3": "mp3", "mp4": "mp4"}
SUPPORTED = "WAV, WebM (Matroska), Ogg (Opus, Vorbis), MP3 and MP4 (M4A)"
OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0", "use_absolute_path": "0"}


class _Replayed(io.RawIOBase):
    """A stream whose first bytes were already read to sniff it: they are given back first, so a
    stream that cannot seek (an S3 body) can still be opened."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def container_of(head: bytes) -> str:
    found = media.sniff_container(head)
    if found is None:
        raise UnsupportedMedia(f"the file is not a recognised audio or video file; supported: {SUPPORTED}")
    return found


def open_media(source: Path | BinaryIO) -> av.container.InputContainer:
    """The file opened with the one demuxer its first bytes announce. Raises UnsupportedMedia for
    a file that announces none of Lite's formats, av.FFmpegError for one that then does not parse."""
    if isinstance(source, Path):
        with open(source, "rb") as f:
            head = f.read(media.SNIFF_BYTES)
        target: str | BinaryIO = str(source)
    elif source.seekable():
        head = source.read(media.SNIFF_BYTES)
        source.seek(0)
        target = source
    else:
        head = source.read(media.SNIFF_BYTES)
        target = io.BufferedReader(_Replayed(head, source), buffer_size=256 * 1024)  # type: ignore[arg-type]
    demuxer = DEMUXERS[container_of(head)]
    return av.open(target, mode="r", format=demuxer, options=dict(OPTIONS), metadata_errors="ignore")
