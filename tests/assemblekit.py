"""Helpers shared by the assembly tests: chunk streams, hand-built WAV files, and real recordings.

The WebM fixtures use real MediaRecorder output from headless Chromium (recorded once per machine,
then cached). A test module registers them by importing ``fixture_recording`` / ``fixture_masters``.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pytest

from lite.media.assemble import Assembled, assemble_wav, assemble_webm
from tests.mediakit import record

SECONDS = 6.0
KINDS = ["audio", "video"]

Recording = tuple[str, list[bytes], float]  # kind, MediaRecorder chunks, seconds recorded
Masters = dict[str, tuple[Path, Assembled, Path]]  # kind -> master, its Assembled, raw concatenation


def streams(*blobs: bytes) -> list[io.BytesIO]:
    return [io.BytesIO(b) for b in blobs]


def wav_file(
    pcm: bytes,
    *,
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    tag: int = 1,
    fmt_extra: bytes = b"",
    data_size: int | None = None,
    before_data: bytes = b"",
    after_data: bytes = b"",
) -> bytes:
    """A WAV file built by hand, for the layouts that the ``wave`` module never writes."""
    align = channels * ((bits + 7) // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits) + fmt_extra
    fmt_chunk = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"\0" * (len(fmt) & 1)
    size = len(pcm) if data_size is None else data_size
    body = b"WAVE" + fmt_chunk + before_data + b"data" + struct.pack("<I", size) + pcm + after_data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def assemble_to_bytes(chunks: Iterable[BinaryIO]) -> tuple[Assembled, bytes]:
    out = io.BytesIO()
    result = assemble_wav(chunks, out)
    return result, out.getvalue()


def read_wave(blob: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(blob)) as w:
        return w.getparams(), w.readframes(w.getnframes())


@pytest.fixture(name="recording", scope="module", params=KINDS)
def fixture_recording(request: pytest.FixtureRequest) -> Recording:
    """(kind, chunks, seconds the recorder ran) for a 6 s MediaRecorder recording with 1 s timeslice."""
    chunks, meta = record(request.param, SECONDS, 1000)
    return request.param, chunks, meta["elapsed_ms"] / 1000


@pytest.fixture(name="masters", scope="module")
def fixture_masters(tmp_path_factory: pytest.TempPathFactory) -> Masters:
    """kind -> (master path, Assembled, raw concatenation path), built once per module."""
    root = tmp_path_factory.mktemp("masters")
    built: Masters = {}
    for kind in KINDS:
        chunks, _ = record(kind, SECONDS, 1000)
        workdir = root / f"work-{kind}"
        workdir.mkdir()
        master = root / f"{kind}.webm"
        assembled = assemble_webm(streams(*chunks), master, workdir)
        raw = root / f"raw-{kind}.webm"
        raw.write_bytes(b"".join(chunks))
        built[kind] = (master, assembled, raw)
    return built
