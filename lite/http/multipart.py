"""Streaming multipart/form-data: the file part is handed on chunk by chunk, never buffered.

Litestar's own form parsing reads the whole body into memory first, which a 2 GiB upload can't
afford; this wraps the incremental parser of the `multipart` package instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from lite.errors import BadInput, TooLarge, UnsupportedMedia

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
MAX_PART_HEADER_BYTES = 8 * 1024

Event = MultipartSegment | bytes | None


@dataclass
class FilePart:
    filename: str | None
    chunks: AsyncIterator[bytes]


def boundary_of(content_type: str | None) -> str:
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise UnsupportedMedia(
            "send the upload as multipart/form-data with the file in the field `file` (curl: -F file=@x.webm)"
        )
    return options["boundary"]


async def _events(body: AsyncIterator[bytes], boundary: str) -> AsyncIterator[Event]:
    parser = PushMultipartParser(
        boundary, max_header_size=MAX_PART_HEADER_BYTES, max_header_count=16, max_segment_count=MAX_PARTS
    )
    try:
        async for chunk in body:
            if not chunk:
                continue
            for event in parser.parse(chunk):
                yield event
            if parser.closed:
                return
        for event in parser.parse(b""):
            yield event
        parser.close()
    except MultipartError as exc:
        raise BadInput(f"the multipart body is malformed: {exc}") from None


async def _file_chunks(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    async for event in events:
        if event is None:
            return
        assert isinstance(event, bytes)
        yield event
    raise BadInput("the multipart body ended in the middle of the file")


def wrong_field_hint(name: str) -> str:
    return (
        f"put the file in the field `{FILE_FIELD}` (it came in the field {name[:40]!r}; "
        "curl: -F file=@recording.webm)"
    )


def missing_file_hint(fields: dict[str, str]) -> str:
    """Why a form without a file part is refused, naming what came instead."""
    sent = ", ".join(repr(name[:40]) for name in list(fields)[:8]) or "none"
    return f"the form has no file: put the file in the field `{FILE_FIELD}` (fields sent: {sent})"


async def _field_value(name: str, events: AsyncIterator[Event], is_file: bool) -> str:
    """A form field's text. A part that carries a file name under another name than `file` is most
    likely the upload in the wrong field: when it is too large or not text, the answer says so
    (instead of "too large" or "not UTF-8", which hide the mistake)."""
    data = bytearray()
    async for event in events:
        if event is None:
            break
        assert isinstance(event, bytes)
        data += event
        if len(data) > MAX_FIELD_BYTES:
            if is_file:
                raise BadInput(wrong_field_hint(name))
            raise TooLarge(f"form field {name!r} is larger than {MAX_FIELD_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        detail = wrong_field_hint(name) if is_file else f"form field {name!r} is not valid UTF-8"
        raise BadInput(detail) from None


async def iter_form(
    body: AsyncIterator[bytes], content_type: str | None
) -> AsyncIterator[tuple[str, str | FilePart]]:
    """Yield (name, value) in body order; a FilePart's chunks must be consumed before asking for more."""
    events = _events(body, boundary_of(content_type))
    async for event in events:
        if not isinstance(event, MultipartSegment):
            raise BadInput("the multipart body is malformed")
        name = event.name or ""
        if name == FILE_FIELD:
            part = FilePart(filename=event.filename, chunks=_file_chunks(events))
            yield name, part
            async for _ in part.chunks:  # a consumer that stopped early: skip the rest of the part
                pass
        else:
            yield name, await _field_value(name, events, is_file=event.filename is not None)
