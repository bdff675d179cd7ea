"""Assembling uploaded chunks into one playable master (lite.assemble).

WAV: chunks are joined under one header; later chunks may be raw PCM continuing chunk 0's format.
WebM: real MediaRecorder chunks from headless Chromium are concatenated and remuxed so that the master
has a Duration and Cues, which Chromium then uses to show a finite duration and to seek.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import struct
import subprocess
import time
import tracemalloc
import wave
from pathlib import Path

import av
import pytest

from lite.assemble import Assembled, AssemblyError, assemble_wav, assemble_webm, probe_duration
from tests.mediarecorder import (
    chromium_page,
    pcm_samples,
    play_in_chromium,
    record,
    serve_directory,
    wav_bytes,
)

SECONDS = 6.0
KINDS = ["audio", "video"]


# ------------------------------------------------------------------------------------------------ helpers


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


def riff_chunk(chunk_id: bytes, payload: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def extensible_fmt_extra(bits: int, subformat_tag: int = 1, valid_bits: int | None = None) -> bytes:
    guid = struct.pack("<H", subformat_tag) + bytes.fromhex("000000001000800000aa00389b71")
    return struct.pack("<HHI", 22, valid_bits or bits, 0x4) + guid


def assemble_to_bytes(chunks) -> tuple[Assembled, bytes]:
    out = io.BytesIO()
    result = assemble_wav(chunks, out)
    return result, out.getvalue()


def read_wave(blob: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(blob)) as w:
        return w.getparams(), w.readframes(w.getnframes())


def decode_pcm_with_pyav(path: Path) -> bytes:
    """All samples of a 16-bit WAV, decoded by FFmpeg (through PyAV) rather than the ``wave`` module."""
    out = bytearray()
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            assert frame.format.name == "s16"
            out += bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)]
    return bytes(out)


def ebml_elements(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int, int]]:
    """(id, body offset, body size) of the EBML elements between start and end; unknown size = to end."""
    end = len(data) if end is None else end
    found = []
    pos = start
    while pos < end:
        first = data[pos]
        id_len = 1 + (8 - first.bit_length()) if first else 9
        element_id = int.from_bytes(data[pos : pos + id_len], "big")
        pos += id_len
        first = data[pos]
        size_len = 9 - first.bit_length()
        size = first & ((1 << (8 - size_len)) - 1)
        for b in data[pos + 1 : pos + size_len]:
            size = (size << 8) | b
        pos += size_len
        if size == (1 << (7 * size_len)) - 1:  # unknown size, as MediaRecorder writes for the Segment
            size = end - pos
        found.append((element_id, pos, size))
        pos += size
    return found


# Matroska element IDs
SEGMENT = 0x18538067
INFO = 0x1549A966
DURATION = 0x4489  # in Info
CUES = 0x1C53BB6B
CUE_POINT = 0xBB  # in Cues
CLUSTER = 0x1F43B675
SIMPLE_BLOCK = 0xA3  # in Cluster


def segment_children(data: bytes) -> list[tuple[int, int, int]]:
    (segment,) = [e for e in ebml_elements(data) if e[0] == SEGMENT]
    return ebml_elements(data, segment[1], segment[1] + segment[2])


def ffprobe_duration(path: Path) -> float:
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed; it is only the independent check")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


# ---------------------------------------------------------------------------------------------------- WAV


def test_wav_chunks_join_into_one_wav_with_every_sample_in_order():
    parts = [pcm_samples(1.0, freq=440), pcm_samples(0.5, freq=660), pcm_samples(2.25, freq=880)]
    chunks = [wav_bytes(1.0, freq=440), wav_bytes(0.5, freq=660), wav_bytes(2.25, freq=880)]

    result, master = assemble_to_bytes(streams(*chunks))

    params, frames = read_wave(master)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert frames == b"".join(parts)
    assert result == Assembled(duration_seconds=3.75, size=len(master))


def test_wav_master_decodes_with_pyav_to_the_same_samples(tmp_path):
    chunks = [wav_bytes(1.0, channels=2, freq=300), wav_bytes(1.0, channels=2, freq=500)]
    path = tmp_path / "master.wav"
    with path.open("wb") as out:
        assemble_wav(streams(*chunks), out)

    assert decode_pcm_with_pyav(path) == pcm_samples(1.0, channels=2, freq=300) + pcm_samples(
        1.0, channels=2, freq=500
    )
    assert probe_duration(path) == pytest.approx(2.0, abs=0.001)


def test_wav_master_header_has_correct_riff_and_data_sizes():
    _, master = assemble_to_bytes(streams(wav_bytes(0.5), wav_bytes(0.25)))

    assert master[:4] == b"RIFF" and master[8:12] == b"WAVE"
    assert struct.unpack_from("<I", master, 4)[0] == len(master) - 8
    assert master[36:40] == b"data"  # one 16-byte fmt chunk, so a canonical 44-byte header
    assert struct.unpack_from("<I", master, 40)[0] == len(master) - 44 == (8000 + 4000) * 2


def test_wav_master_is_written_at_the_current_position_of_out():
    out = io.BytesIO()
    out.write(b"prefix")
    result = assemble_wav(streams(wav_bytes(0.1)), out)

    assert out.getvalue()[:6] == b"prefix"
    assert result.size == len(out.getvalue()) - 6
    assert read_wave(out.getvalue()[6:])[1] == pcm_samples(0.1)


def test_chunks_after_the_first_may_be_raw_pcm_continuing_its_format():
    pcm = pcm_samples(3.0, channels=2)
    first = wav_file(pcm[:40000], channels=2)
    result, master = assemble_to_bytes(streams(first, pcm[40000:100000], pcm[100000:]))

    params, frames = read_wave(master)
    assert params.nchannels == 2 and frames == pcm
    assert result.duration_seconds == 3.0


def test_raw_pcm_and_wav_chunks_can_alternate():
    a, b, c = pcm_samples(0.5, freq=200), pcm_samples(0.5, freq=400), pcm_samples(0.5, freq=600)
    _, master = assemble_to_bytes(streams(wav_file(a), b, wav_file(c)))
    assert read_wave(master)[1] == a + b + c


@pytest.mark.parametrize("split", [1, 3, 5, 1001, 32001])
def test_a_sample_split_across_raw_chunks_at_an_odd_byte_keeps_its_alignment(split):
    pcm = pcm_samples(2.0, channels=2)  # 4-byte frames: splits at 1, 3 and 5 cut inside a frame
    first = wav_file(pcm[:split], channels=2)
    _, master = assemble_to_bytes(streams(first, pcm[split : split + 7777], pcm[split + 7777 :]))

    assert read_wave(master)[1] == pcm
    assert struct.unpack_from("<I", master, 40)[0] == len(pcm)


def test_an_incomplete_frame_at_the_end_is_dropped_so_the_data_stays_whole_frames():
    pcm = pcm_samples(1.0)
    result, master = assemble_to_bytes(streams(wav_bytes(1.0), b"\x12"))

    assert read_wave(master)[1] == pcm
    assert struct.unpack_from("<I", master, 40)[0] == len(pcm)
    assert result.duration_seconds == 1.0


def test_an_incomplete_frame_before_a_new_wav_file_does_not_shift_that_files_samples():
    a, b = pcm_samples(0.5, freq=300), pcm_samples(0.5, freq=500)
    _, master = assemble_to_bytes(streams(wav_file(a), a[:1], wav_file(b)))
    assert read_wave(master)[1] == a + b


@pytest.mark.parametrize("size_field", [0, 0xFFFFFFFF])
def test_a_data_size_of_0_or_ffffffff_means_until_the_end_of_the_chunk(size_field):
    a, b = pcm_samples(0.5, freq=300), pcm_samples(0.75, freq=500)
    chunks = [wav_file(a, data_size=size_field), wav_file(b, data_size=size_field)]

    result, master = assemble_to_bytes(streams(*chunks))

    assert read_wave(master)[1] == a + b
    assert struct.unpack_from("<I", master, 40)[0] == len(a + b)
    assert result.duration_seconds == 1.25


def test_riff_chunks_are_walked_with_odd_size_padding_and_a_data_size_that_stops_early():
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


def test_an_odd_number_of_data_bytes_gets_a_pad_byte_counted_in_the_riff_size():
    pcm8 = bytes(range(101))  # 8-bit mono: 101 one-byte frames
    result, master = assemble_to_bytes(streams(wav_file(pcm8, bits=8, rate=8000)))

    assert struct.unpack_from("<I", master, 40)[0] == 101
    assert len(master) == 44 + 101 + 1
    assert struct.unpack_from("<I", master, 4)[0] == len(master) - 8
    assert read_wave(master)[1] == pcm8
    assert result.size == len(master)


def test_wave_format_extensible_chunks_join_with_plain_pcm_chunks_of_the_same_format(tmp_path):
    a, b = pcm_samples(0.5, channels=2, freq=300), pcm_samples(0.5, channels=2, freq=500)
    first = wav_file(a, channels=2, tag=0xFFFE, fmt_extra=extensible_fmt_extra(16))
    path = tmp_path / "master.wav"
    with path.open("wb") as out:
        result = assemble_wav(streams(first, wav_file(b, channels=2)), out)

    master = path.read_bytes()
    assert struct.unpack_from("<H", master, 20)[0] == 0xFFFE  # chunk 0's header is kept
    assert decode_pcm_with_pyav(path) == a + b
    assert result.duration_seconds == 1.0


@pytest.mark.parametrize(
    ("other", "difference"),
    [
        (wav_bytes(0.5, rate=8000), "8000 Hz"),
        (wav_bytes(0.5, channels=2), "2 channels"),
        (wav_file(bytes(8000), bits=8), "8-bit PCM"),
        (wav_file(bytes(8000), bits=32, tag=3), "32-bit float"),
    ],
    ids=["rate", "channels", "bits", "format-tag"],
)
def test_a_chunk_with_a_different_format_is_rejected(other, difference):
    with pytest.raises(AssemblyError) as error:
        assemble_wav(streams(wav_bytes(0.5), wav_bytes(0.5), other), io.BytesIO())
    message = str(error.value)
    assert message.startswith("chunk 2 is not a WAV file with the same format as chunk 0")
    assert difference in message and "16-bit PCM, 16000 Hz, 1 channel" in message


@pytest.mark.parametrize(
    "first",
    [b"", b"hello, this is text, not audio", b"RIFF\x04\0\0\0AVI ", b"\x1a\x45\xdf\xa3" + bytes(40)],
    ids=["empty", "text", "riff-avi", "webm"],
)
def test_a_first_chunk_that_is_not_wav_is_rejected(first):
    with pytest.raises(AssemblyError, match=r"^chunk 0 .*not a WAV file"):
        assemble_wav(streams(first, wav_bytes(0.5)), io.BytesIO())


@pytest.mark.parametrize(
    ("later", "name"),
    [
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "WebM"),
        (b"OggS\0\2" + bytes(20), "Ogg"),
        (b"RIFF\0\0\0\0AVI ", "RIFF"),
    ],
)
def test_a_later_chunk_in_another_container_is_rejected_rather_than_played_as_noise(later, name):
    with pytest.raises(AssemblyError, match=rf"^chunk 1 is not a WAV file .*{name}"):
        assemble_wav(streams(wav_bytes(0.5), later), io.BytesIO())


@pytest.mark.parametrize(
    ("chunk", "reason"),
    [
        (wav_bytes(0.1)[:36], "without a data chunk"),
        (wav_bytes(0.1)[:30], "ends inside its format chunk"),
        (wav_file(b"", tag=0x55), "format 0x0055"),
    ],
    ids=["no-data", "cut-fmt", "mp3-in-wav"],
)
def test_a_broken_or_compressed_wav_is_rejected_with_the_reason(chunk, reason):
    with pytest.raises(AssemblyError, match=reason):
        assemble_wav(streams(chunk), io.BytesIO())


def test_no_chunks_is_an_error():
    with pytest.raises(AssemblyError, match="no chunks"):
        assemble_wav([], io.BytesIO())


def test_chunks_are_only_read_never_seeked_and_short_reads_are_fine():
    pcm = pcm_samples(1.0)
    chunks = [Trickle(wav_bytes(0.5), step=3), Trickle(pcm[16000:], step=1001)]
    _, master = assemble_to_bytes(chunks)
    assert read_wave(master)[1] == pcm


def test_more_than_4_gib_of_pcm_is_rejected():
    header = wav_file(b"", data_size=0xFFFFFFFF)
    chunks = [Generated(header, 3 << 30), Generated(b"", 3 << 30)]  # 6 GiB, made on the fly

    with pytest.raises(AssemblyError, match="over 4 GiB"):
        assemble_wav(chunks, CountingSink())


def test_the_largest_wav_that_fits_4_gib_is_accepted_and_one_more_frame_is_not():
    most = 0xFFFFFFFF - 36 - 1  # whole 16-bit frames whose RIFF size (36 + data) fits in 32 bits
    header = wav_file(b"", data_size=0)

    sink = CountingSink()
    result = assemble_wav([Generated(header, most)], sink)
    assert result.size == sink.end == 44 + most
    assert result.duration_seconds == most // 2 / 16000

    with pytest.raises(AssemblyError, match="over 4 GiB"):
        assemble_wav([Generated(header, most), Generated(b"", 2)], CountingSink())


def test_assembling_200_mb_of_wav_keeps_memory_small(tmp_path):
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


# --------------------------------------------------------------------------------------------------- WebM
# These use real MediaRecorder output (recorded once per machine, then cached) and so need Chromium.


@pytest.fixture(scope="module", params=KINDS)
def recording(request):
    """(kind, chunks, seconds the recorder ran) for a 6 s MediaRecorder recording with 1 s timeslice."""
    chunks, meta = record(request.param, SECONDS, 1000)
    return request.param, chunks, meta["elapsed_ms"] / 1000


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    """kind -> (master path, Assembled, raw concatenation path), built once per module."""
    root = tmp_path_factory.mktemp("masters")
    built = {}
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


def audio_packets(webm: bytes):
    with av.open(io.BytesIO(webm)) as container:
        yield from (p for p in container.demux(container.streams.audio[0]) if p.dts is not None)


def decode_everything(path: Path) -> dict[str, float]:
    """Decode every frame of every stream; returns the end time in seconds reached per stream type."""
    ends: dict[str, float] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            if frame.pts is not None:
                end = float(frame.pts * frame.time_base)
                kind = "audio" if isinstance(frame, av.AudioFrame) else "video"
                ends[kind] = max(ends.get(kind, 0.0), end)
    return ends


@pytest.mark.browser
def test_raw_mediarecorder_concatenation_has_no_duration(recording, masters):
    kind, chunks, _ = recording
    assert len(chunks) >= 5  # one blob per timeslice
    assert probe_duration(masters[kind][2]) is None


@pytest.mark.browser
def test_webm_master_duration_matches_the_recorded_length_per_pyav(recording, masters):
    kind, _, seconds = recording
    master, assembled, _ = masters[kind]
    assert assembled.duration_seconds == pytest.approx(seconds, abs=0.3)
    assert probe_duration(master) == assembled.duration_seconds
    assert assembled.size == master.stat().st_size


@pytest.mark.browser
def test_webm_master_duration_matches_the_recorded_length_per_ffprobe(recording, masters):
    kind, _, seconds = recording
    assert ffprobe_duration(masters[kind][0]) == pytest.approx(seconds, abs=0.3)


@pytest.mark.browser
def test_webm_master_has_duration_and_cues_elements_which_mediarecorder_output_lacks(recording, masters):
    kind, _, _ = recording
    master, _, raw = masters[kind]

    children = segment_children(master.read_bytes())
    ids = [element_id for element_id, _, _ in children]
    (info,) = [e for e in children if e[0] == INFO]
    (cues,) = [e for e in children if e[0] == CUES]
    data = master.read_bytes()
    assert DURATION in [e[0] for e in ebml_elements(data, info[1], info[1] + info[2])]
    assert [e[0] for e in ebml_elements(data, cues[1], cues[1] + cues[2])].count(CUE_POINT) >= 1
    assert ids.index(CUES) < ids.index(CLUSTER)  # cues_to_front: found without reading to the end

    raw_data = raw.read_bytes()
    raw_children = segment_children(raw_data)
    # MediaRecorder's clusters have unknown sizes too, so look for the Cues ID anywhere in the bytes.
    assert CUES.to_bytes(4, "big") not in raw_data
    (raw_info,) = [e for e in raw_children if e[0] == INFO]
    assert DURATION not in [e[0] for e in ebml_elements(raw_data, raw_info[1], raw_info[1] + raw_info[2])]


@pytest.mark.browser
def test_webm_master_decodes_all_the_way_through_without_error(recording, masters):
    kind, _, seconds = recording
    master, _, _ = masters[kind]
    with av.open(str(master)) as container:
        assert container.format.name in ("webm", "matroska,webm")
        codecs = sorted(s.codec_context.name for s in container.streams)
    assert codecs == (["opus"] if kind == "audio" else ["opus", "vp8"])

    ends = decode_everything(master)
    assert set(ends) == ({"audio"} if kind == "audio" else {"audio", "video"})
    for end in ends.values():
        assert end == pytest.approx(seconds, abs=0.3)


@pytest.mark.browser
def test_webm_remux_copies_packets_without_re_encoding(recording, masters):
    kind, _, _ = recording
    master, _, raw = masters[kind]

    def packets(path):  # per track, in order: the muxer may interleave the tracks differently
        by_track: dict[str, list[tuple[int, bytes]]] = {}
        with av.open(str(path)) as container:
            for p in container.demux(*container.streams):
                if p.dts is not None:
                    by_track.setdefault(p.stream.type, []).append((p.pts, bytes(p)))
        return by_track

    assert packets(master) == packets(raw)


@pytest.mark.browser
def test_webm_assembly_leaves_only_the_master_in_workdir(recording, tmp_path):
    _, chunks, _ = recording
    out = tmp_path / "master.webm"
    workdir = tmp_path / "work"
    workdir.mkdir()
    assemble_webm(streams(*chunks), out, workdir)
    assert list(workdir.iterdir()) == []
    assert out.exists()


@pytest.mark.browser
def test_a_missing_middle_chunk_still_gives_a_playable_master(recording, tmp_path):
    _, chunks, seconds = recording
    kept = chunks[:2] + chunks[3:]
    out = tmp_path / "gap.webm"

    result = assemble_webm(streams(*kept), out, tmp_path)

    assert result.duration_seconds == pytest.approx(seconds, abs=0.3)
    ends = decode_everything(out)
    assert ends and all(end == pytest.approx(seconds, abs=0.3) for end in ends.values())


@pytest.mark.browser
def test_a_block_whose_timestamp_goes_backwards_is_held_at_the_previous_timestamp(tmp_path):
    data = bytearray(b"".join(record("audio", SECONDS, 1000)[0]))
    cluster = next(e for e in segment_children(bytes(data)) if e[0] == CLUSTER)
    blocks = [
        e for e in ebml_elements(bytes(data), cluster[1], cluster[1] + cluster[2]) if e[0] == SIMPLE_BLOCK
    ]
    offset = blocks[10][1]
    assert data[offset] == 0x81  # track 1, then a 16-bit timestamp relative to the cluster
    data[offset + 1 : offset + 3] = b"\0\0"  # block 10 now claims to come at the cluster's start
    out = tmp_path / "master.webm"

    assemble_webm(streams(bytes(data)), out, tmp_path)

    with av.open(str(out)) as container:
        dts = [p.dts for p in container.demux() if p.dts is not None]
    assert len(dts) == sum(1 for _ in audio_packets(bytes(data)))  # nothing dropped
    assert dts == sorted(dts)
    assert dts[10] == dts[9]


@pytest.mark.browser
def test_a_missing_first_chunk_is_an_error_that_says_so(recording, tmp_path):
    _, chunks, _ = recording
    out = tmp_path / "master.webm"
    with pytest.raises(AssemblyError, match="chunk 0 is not a WebM file"):
        assemble_webm(streams(*chunks[1:]), out, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([wav_bytes(0.5)], "chunk 0 is not a WebM file"),
        ([b"", b"OggS" + bytes(60)], "chunk 1 is not a WebM file"),
        ([b"", b""], "every chunk is empty"),
        ([b"\x1a\x45\xdf\xa3" + bytes(200)], "cannot be read as WebM"),
    ],
    ids=["wav", "ogg-after-empty", "all-empty", "ebml-garbage"],
)
def test_webm_that_cannot_be_demuxed_is_an_assembly_error_and_leaves_nothing_behind(
    chunks, message, tmp_path
):
    out = tmp_path / "master.webm"
    with pytest.raises(AssemblyError, match=message):
        assemble_webm(streams(*chunks), out, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [None, b"", b"not media at all" * 100, b"\x1a\x45\xdf\xa3" + bytes(500), wav_bytes(0.1)[:20]],
    ids=["missing", "empty", "text", "ebml-garbage", "cut-wav"],
)
def test_probe_duration_is_none_for_anything_unreadable(content, tmp_path):
    path = tmp_path / "file"
    if content is not None:
        path.write_bytes(content)
    assert probe_duration(path) is None


# ------------------------------------------------------------------------------------------------- Chromium


@pytest.fixture(scope="module")
def browser_page():
    with chromium_page() as page:
        yield page


@pytest.fixture(scope="module")
def served(masters):
    root = next(iter(masters.values()))[0].parent
    with serve_directory(root) as base:
        yield base


@pytest.mark.browser
def test_chromium_shows_a_finite_duration_for_the_master_and_seeks_and_plays_from_75_percent(
    recording, masters, served, browser_page
):
    kind, _, seconds = recording
    master, assembled, _ = masters[kind]

    started = time.monotonic()
    result = play_in_chromium(browser_page, f"{served}/{master.name}", kind, fraction=0.75, play_ms=600)
    played = time.monotonic() - started

    assert result["error"] is None
    assert result["duration"] == pytest.approx(assembled.duration_seconds, abs=0.01)
    assert result["duration"] == pytest.approx(seconds, abs=0.3)
    assert result["afterSeek"] == pytest.approx(0.75 * result["duration"], abs=0.05)
    # Playback went on from the seek target, not from the start.
    assert result["seekTarget"] + 0.2 < result["afterPlay"] < result["seekTarget"] + played + 0.1


@pytest.mark.browser
def test_chromium_shows_an_infinite_duration_for_the_raw_concatenation(
    recording, masters, served, browser_page
):
    kind, _, _ = recording
    raw = masters[kind][2]

    result = play_in_chromium(browser_page, f"{served}/{raw.name}", kind, fraction=None)

    assert result["error"] is None
    assert math.isinf(result["duration"])
