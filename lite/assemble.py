"""Assembling uploaded recording chunks into one playable master file.

Meeting bots record with MediaRecorder (WebM) or write PCM (WAV) and upload a chunk every few seconds.
When the meeting ends, the chunks are joined here:

* WAV: the PCM of every chunk is copied, in order, behind a single header with correct sizes.
  Chunk 0 must be a WAV file; later chunks may be WAV files of the same format or raw PCM that
  continues chunk 0's format.
* WebM: the chunks are concatenated (chunk 0 carries the EBML header and the Tracks, later chunks
  are continuation Clusters) and the result is remuxed with PyAV, without re-encoding, so that the
  master has a real Duration and a Cues index; MediaRecorder writes neither.

Everything is synchronous (the server calls it from a worker thread) and streams in blocks of at
most 1 MiB, so memory use does not grow with the size of a recording. Chunks are only read with
``.read(n)``; they are never seeked, so botocore StreamingBody objects work as well as files.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.error

__all__ = ["Assembled", "AssemblyError", "assemble_wav", "assemble_webm", "probe_duration"]

log = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 20  # the most bytes held from a chunk at once

_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class Assembled:
    duration_seconds: float | None
    size: int  # bytes written to out


class AssemblyError(Exception):
    """The chunks cannot be assembled; the message is a sentence meant for API users."""


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of stream (``read`` may return short reads)."""
    first = stream.read(n)
    if not first or len(first) >= n:
        return bytes(first or b"")
    parts = [first]
    got = len(first)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _skip(stream: BinaryIO, n: int) -> bool:
    """Read and discard ``n`` bytes in blocks; False if the stream ended first."""
    while n > 0:
        got = stream.read(min(n, BLOCK_SIZE))
        if not got:
            return False
        n -= len(got)
    return True


# --------------------------------------------------------------------------------------------------- WAV

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_ALAW = 0x0006
_WAVE_FORMAT_MULAW = 0x0007
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {
    _WAVE_FORMAT_PCM: "PCM",
    _WAVE_FORMAT_IEEE_FLOAT: "float",
    _WAVE_FORMAT_ALAW: "A-law",
    _WAVE_FORMAT_MULAW: "mu-law",
}
# The fixed-size sample formats whose data can be joined byte for byte.
_SUPPORTED_TAGS = frozenset(_FORMAT_NAMES)
# KSDATAFORMAT_SUBTYPE_* GUIDs end with this; their first two bytes are the plain format tag.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_MAX_FMT_SIZE = 4096

# Magic numbers of containers that a bot might upload by mistake instead of raw PCM.
_OTHER_CONTAINERS = (
    (b"\x1a\x45\xdf\xa3", "WebM"),
    (b"OggS", "Ogg"),
    (b"ID3", "MP3"),
    (b"fLaC", "FLAC"),
)


@dataclass(frozen=True)
class _WavFormat:
    tag: int  # the effective format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE)
    channels: int
    rate: int
    bits: int
    block_align: int
    raw: bytes  # the 'fmt ' payload as written, reused for the master's header

    def key(self) -> tuple[int, int, int, int, int]:
        return (self.tag, self.channels, self.rate, self.bits, self.block_align)

    def describe(self) -> str:
        name = _FORMAT_NAMES.get(self.tag, f"format 0x{self.tag:04x}")
        channels = "1 channel" if self.channels == 1 else f"{self.channels} channels"
        return f"{self.bits}-bit {name}, {self.rate} Hz, {channels}"


def _parse_fmt(payload: bytes, index: int) -> _WavFormat:
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", payload)
    if tag == _WAVE_FORMAT_EXTENSIBLE:
        if len(payload) < 40 or payload[26:40] != _GUID_TAIL:
            raise AssemblyError(f"chunk {index} is a WAV file with a malformed WAVE_FORMAT_EXTENSIBLE header")
        tag = struct.unpack_from("<H", payload, 24)[0]
    if tag not in _SUPPORTED_TAGS:
        raise AssemblyError(
            f"chunk {index} is a WAV file in format 0x{tag:04x}; only PCM, float, A-law and mu-law WAV "
            "can be assembled"
        )
    if channels == 0 or rate == 0 or bits == 0:
        raise AssemblyError(f"chunk {index} is a WAV file whose format has zero channels, rate or bits")
    if block_align == 0:
        block_align = channels * ((bits + 7) // 8)
    return _WavFormat(tag, channels, rate, bits, block_align, bytes(payload))


def _is_wav_header(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE"


def _read_wav_header(stream: BinaryIO, index: int) -> tuple[_WavFormat, int | None]:
    """Walk the RIFF chunks after the 12-byte RIFF/WAVE header up to the start of the PCM.

    Returns the format and the data length, or None for "until the end of the chunk" (a size field
    of 0 or 0xFFFFFFFF, as streaming recorders write before they know the length).
    """
    fmt: _WavFormat | None = None
    while True:
        head = _read_exact(stream, 8)
        if len(head) < 8:
            raise AssemblyError(f"chunk {index} is a WAV file without a data chunk")
        chunk_id = head[:4]
        size = int.from_bytes(head[4:], "little")
        if chunk_id == b"fmt ":
            if not 16 <= size <= _MAX_FMT_SIZE:
                raise AssemblyError(f"chunk {index} is a WAV file with a malformed format chunk")
            payload = _read_exact(stream, size)
            if len(payload) < size or (size & 1 and not _skip(stream, 1)):
                raise AssemblyError(f"chunk {index} is a WAV file that ends inside its format chunk")
            fmt = _parse_fmt(payload, index)
        elif chunk_id == b"data":
            if fmt is None:
                raise AssemblyError(f"chunk {index} is a WAV file whose data comes before its format chunk")
            return fmt, (None if size in (0, _U32_MAX) else size)
        elif not _skip(stream, size + (size & 1)):
            raise AssemblyError(f"chunk {index} is a WAV file without a data chunk")


def _wav_header(fmt: _WavFormat, data_size: int) -> bytes:
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt.raw)) + fmt.raw + (b"\0" if len(fmt.raw) & 1 else b"")
    riff_size = 4 + len(fmt_chunk) + 8 + data_size + (data_size & 1)
    return (
        b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt_chunk + b"data" + struct.pack("<I", data_size)
    )


def assemble_wav(chunks: Iterable[BinaryIO], out: BinaryIO) -> Assembled:
    """Join WAV chunks (or raw PCM continuing chunk 0's format) into one WAV file written to ``out``.

    ``out`` must be seekable: a header with placeholder sizes is written first and fixed at the end.
    A byte that splits a sample between two raw PCM chunks is carried over, so sample alignment
    survives odd boundaries; an incomplete last frame is dropped.
    """
    start = out.tell()
    fmt: _WavFormat | None = None
    frame = 0
    max_data = 0
    data_size = 0
    carry = b""  # the start of a frame whose remaining bytes are in the next raw chunk

    for index, stream in enumerate(chunks):
        head = _read_exact(stream, 12)
        remaining: int | None = None
        if _is_wav_header(head):
            chunk_fmt, remaining = _read_wav_header(stream, index)
            if fmt is None:
                fmt = chunk_fmt
                frame = fmt.block_align
                header = _wav_header(fmt, 0)
                # The RIFF size field (and so the data) must stay below 4 GiB.
                max_data = _U32_MAX - (len(header) - 8) - 1
                out.write(header)
            elif chunk_fmt.key() != fmt.key():
                raise AssemblyError(
                    f"chunk {index} is not a WAV file with the same format as chunk 0 "
                    f"({chunk_fmt.describe()} instead of {fmt.describe()})"
                )
            # A WAV file's data starts on a frame boundary: a partial frame left over is dropped.
            carry = b""
            pending = b""
        elif fmt is None and not head:
            raise AssemblyError(f"chunk {index} is empty, not a WAV file")
        elif fmt is None:
            raise AssemblyError(
                f"chunk {index} is not a WAV file (it does not start with a RIFF/WAVE header)"
            )
        else:
            for magic, name in _OTHER_CONTAINERS:
                if head.startswith(magic):
                    raise AssemblyError(
                        f"chunk {index} is not a WAV file with the same format as chunk 0 "
                        f"(it looks like {name}, not WAV or raw PCM)"
                    )
            if head[:4] in (b"RIFF", b"RF64"):
                raise AssemblyError(
                    f"chunk {index} is not a WAV file with the same format as chunk 0 "
                    "(it is a RIFF file of another kind)"
                )
            pending = head  # raw PCM: the peeked bytes are the first samples

        while True:
            if pending:
                block, pending = pending, b""
            else:
                want = BLOCK_SIZE if remaining is None else min(BLOCK_SIZE, remaining)
                if want <= 0:
                    break
                block = stream.read(want)
                if not block:
                    break  # end of the chunk (or a data chunk shorter than its size field says)
                if remaining is not None:
                    remaining -= len(block)
            data = carry + block if carry else block
            whole = len(data) - len(data) % frame
            if data_size + whole > max_data:
                raise AssemblyError(
                    "the recording has over 4 GiB of audio data, more than a WAV file can hold"
                )
            if whole:
                out.write(memoryview(data)[:whole] if whole < len(data) else data)
                data_size += whole
            carry = bytes(data[whole:])

    if fmt is None:
        raise AssemblyError("there are no chunks to assemble")
    if carry:
        log.info("dropping %d bytes of an incomplete last WAV frame", len(carry))
    if data_size & 1:
        out.write(b"\0")
    end = out.tell()
    out.seek(start)
    out.write(_wav_header(fmt, data_size))
    out.seek(end)
    return Assembled(duration_seconds=(data_size // frame) / fmt.rate, size=end - start)


# -------------------------------------------------------------------------------------------------- WebM

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
            head = _read_exact(stream, len(_EBML_MAGIC))
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


# -------------------------------------------------------------------------------------------------- probe


def probe_duration(path: Path | BinaryIO) -> float | None:
    """The duration in seconds that the container states, or None if unknown or unreadable.

    Accepts a path or a readable stream (a stream need not seek: only the headers are read)."""
    try:
        source = str(path) if isinstance(path, Path) else path
        with av.open(source, metadata_errors="ignore") as container:
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
    except Exception:  # garbage, a missing file, an unknown format: the duration is unknown
        return None
    return seconds if math.isfinite(seconds) else None
