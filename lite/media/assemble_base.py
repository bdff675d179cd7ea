"""What WAV and WebM assembly share: the result, the error, and reading chunks in bounded blocks.

Chunks are only read with ``.read(n)``; they are never seeked, so botocore StreamingBody objects work
as well as files. No chunk is held in memory beyond one block of ``BLOCK_SIZE`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

BLOCK_SIZE = 1 << 20  # the most bytes held from a chunk at once


@dataclass(frozen=True)
class Assembled:
    duration_seconds: float | None
    size: int  # bytes written to out


class AssemblyError(Exception):
    """The chunks cannot be assembled; the message is a sentence meant for API users."""


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at end of stream (``read`` may return short reads)."""
    first = stream.read(n)
    if not first or len(first) >= n:
        return bytes(first or b"")
    parts = [first]
    got = len(first)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def skip(stream: BinaryIO, n: int) -> bool:
    """Read and discard ``n`` bytes in blocks; False if the stream ended first."""
    while n > 0:
        got = stream.read(min(n, BLOCK_SIZE))
        if not got:
            return False
        n -= len(got)
    return True
