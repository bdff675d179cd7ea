"""probe_duration (lite.media.probe): a missing, empty or unreadable file has no duration, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from lite.media.assemble import probe_duration
from tests.mediakit import wav_bytes


@pytest.mark.parametrize(
    "content",
    [None, b"", b"not media at all" * 100, b"\x1a\x45\xdf\xa3" + bytes(500), wav_bytes(0.1)[:20]],
    ids=["missing", "empty", "text", "ebml-garbage", "cut-wav"],
)
def test_probe_duration_is_none_for_anything_unreadable(content: bytes | None, tmp_path: Path) -> None:
    path = tmp_path / "file"
    if content is not None:
        path.write_bytes(content)
    assert probe_duration(path) is None
