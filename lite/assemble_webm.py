"""Joining MediaRecorder WebM chunks and remuxing them with PyAV, without re-encoding.

The chunks are concatenated (chunk 0 carries the EBML header and the Tracks, later chunks are
continuation Clusters) and the result is remuxed so that the master has a real Duration and a Cues
index; MediaRecorder writes neither.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import av
import av.error

from lite.assemble_base import BLOCK_SIZE, Assembled, AssemblyError, read_exact
from lite.probe import probe_duration

log = logging.getLogger("lite.assemble")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Codecs the webm muxer accepts; anything else (e.g. H.264 from "video/x-matroska;codecs=avc1")
# is written as Matroska instead.
_WEBM_CODECS = frozenset({"opus", "vorbis", "vp8", "vp9", "av1"})
# Matroska muxer options: put the Cues (seek index) before the Clusters so that a browser reading
# over HTTP finds it without a request to the end of the file. The muxer writes Cues for audio-only
# files too (one cue point per cluster), and Duration in the Info element, whenever its output is
# seekable, which a file path is.
_MUXER_OPTIONS = {"cues_to_front": "1"}


def _concatenate(chunks: Iterable[BinaryIO], dest: BinaryIO) -> int:
    """Copy the chunks into ``dest``; the recording must start with an EBML header."""
    total = 0
    for index, stream in enumerate(chunks):
        if total == 0:
            head = read_exact(stream, len(_EBML_MAGIC))
            if head and head != _EBML_MAGIC:
                raise AssemblyError(
                    f"chunk {index} is not a WebM file (it does not start with the EBML header "
                    "that the first MediaRecorder chunk carries)"
                )
            dest.write(head)
            total += len(head)
        while block := stream.read(BLOCK_SIZE):
            dest.write(block)
            total += len(block)
    return total


def assemble_webm(chunks: Iterable[BinaryIO], out_path: Path, workdir: Path) -> Assembled:
    """Join MediaRecorder WebM chunks and remux them (no re-encoding) into ``out_path``.

    The chunks are concatenated into a temporary file in ``workdir``, demuxed with PyAV, and every
    audio and video packet is written to a new WebM (Matroska if a codec is not WebM's) with a real
    Duration and Cues. The temporary file is always removed, and ``out_path`` too on failure.
    """
    out_path = Path(out_path)
    fd, tmp_name = tempfile.mkstemp(prefix="assemble-", suffix=".webm", dir=workdir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as dest:
            total = _concatenate(chunks, dest)
        if total == 0:
            raise AssemblyError("there is no recorded data to assemble: every chunk is empty")
        try:
            _remux(tmp, out_path)
        except BaseException:
            with contextlib.suppress(OSError):
                out_path.unlink()
            raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return Assembled(duration_seconds=probe_duration(out_path), size=out_path.stat().st_size)


def _remux(src: Path, out_path: Path) -> None:
    try:
        inp = av.open(str(src), format="matroska", metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AssemblyError(f"the recording cannot be read as WebM ({_reason(exc)})") from exc
    with inp:
        sources = [s for s in inp.streams if s.type in ("audio", "video") and s.codec_context is not None]
        if not sources:
            raise AssemblyError("the recording contains no audio or video track")
        codecs = {s.codec_context.name for s in sources}
        fmt = "webm" if codecs <= _WEBM_CODECS else "matroska"
        with av.open(str(out_path), "w", format=fmt, container_options=dict(_MUXER_OPTIONS)) as out:
            targets = {s.index: out.add_stream_from_template(s) for s in sources}
            last_dts: dict[int, int] = {}
            written = 0
            try:
                for packet in inp.demux(sources):
                    if packet.dts is None:
                        continue  # the flush packet at the end, or a block without a timestamp
                    index = packet.stream.index
                    previous = last_dts.get(index)
                    if previous is not None and packet.dts < previous:
                        # Muxers reject timestamps that go backwards; hold them at the last one.
                        shift = previous - packet.dts
                        packet.dts = previous
                        packet.pts = packet.pts + shift if packet.pts is not None else previous
                    if packet.pts is None:
                        packet.pts = packet.dts
                    last_dts[index] = packet.dts
                    packet.stream = targets[index]
                    out.mux(packet)
                    written += 1
            except av.error.FFmpegError as exc:
                # A damaged tail (a lost chunk, a cut upload): keep what was readable before it.
                if written == 0:
                    raise AssemblyError(f"the recording cannot be read as WebM ({_reason(exc)})") from exc
                log.warning("stopped reading a damaged recording after %d packets: %s", written, exc)
            if written == 0:
                raise AssemblyError("the recording contains no audio or video data")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".").lower() or type(exc).__name__
