"""WAV assembly (lite.media.assemble_wav) streams: chunks are only read, sizes are bounded, memory small.

Chunks that return short reads and cannot seek (like sockets or S3 bodies) work; a master over the
4 GiB a WAV file can hold is refused exactly at the limit; 200 MB of PCM passes in a few MiB of memory.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from lite.media.assemble import AssemblyError, assemble_wav
from tests.assemblekit import assemble_to_bytes, read_wave, wav_file
from tests.mediakit import pcm_samples, wav_bytes


class Trickle:
    """A chunk body that only has ``read(n)`` and returns at most ``step`` bytes per call, like a socket."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def read(self, n: int = -1) -> bytes:
        n = len(self._data) - self._pos if n is None or n < 0 else n
        chunk = self._data[self._pos : self._pos + min(n, self._step)]
        self._pos += len(chunk)
        return chunk


class Generated:
    """A chunk of ``header`` followed by ``size`` PCM bytes made on demand (fresh bytes per read)."""

    def __init__(self, header: bytes, size: int) -> None:
        self._header = header
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if self._header:
            out, self._header = self._header[:n], self._header[n:]
            return out
        take = min(n, self._left)
        self._left -= take
        return b"\x01\x02" * (take // 2) + b"\x01" * (take % 2)


class CountingSink:
    """A seekable output that keeps nothing, only counts."""

    def __init__(self) -> None:
        self.pos = 0
        self.end = 0

    def write(self, data: bytes) -> int:
        self.pos += len(data)
        self.end = max(self.end, self.pos)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos
        return pos


def test_chunks_are_only_read_never_seeked_and_short_reads_are_fine() -> None:
    pcm = pcm_samples(1.0)
    chunks = [Trickle(wav_bytes(0.5), step=3), Trickle(pcm[16000:], step=1001)]
    _, master = assemble_to_bytes(chunks)
    assert read_wave(master)[1] == pcm


def test_more_than_4_gib_of_pcm_is_rejected() -> None:
    header = wav_file(b"", data_size=0xFFFFFFFF)
    chunks = [Generated(header, 3 << 30), Generated(b"", 3 << 30)]  # 6 GiB, made on the fly

    with pytest.raises(AssemblyError, match="over 4 GiB"):
        assemble_wav(chunks, CountingSink())


def test_the_largest_wav_that_fits_4_gib_is_accepted_and_one_more_frame_is_not() -> None:
    most = 0xFFFFFFFF - 36 - 1  # whole 16-bit frames whose RIFF size (36 + data) fits in 32 bits
    header = wav_file(b"", data_size=0)

    sink = CountingSink()
    result = assemble_wav([Generated(header, most)], sink)
    assert result.size == sink.end == 44 + most
    assert result.duration_seconds == most // 2 / 16000

    with pytest.raises(AssemblyError, match="over 4 GiB"):
        assemble_wav([Generated(header, most), Generated(b"", 2)], CountingSink())


def test_assembling_200_mb_of_wav_keeps_memory_small(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    header = wav_file(b"", data_size=0, rate=48000, channels=2)
    # Raw chunks of odd lengths: split frames are carried over and add up to one more whole frame.
    chunks = [
        Generated(header, size),
        Generated(b"", size + 1),
        Generated(b"", size + 1),
        Generated(b"", size + 2),
    ]

    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        with (tmp_path / "big.wav").open("wb") as out:
            result = assemble_wav(chunks, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.size == 44 + 4 * size + 4
    assert (tmp_path / "big.wav").stat().st_size == result.size
    assert peak - base < 8 * 1024 * 1024, f"peak grew by {(peak - base) / 2**20:.1f} MiB"
