"""The rules for a chunk's fields, as properties over any input a stranger can send: a chunk number
is ASCII digits within 0..RECORDING_MAX_CHUNKS or the upload is refused; nothing but a clear 422
comes out of parsing; missing chunks are ranges whose size does not grow with the numbers sent."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from lite.catalog.records import Chunk
from lite.errors import BadInput
from lite.sessions.chunk_meta import ChunkMeta, parse_seq
from lite.sessions.finalize import missing_ranges

MOST = 100_000
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30))


@given(st.text(max_size=20))
def test_a_chunk_number_is_ascii_digits_within_the_limit(text: str) -> None:
    seq = parse_seq(text, MOST)
    plain = text.strip()
    if plain.isascii() and plain.isdigit() and int(plain) <= MOST:
        assert seq == int(plain)
    else:
        assert seq is None


@given(st.integers())
def test_a_chunk_number_sent_as_a_json_number_obeys_the_same_bounds(number: int) -> None:
    assert parse_seq(number, MOST) == (number if 0 <= number <= MOST else None)


@given(st.dictionaries(st.sampled_from(["session_uid", "format", "media_type", "chunk_seq", "is_final",
                                        "meeting_id", "sample_rate", "duration_seconds", "user_id"]),
                       SCALARS), st.booleans())  # fmt: skip
def test_parsing_any_fields_gives_a_chunk_or_a_clear_refusal(values: dict, as_metadata: bool) -> None:
    fields = {"metadata": json.dumps(values)} if as_metadata else {k: str(v) for k, v in values.items()}
    try:
        meta = ChunkMeta.parse(fields, MOST)
    except BadInput as refusal:
        assert refusal.detail and len(refusal.detail) < 300
        return
    assert 0 <= meta.chunk_seq <= MOST
    assert meta.media_type in ("audio", "video")


def test_non_ascii_digits_are_not_a_chunk_number() -> None:
    assert parse_seq("٣", MOST) is None  # Arabic-Indic three: str.isdigit() says yes
    assert parse_seq("\uff11\uff12", MOST) is None  # full-width digits one and two


def test_a_bad_chunk_number_in_metadata_falls_back_to_the_flat_field_not_to_zero() -> None:
    fields = {"metadata": json.dumps({"session_uid": "s", "chunk_seq": "x"}), "chunk_seq": "7"}
    assert ChunkMeta.parse(fields, MOST).chunk_seq == 7


@given(st.sets(st.integers(0, 10_000_000), max_size=50), st.one_of(st.none(), st.integers(0, 10_000_000)))
def test_missing_chunks_are_at_most_one_range_per_chunk_received(
    present: set[int], final: int | None
) -> None:
    chunks = [Chunk(media_id=1, seq=n, storage_key=f"{n}", size=1, sha256="", created_at="") for n in present]
    ranges = missing_ranges(chunks, final)
    assert len(ranges) <= len(present) + 1
    covered = sum(last - first + 1 for first, last in ranges)
    top = max([*present, -1 if final is None else final])
    assert covered == top + 1 - len(present)
    assert all(not (first <= seq <= last) for first, last in ranges for seq in present)
