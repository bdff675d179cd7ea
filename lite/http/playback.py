"""Serving a media file's bytes: conditional requests, Range, and the headers players rely on.

Pure decisions on top of lite.http.ranges over a MediaSource (a stored master file, or the chunks of a
recording still in progress); the Reply sends itself (lite.http.media_reply).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from lite.http.media_reply import FileSlice, Reply
from lite.http.ranges import UNSATISFIABLE, ByteRange, if_range_allows, parse_range, unsatisfied_content_range
from lite.recordings.titles import content_disposition

MEDIA_HEADERS = {
    "Accept-Ranges": "bytes",
    "X-Content-Type-Options": "nosniff",
    # Media is per-user: shared caches must not keep it; browsers revalidate with the ETag.
    "Cache-Control": "private, no-cache",
}

# A presigned URL expires: neither a browser nor a cache may keep the redirect to it.
REDIRECT_HEADERS = {"Cache-Control": "no-store", "Content-Length": "0"}

SMALL_BODY = 1024 * 1024  # read at once and sent as one body, without a streaming response


@dataclass(frozen=True)
class MediaSource:
    size: int
    etag: str | None
    last_modified: str  # an HTTP date
    content_type: str
    filename: str
    open: Callable[[int, int], Awaitable[AsyncIterator[bytes]]]  # (start, length) -> bytes
    read: Callable[[int, int], Awaitable[bytes]] | None = None  # (start, length) -> all of them at once
    local_file: Callable[[], BinaryIO | None] | None = None  # the bytes as an open local file, if so
    direct_url: Callable[[], str | None] | None = None  # a URL where the store sends them itself, if so
    disposition: str = "inline"  # or "attachment": /raw?download=1, a browser saves the file


def _etag_matches(if_none_match: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses weak comparison: W/"x" matches "x".
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return etag in tags


async def serve(
    source: MediaSource, request_headers: Mapping[str, str], head_only: bool, zero_copy: bool = False
) -> Reply:
    """The answer to a read of `source`; `zero_copy`: the server sends local files with sendfile."""
    size = source.size
    headers = {
        **MEDIA_HEADERS,
        "Content-Type": source.content_type,
        "Content-Disposition": content_disposition(source.disposition, source.filename),  # RFC 6266
        "Last-Modified": source.last_modified,
    }
    if source.etag:
        headers["ETag"] = source.etag

    if_none_match = request_headers.get("if-none-match")
    if if_none_match and _etag_matches(if_none_match, source.etag):
        return Reply(304, {k: v for k, v in headers.items() if k != "Content-Type"})

    if not head_only and source.direct_url is not None:
        url = source.direct_url()
        if url is not None:  # the client asks the store, Range and all (RAW_REDIRECT_TO_STORE)
            return Reply(302, {**REDIRECT_HEADERS, "Location": url})

    wanted: ByteRange | None = None
    if if_range_allows(request_headers.get("if-range"), source.etag, source.last_modified):
        parsed = parse_range(request_headers.get("range"), size)
        if parsed is UNSATISFIABLE:
            error_headers = {**MEDIA_HEADERS, "Content-Range": unsatisfied_content_range(size)}
            return Reply(
                416,
                error_headers,
                detail=f"the requested range is outside the file of {size} bytes",
                code="range_not_satisfiable",
            )
        wanted = parsed if isinstance(parsed, ByteRange) else None

    if wanted is None:
        status, start, length = 200, 0, size
    else:
        status, start, length = 206, wanted.start, wanted.length
        headers["Content-Range"] = wanted.content_range(size)
    headers["Content-Length"] = str(length)
    if head_only:
        return Reply(status, headers)
    if zero_copy and source.local_file is not None and length:
        local = source.local_file()
        if local is not None:
            return Reply(status, headers, file=FileSlice(local, start, length))
    if source.read is not None and length <= SMALL_BODY:
        return Reply(status, headers, content=await source.read(start, length))
    return Reply(status, headers, body=await source.open(start, length))
