"""WebM assembly (lite.media.assemble_webm): MediaRecorder chunks are remuxed into a seekable master.

Real MediaRecorder chunks from headless Chromium are concatenated and remuxed without re-encoding,
so that the master has a Duration and Cues (which the raw concatenation lacks), decodes to the end,
survives a lost middle chunk and holds timestamps that go backwards.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from lite.media.assemble import assemble_webm, probe_duration
from tests.assemblekit import (
    SECONDS,
    Masters,
    Recording,
    fixture_masters,  # noqa: F401 - a fixture
    fixture_recording,  # noqa: F401 - a fixture
    streams,
)
from tests.mediakit import record

pytestmark = pytest.mark.browser


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


def audio_packets(webm: bytes) -> Iterator[av.Packet]:
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


def test_raw_mediarecorder_concatenation_has_no_duration(recording: Recording, masters: Masters) -> None:
    kind, chunks, _ = recording
    assert len(chunks) >= 5  # one blob per timeslice
    assert probe_duration(masters[kind][2]) is None


def test_webm_master_duration_matches_the_recorded_length_per_pyav(
    recording: Recording, masters: Masters
) -> None:
    kind, _, seconds = recording
    master, assembled, _ = masters[kind]
    assert assembled.duration_seconds == pytest.approx(seconds, abs=0.3)
    assert probe_duration(master) == assembled.duration_seconds
    assert assembled.size == master.stat().st_size


def test_webm_master_duration_matches_the_recorded_length_per_ffprobe(
    recording: Recording, masters: Masters
) -> None:
    kind, _, seconds = recording
    assert ffprobe_duration(masters[kind][0]) == pytest.approx(seconds, abs=0.3)


def test_webm_master_has_duration_and_cues_elements_which_mediarecorder_output_lacks(
    recording: Recording, masters: Masters
) -> None:
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


def test_webm_master_decodes_all_the_way_through_without_error(
    recording: Recording, masters: Masters
) -> None:
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


def test_webm_remux_copies_packets_without_re_encoding(recording: Recording, masters: Masters) -> None:
    kind, _, _ = recording
    master, _, raw = masters[kind]

    def packets(
        path: Path,
    ) -> dict[
        str, list[tuple[int, bytes]]
    ]:  # per track, in order: the muxer may interleave the tracks differently
        by_track: dict[str, list[tuple[int, bytes]]] = {}
        with av.open(str(path)) as container:
            for p in container.demux(*container.streams):
                if p.dts is not None:
                    by_track.setdefault(p.stream.type, []).append((p.pts, bytes(p)))
        return by_track

    assert packets(master) == packets(raw)


def test_webm_assembly_leaves_only_the_master_in_workdir(recording: Recording, tmp_path: Path) -> None:
    _, chunks, _ = recording
    out = tmp_path / "master.webm"
    workdir = tmp_path / "work"
    workdir.mkdir()
    assemble_webm(streams(*chunks), out, workdir)
    assert list(workdir.iterdir()) == []
    assert out.exists()


def test_a_missing_middle_chunk_still_gives_a_playable_master(recording: Recording, tmp_path: Path) -> None:
    _, chunks, seconds = recording
    kept = chunks[:2] + chunks[3:]
    out = tmp_path / "gap.webm"

    result = assemble_webm(streams(*kept), out, tmp_path)

    assert result.duration_seconds == pytest.approx(seconds, abs=0.3)
    ends = decode_everything(out)
    assert ends and all(end == pytest.approx(seconds, abs=0.3) for end in ends.values())


def test_a_block_whose_timestamp_goes_backwards_is_held_at_the_previous_timestamp(tmp_path: Path) -> None:
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


def test_the_same_chunks_always_assemble_into_the_same_bytes(recording: Recording, tmp_path: Path) -> None:
    """Two replicas finalizing one session at once store one master: its sha256 must not depend on
    the run (no random segment UID, no muxer version string)."""
    _, chunks, _ = recording
    digests = set()
    for run in range(2):
        out = tmp_path / f"master-{run}.webm"
        assemble_webm([io.BytesIO(c) for c in chunks], out, tmp_path)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert len(digests) == 1
