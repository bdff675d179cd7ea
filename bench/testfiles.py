"""The files a run sends: WAV recordings of a given size for the download, Range, memory and minio
measurements, and the WebM chunks the simulated bots upload."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from loads import MiB


def make_wav(path: Path, size: int) -> Path:
    """A WAV file of `size` bytes: a real 48 kHz stereo 16-bit header, random samples."""
    data_len = size - 44
    header = (
        b"RIFF"
        + (size - 8).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (2).to_bytes(2, "little")
        + (48000).to_bytes(4, "little")
        + (48000 * 4).to_bytes(4, "little")
        + (4).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
        + b"data"
        + data_len.to_bytes(4, "little")
    )
    block = os.urandom(8 * MiB)
    with open(path, "wb") as f:
        f.write(header)
        left = data_len
        while left > 0:
            piece = block[: min(left, len(block))]
            f.write(piece)
            left -= len(piece)
            block = block[1:] + block[:1] if left > 0 else block  # no two blocks alike
    return path


def webm_pieces(tmp: Path) -> list[Path]:
    """A real Opus-in-WebM stream from ffmpeg, cut into 160 KB chunks (the first has the header)."""
    webm = tmp / "bot.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=60",
            "-c:a",
            "libopus",
            "-b:a",
            "128k",
            "-f",
            "webm",
            str(webm),
        ],
        check=True,
        timeout=120,
    )
    data = webm.read_bytes()
    folder = tmp / "pieces"
    folder.mkdir()
    chunk = 160_000
    paths = []
    for i in range(0, len(data) - chunk + 1, chunk):
        path = folder / f"{i // chunk:03d}.webm"
        path.write_bytes(data[i : i + chunk])
        paths.append(path)
    if not paths:
        raise RuntimeError("ffmpeg produced less than one 160 KB chunk")
    return paths
