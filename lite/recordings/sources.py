"""Where a media file's bytes come from: its master object, or, while a bot is still recording,
the chunks received so far read back to back as one file (so a running meeting can be heard)."""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from lite.catalog.records import Chunk, MediaFile
from lite.clock import http_date
from lite.http.playback import MediaSource
from lite.recordings.titles import content_disposition
from lite.storage import Storage


def contiguous(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks from 0 up to the first gap: what plays in order today."""
    run: list[Chunk] = []
    for expected, chunk in enumerate(chunks):
        if chunk.seq != expected:
            break
        run.append(chunk)
    return run


def master_source(
    storage: Storage, media: MediaFile, filename: str, disposition: str = "inline", redirect_seconds: int = 0
) -> MediaSource:
    """`redirect_seconds`: when not 0, a GET may be sent to the store itself with a presigned URL
    valid that long (RAW_REDIRECT_TO_STORE; the storage kind decides whether one exists)."""
    sha, key = media.sha256, media.storage_key

    async def open_range(start: int, length: int) -> AsyncIterator[bytes]:
        return await storage.open_read(key, start, length)

    async def read_range(start: int, length: int) -> bytes:
        return await storage.read_range(key, start, length)

    def direct_url() -> str | None:
        return presigned(storage, media, filename, disposition, redirect_seconds)

    return MediaSource(
        read=read_range,
        local_file=lambda: storage.local_file(key),
        direct_url=direct_url if redirect_seconds else None,
        disposition=disposition,
        size=media.file_size_bytes,
        etag=f'"{sha[:32]}"' if sha else None,
        last_modified=http_date(media.updated_at),
        content_type=media.content_type,
        filename=filename,
        open=open_range,
    )


def presigned(
    storage: Storage, media: MediaFile, filename: str, disposition: str, seconds: int
) -> str | None:
    """A URL straight to the store for `seconds` (None on local), naming the file as /raw does."""
    named = content_disposition(disposition, filename)
    return storage.presign(media.storage_key, named, media.content_type, seconds)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL: what a Content-Security-Policy source names."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def chunks_source(
    storage: Storage, media: MediaFile, chunks: list[Chunk], filename: str, disposition: str = "inline"
) -> MediaSource:
    run = contiguous(chunks)
    starts: list[int] = []
    total = 0
    for chunk in run:
        starts.append(total)
        total += chunk.size
    # Changes whenever a chunk arrives or is replaced, so If-Range never splices two versions.
    version = "-".join(chunk.sha256[:8] for chunk in run[-3:])
    etag = f'"live-{media.id}-{len(run)}-{total}-{version}"'

    async def open_range(start: int, length: int) -> AsyncIterator[bytes]:
        first = max(bisect.bisect_right(starts, start) - 1, 0)
        # Open the first chunk now, so a missing object fails before the response starts.
        head = await storage.open_read(run[first].storage_key, start - starts[first], None) if run else None
        return _read_on(storage, run, starts, first, head, start, length)

    return MediaSource(
        size=total,
        etag=etag,
        last_modified=http_date(media.updated_at),
        content_type=media.content_type,
        filename=filename,
        open=open_range,
        disposition=disposition,
    )


async def _read_on(
    storage: Storage,
    run: list[Chunk],
    starts: list[int],
    first: int,
    head: AsyncIterator[bytes] | None,
    start: int,
    length: int,
) -> AsyncIterator[bytes]:
    remaining = length
    index = first
    stream = head
    while stream is not None and remaining > 0:
        async for block in stream:
            block = block[:remaining]
            remaining -= len(block)
            yield block
            if remaining <= 0:
                break
        await stream.aclose()  # type: ignore[attr-defined]
        index += 1
        stream = (
            await storage.open_read(run[index].storage_key, 0, None)
            if index < len(run) and remaining > 0
            else None
        )
