"""Joining WAV chunks (or raw PCM continuing chunk 0's format) into one WAV master.

The PCM of every chunk is copied, in order, behind a single header with correct sizes. Chunk 0 must
be a WAV file; later chunks may be WAV files of the same format or raw PCM that continues chunk 0's
format. Memory use does not grow with the recording: chunks are streamed in blocks of at most
``BLOCK_SIZE`` bytes.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from lite.media.assemble_base import BLOCK_SIZE, Assembled, AssemblyError, read_exact, skip

log = logging.getLogger("lite.media.assemble")

_U32_MAX = 0xFFFFFFFF

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
        head = read_exact(stream, 8)
        if len(head) < 8:
            raise AssemblyError(f"chunk {index} is a WAV file without a data chunk")
        chunk_id = head[:4]
        size = int.from_bytes(head[4:], "little")
        if chunk_id == b"fmt ":
            if not 16 <= size <= _MAX_FMT_SIZE:
                raise AssemblyError(f"chunk {index} is a WAV file with a malformed format chunk")
            payload = read_exact(stream, size)
            if len(payload) < size or (size & 1 and not skip(stream, 1)):
                raise AssemblyError(f"chunk {index} is a WAV file that ends inside its format chunk")
            fmt = _parse_fmt(payload, index)
        elif chunk_id == b"data":
            if fmt is None:
                raise AssemblyError(f"chunk {index} is a WAV file whose data comes before its format chunk")
            return fmt, (None if size in (0, _U32_MAX) else size)
        elif not skip(stream, size + (size & 1)):
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
        head = read_exact(stream, 12)
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
