"""Serving a media file's bytes: conditional requests, Range, and the headers players rely on.

Pure decisions on top of lite.ranges; the route only turns a Reply into a response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from lite.clock import http_date
from lite.index import Row
from lite.ranges import UNSATISFIABLE, ByteRange, if_range_allows, parse_range, unsatisfied_content_range
from lite.storage import Storage

MEDIA_HEADERS = {
    "Accept-Ranges": "bytes",
    "X-Content-Type-Options": "nosniff",
    # Media is per-user: shared caches must not keep it; browsers revalidate with the ETag.
    "Cache-Control": "private, no-cache",
}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = None
    detail: str | None = None  # for error statuses: the JSON detail


def validators(media_row: Row) -> tuple[str | None, str]:
    sha = media_row.get("sha256")
    etag = f'"{sha[:32]}"' if sha else None
    return etag, http_date(media_row["updated_at"])


def _etag_matches(if_none_match: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if if_none_match.strip() == "*":
        return True
    # If-None-Match uses weak comparison: W/"x" matches "x".
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return etag in tags


async def serve(
    storage: Storage, media_row: Row, filename: str, request_headers: Mapping[str, str], head_only: bool
) -> Reply:
    size = int(media_row["file_size_bytes"])
    etag, last_modified = validators(media_row)
    headers = {
        **MEDIA_HEADERS,
        "Content-Type": media_row["content_type"],
        "Content-Disposition": f'inline; filename="{filename}"',
        "Last-Modified": last_modified,
    }
    if etag:
        headers["ETag"] = etag

    if_none_match = request_headers.get("if-none-match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return Reply(304, {k: v for k, v in headers.items() if k != "Content-Type"})

    wanted: ByteRange | None = None
    if if_range_allows(request_headers.get("if-range"), etag, last_modified):
        parsed = parse_range(request_headers.get("range"), size)
        if parsed is UNSATISFIABLE:
            error_headers = {**MEDIA_HEADERS, "Content-Range": unsatisfied_content_range(size)}
            return Reply(
                416, error_headers, detail=f"the requested range is outside the file of {size} bytes"
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
    body = await storage.open_read(media_row["storage_key"], start, length)
    return Reply(status, headers, body=body)
