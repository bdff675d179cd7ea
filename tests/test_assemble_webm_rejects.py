"""WebM assembly (lite.media.assemble_webm): what is refused, and that a refusal leaves no file behind.

A recording without its first chunk (the EBML header), chunks in another container, empty chunks and
EBML garbage are AssemblyErrors; neither the master nor the temporary concatenation is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lite.media.assemble import AssemblyError, assemble_webm
from tests.assemblekit import (
    Recording,
    fixture_recording,  # noqa: F401 - a fixture
    streams,
)
from tests.mediakit import wav_bytes


@pytest.mark.browser
def test_a_missing_first_chunk_is_an_error_that_says_so(recording: Recording, tmp_path: Path) -> None:
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
    chunks: list[bytes], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "master.webm"
    with pytest.raises(AssemblyError, match=message):
        assemble_webm(streams(*chunks), out, tmp_path)
    assert list(tmp_path.iterdir()) == []
