"""WAV assembly (lite.media.assemble_wav): what the master holds.

Chunks are joined under one header with correct sizes, every sample in order; chunks after the first
may be raw PCM continuing chunk 0's format, split frames are carried over, and RIFF layouts the
``wave`` module never writes (odd-sized chunks, unknown data sizes, WAVE_FORMAT_EXTENSIBLE) are read.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import pytest

from lite.media.assemble import Assembled, assemble_wav, probe_duration
from tests.assemblekit import assemble_to_bytes, read_wave, streams, wav_file
from tests.mediakit import pcm_samples, wav_bytes


def riff_chunk(chunk_id: bytes, payload: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def extensible_fmt_extra(bits: int, subformat_tag: int = 1, valid_bits: int | None = None) -> bytes:
    guid = struct.pack("<H", subformat_tag) + bytes.fromhex("000000001000800000aa00389b71")
    return struct.pack("<HHI", 22, valid_bits or bits, 0x4) + guid


def decode_pcm_with_pyav(path: Path) -> bytes:
    """All samples of a 16-bit WAV, decoded by FFmpeg (through PyAV) rather than the ``wave`` module."""
    out = bytearray()
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            assert frame.format.name == "s16"
            out += bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)]
    return bytes(out)


def test_wav_chunks_join_into_one_wav_with_every_sample_in_order() -> None:
    parts = [pcm_samples(1.0, freq=440), pcm_samples(0.5, freq=660), pcm_samples(2.25, freq=880)]
    chunks = [wav_bytes(1.0, freq=440), wav_bytes(0.5, freq=660), wav_bytes(2.25, freq=880)]

    result, master = assemble_to_bytes(streams(*chunks))

    params, frames = read_wave(master)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert frames == b"".join(parts)
    assert result == Assembled(duration_seconds=3.75, size=len(master))


def test_wav_master_decodes_with_pyav_to_the_same_samples(tmp_path: Path) -> None:
    chunks = [wav_bytes(1.0, channels=2, freq=300), wav_bytes(1.0, channels=2, freq=500)]
    path = tmp_path / "master.wav"
    with path.open("wb") as out:
        assemble_wav(streams(*chunks), out)

    assert decode_pcm_with_pyav(path) == pcm_samples(1.0, channels=2, freq=300) + pcm_samples(
        1.0, channels=2, freq=500
    )
    assert probe_duration(path) == pytest.approx(2.0, abs=0.001)


def test_wav_master_header_has_correct_riff_and_data_sizes() -> None:
    _, master = assemble_to_bytes(streams(wav_bytes(0.5), wav_bytes(0.25)))

    assert master[:4] == b"RIFF" and master[8:12] == b"WAVE"
    assert struct.unpack_from("<I", master, 4)[0] == len(master) - 8
    assert master[36:40] == b"data"  # one 16-byte fmt chunk, so a canonical 44-byte header
    assert struct.unpack_from("<I", master, 40)[0] == len(master) - 44 == (8000 + 4000) * 2


def test_wav_master_is_written_at_the_current_position_of_out() -> None:
    out = io.BytesIO()
    out.write(b"prefix")
    result = assemble_wav(streams(wav_bytes(0.1)), out)

    assert out.getvalue()[:6] == b"prefix"
    assert result.size == len(out.getvalue()) - 6
    assert read_wave(out.getvalue()[6:])[1] == pcm_samples(0.1)


def test_chunks_after_the_first_may_be_raw_pcm_continuing_its_format() -> None:
    pcm = pcm_samples(3.0, channels=2)
    first = wav_file(pcm[:40000], channels=2)
    result, master = assemble_to_bytes(streams(first, pcm[40000:100000], pcm[100000:]))

    params, frames = read_wave(master)
    assert params.nchannels == 2 and frames == pcm
    assert result.duration_seconds == 3.0


def test_raw_pcm_and_wav_chunks_can_alternate() -> None:
    a, b, c = pcm_samples(0.5, freq=200), pcm_samples(0.5, freq=400), pcm_samples(0.5, freq=600)
    _, master = assemble_to_bytes(streams(wav_file(a), b, wav_file(c)))
    assert read_wave(master)[1] == a + b + c


@pytest.mark.parametrize("split", [1, 3, 5, 1001, 32001])
def test_a_sample_split_across_raw_chunks_at_an_odd_byte_keeps_its_alignment(split: int) -> None:
    pcm = pcm_samples(2.0, channels=2)  # 4-byte frames: splits at 1, 3 and 5 cut inside a frame
    first = wav_file(pcm[:split], channels=2)
    _, master = assemble_to_bytes(streams(first, pcm[split : split + 7777], pcm[split + 7777 :]))

    assert read_wave(master)[1] == pcm
    assert struct.unpack_from("<I", master, 40)[0] == len(pcm)


def test_an_incomplete_frame_at_the_end_is_dropped_so_the_data_stays_whole_frames() -> None:
    pcm = pcm_samples(1.0)
    result, master = assemble_to_bytes(streams(wav_bytes(1.0), b"\x12"))

    assert read_wave(master)[1] == pcm
    assert struct.unpack_from("<I", master, 40)[0] == len(pcm)
    assert result.duration_seconds == 1.0


def test_an_incomplete_frame_before_a_new_wav_file_does_not_shift_that_files_samples() -> None:
    a, b = pcm_samples(0.5, freq=300), pcm_samples(0.5, freq=500)
    _, master = assemble_to_bytes(streams(wav_file(a), a[:1], wav_file(b)))
    assert read_wave(master)[1] == a + b


@pytest.mark.parametrize("size_field", [0, 0xFFFFFFFF])
def test_a_data_size_of_0_or_ffffffff_means_until_the_end_of_the_chunk(size_field: int) -> None:
    a, b = pcm_samples(0.5, freq=300), pcm_samples(0.75, freq=500)
    chunks = [wav_file(a, data_size=size_field), wav_file(b, data_size=size_field)]

    result, master = assemble_to_bytes(streams(*chunks))

    assert read_wave(master)[1] == a + b
    assert struct.unpack_from("<I", master, 40)[0] == len(a + b)
    assert result.duration_seconds == 1.25


def test_riff_chunks_are_walked_with_odd_size_padding_and_a_data_size_that_stops_early() -> None:
    pcm = pcm_samples(0.25)
    chunk = wav_file(
        pcm,
        fmt_extra=b"\0\0",  # an 18-byte fmt with cbSize = 0
        before_data=riff_chunk(b"LIST", b"INFOISFT\x05\0\0\0lite\0") + riff_chunk(b"junk", b"odd"),
        after_data=riff_chunk(b"LIST", b"trailing metadata, not samples"),
    )
    assert b"junk\x03\0\0\0odd\0" in chunk  # an odd-sized chunk with its pad byte

    _, master = assemble_to_bytes(streams(chunk, chunk))

    assert read_wave(master)[1] == pcm + pcm


def test_an_odd_number_of_data_bytes_gets_a_pad_byte_counted_in_the_riff_size() -> None:
    pcm8 = bytes(range(101))  # 8-bit mono: 101 one-byte frames
    result, master = assemble_to_bytes(streams(wav_file(pcm8, bits=8, rate=8000)))

    assert struct.unpack_from("<I", master, 40)[0] == 101
    assert len(master) == 44 + 101 + 1
    assert struct.unpack_from("<I", master, 4)[0] == len(master) - 8
    assert read_wave(master)[1] == pcm8
    assert result.size == len(master)


def test_wave_format_extensible_chunks_join_with_plain_pcm_chunks_of_the_same_format(tmp_path: Path) -> None:
    a, b = pcm_samples(0.5, channels=2, freq=300), pcm_samples(0.5, channels=2, freq=500)
    first = wav_file(a, channels=2, tag=0xFFFE, fmt_extra=extensible_fmt_extra(16))
    path = tmp_path / "master.wav"
    with path.open("wb") as out:
        result = assemble_wav(streams(first, wav_file(b, channels=2)), out)

    master = path.read_bytes()
    assert struct.unpack_from("<H", master, 20)[0] == 0xFFFE  # chunk 0's header is kept
    assert decode_pcm_with_pyav(path) == a + b
    assert result.duration_seconds == 1.0
