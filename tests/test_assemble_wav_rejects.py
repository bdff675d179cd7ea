"""WAV assembly (lite.media.assemble_wav): what is refused, with a sentence saying why.

A later chunk in another format or container, a first chunk that is not WAV, a broken or compressed
WAV, and no chunks at all are AssemblyErrors naming the chunk and the reason.
"""

from __future__ import annotations

import io

import pytest

from lite.media.assemble import AssemblyError, assemble_wav
from tests.assemblekit import streams, wav_file
from tests.mediakit import wav_bytes


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
def test_a_chunk_with_a_different_format_is_rejected(other: bytes, difference: str) -> None:
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
def test_a_first_chunk_that_is_not_wav_is_rejected(first: bytes) -> None:
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
def test_a_later_chunk_in_another_container_is_rejected_rather_than_played_as_noise(
    later: bytes, name: str
) -> None:
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
def test_a_broken_or_compressed_wav_is_rejected_with_the_reason(chunk: bytes, reason: str) -> None:
    with pytest.raises(AssemblyError, match=reason):
        assemble_wav(streams(chunk), io.BytesIO())


def test_no_chunks_is_an_error() -> None:
    with pytest.raises(AssemblyError, match="no chunks"):
        assemble_wav([], io.BytesIO())
