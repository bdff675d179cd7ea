"""Joining MediaRecorder WebM chunks and remuxing them with PyAV, without re-encoding.

The chunks are concatenated (chunk 0 carries the EBML header and the Tracks, later chunks are
continuation Clusters) and the result is remuxed so that the master has a real Duration and a Cues
index; MediaRecorder writes neither. A later chunk that is a complete WebM file of its own (a
restarted recorder) starts a new segment, joined after the previous one.
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

from lite.media.assemble_base import BLOCK_SIZE, Assembled, AssemblyError, read_exact
from lite.media.opening import OPTIONS
from lite.media.probe import probe_duration

log = logging.getLogger("lite.media.assemble")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Codecs the webm muxer accepts; anything else (e.g. H.264 from "video/x-matroska;codecs=avc1")
# is written as Matroska instead.
_WEBM_CODECS = frozenset({"opus", "vorbis", "vp8", "vp9", "av1"})
# Matroska muxer options: put the Cues (seek index) before the Clusters so that a browser reading
# over HTTP finds it without a request to the end of the file. The muxer writes Cues for audio-only
# files too (one cue point per cluster), and Duration in the Info element, whenever its output is
# seekable, which a file path is.
# bitexact: no muxer version string or random segment UID, so the same chunks always make the same
# bytes (two replicas finalizing one session at once store identical masters, one sha256).
_MUXER_OPTIONS = {"cues_to_front": "1", "fflags": "+bitexact"}


def _split(chunks: Iterable[BinaryIO], workdir: Path) -> list[Path]:
    """Write the chunks into one file per WebM segment. A chunk that starts with an EBML header
    starts a new segment: chunk 0 always; a later one when the bot restarted its recorder, or a
    client sent several complete files into one session. Empty chunks are skipped."""
    segments: list[Path] = []
    dest: BinaryIO | None = None
    try:
        for index, stream in enumerate(chunks):
            head = read_exact(stream, len(_EBML_MAGIC))
            if not head:
                continue
            if head == _EBML_MAGIC:
                if dest is not None:
                    dest.close()
                fd, name = tempfile.mkstemp(prefix="segment-", suffix=".webm", dir=workdir)
                segments.append(Path(name))
                dest = os.fdopen(fd, "wb")
            elif dest is None:
                raise AssemblyError(
                    f"chunk {index} is not a WebM file (it does not start with the EBML header "
                    "that the first MediaRecorder chunk carries)"
                )
            dest.write(head)
            while block := stream.read(BLOCK_SIZE):
                dest.write(block)
    except BaseException:
        for path in segments:
            path.unlink(missing_ok=True)
        raise
    finally:
        if dest is not None:
            dest.close()
    return segments


def assemble_webm(chunks: Iterable[BinaryIO], out_path: Path, workdir: Path) -> Assembled:
    """Join MediaRecorder WebM chunks and remux them (no re-encoding) into ``out_path``.

    The chunks are written into one temporary file per segment in ``workdir``, demuxed with PyAV,
    and every audio and video packet is written to a new WebM (Matroska if a codec is not WebM's)
    with a real Duration and Cues; later segments continue where the one before ended, so the
    master's duration is their sum. Temporary files are always removed, and ``out_path`` too on
    failure.
    """
    out_path = Path(out_path)
    segments = _split(chunks, workdir)
    try:
        if not segments:
            raise AssemblyError("there is no recorded data to assemble: every chunk is empty")
        try:
            _remux(segments, out_path)
        except BaseException:
            with contextlib.suppress(OSError):
                out_path.unlink()
            raise
    finally:
        for path in segments:
            with contextlib.suppress(OSError):
                path.unlink()
    return Assembled(duration_seconds=probe_duration(out_path), size=out_path.stat().st_size)


def _open(src: Path) -> av.container.InputContainer:
    try:
        # Matroska named, never probed; the same protocol and reference limits as every upload.
        return av.open(str(src), format="matroska", options=dict(OPTIONS), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AssemblyError(f"the recording cannot be read as WebM ({_reason(exc)})") from exc


def _tracks(inp: av.container.InputContainer) -> list[av.stream.Stream]:
    sources = [s for s in inp.streams if s.type in ("audio", "video") and s.codec_context is not None]
    if not sources:
        raise AssemblyError("the recording contains no audio or video track")
    return sources


def _remux(segments: list[Path], out_path: Path) -> None:
    with _open(segments[0]) as first:
        sources = _tracks(first)
        kinds = [(s.type, s.codec_context.name) for s in sources]
        fmt = "webm" if {name for _, name in kinds} <= _WEBM_CODECS else "matroska"
        with av.open(str(out_path), "w", format=fmt, container_options=dict(_MUXER_OPTIONS)) as out:
            targets = [out.add_stream_from_template(s) for s in sources]
            writer = _Writer(out, targets)
            writer.copy(first, sources, segment=0)
            for number, path in enumerate(segments[1:], start=1):
                with _open(path) as inp:
                    later = _tracks(inp)
                    if [(s.type, s.codec_context.name) for s in later] != kinds:
                        raise AssemblyError(f"segment {number + 1} has other tracks than the first")
                    writer.copy(inp, later, segment=number)
            if writer.written == 0:
                raise AssemblyError("the recording contains no audio or video data")


class _Writer:
    """Muxes the packets of successive segments into one output, each segment shifted to start where
    the one before ended (timestamps in seconds, converted per stream)."""

    def __init__(self, out: av.container.OutputContainer, targets: list[av.stream.Stream]) -> None:
        self.out, self.targets = out, targets
        self.offset = 0.0  # seconds: where the current segment starts in the output
        self.end = 0.0  # seconds: the latest packet end written so far
        self.last_dts: dict[int, int] = {}
        self.written = 0

    def copy(self, inp: av.container.InputContainer, sources: list[av.stream.Stream], segment: int) -> None:
        # The per-packet loop is most of a finalize's CPU (a 10 s chunk holds ~500 Opus packets), and
        # it holds the GIL the event loop needs: what is per stream is looked up once, not per packet.
        # (No packet.time_base per packet: each read makes a Fraction. A packet's is its stream's.)
        streams = {
            s.index: (n, self.targets[n], float(s.time_base)) for n, s in enumerate(sources) if s.time_base
        }
        shifts: dict[int, int] = {}
        start: float | None = None
        self.offset = self.end
        written_before = self.written
        last_dts, mux = self.last_dts, self.out.mux_one
        try:
            for packet in inp.demux(sources):
                dts = packet.dts
                stream = streams.get(packet.stream_index)
                if dts is None or stream is None:
                    continue  # the flush packet at the end, a block without a timestamp or time base
                index, target, base = stream
                if start is None:
                    start = dts * base
                shift = shifts.get(index)
                if shift is None:
                    shift = shifts[index] = round((self.offset - start) / base)
                pts = packet.pts
                dts += shift
                pts = pts + shift if pts is not None else dts
                previous = last_dts.get(index)
                if previous is not None and dts < previous:
                    # Muxers reject timestamps that go backwards; hold them at the last one.
                    pts, dts = pts + (previous - dts), previous
                packet.dts, packet.pts = dts, pts
                last_dts[index] = dts
                end = (pts + (packet.duration or 0)) * base
                if end > self.end:
                    self.end = end
                packet.stream = target
                mux(packet)
                self.written += 1
        except av.error.FFmpegError as exc:
            # A damaged tail (a lost chunk, a cut upload): keep what was readable before it.
            if self.written == written_before:
                raise AssemblyError(f"segment {segment + 1} cannot be read as WebM ({_reason(exc)})") from exc
            log.warning("stopped reading a damaged segment after %d packets: %s", self.written, exc)


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".").lower() or type(exc).__name__
