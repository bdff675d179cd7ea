"""What a media container states in its headers (duration, sample rate), read with PyAV."""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import av

from lite.media.opening import open_media


def media_type_of(container: av.container.InputContainer) -> str | None:
    """`video` when the file has a video stream that is not a cover picture (MP3 and M4A files carry
    album art as a one-frame "video" stream), `audio` when it has audio only, else None."""
    kinds = [(s.type, bool(s.disposition & av.stream.Disposition.attached_pic)) for s in container.streams]
    if ("video", False) in kinds:
        return "video"
    return "audio" if any(kind == "audio" for kind, _ in kinds) else None


def duration_of(container: av.container.InputContainer) -> float | None:
    """The duration the container states, else its longest stream's."""
    if container.duration is not None and container.duration >= 0:
        seconds = container.duration / av.time_base
    else:
        durations = [
            float(s.duration * s.time_base)
            for s in container.streams
            if s.duration is not None and s.time_base is not None and s.duration >= 0
        ]
        if not durations:
            return None
        seconds = max(durations)
    return seconds if math.isfinite(seconds) else None


def probe_duration(path: Path | BinaryIO) -> float | None:
    """The duration in seconds that the container states, or None if unknown or unreadable.

    Accepts a path or a readable stream (a stream need not seek: only the headers are read)."""
    try:
        with open_media(path) as container:  # only Lite's demuxers, chosen by the file's bytes
            return duration_of(container)
    except Exception:  # garbage, a missing file, an unknown format: the duration is unknown
        return None


def probe_sample_rate(path: Path | BinaryIO) -> int | None:
    """The first audio stream's sample rate in Hz, or None (no audio, unreadable)."""
    try:
        with open_media(path) as container:
            for stream in container.streams.audio:
                rate = stream.codec_context.sample_rate
                return int(rate) if rate and rate > 0 else None
    except Exception:  # as above: unknown is an answer, not an error
        return None
    return None
