"""HTTP Range and If-Range (RFC 9110 §14), for one range per request.

A request naming several ranges is answered with the whole file (200): RFC 9110 lets a server
ignore Range, media players never ask for more than one, and multipart/byteranges would only add
a second, rarely used response format.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_DIGITS = frozenset("0123456789")
_MAX_DIGITS = 20  # more than any real file offset; keeps hostile headers cheap


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int  # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable:
    """The request names a range that lies wholly outside the file: answer 416."""

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE = Unsatisfiable()


def unsatisfied_content_range(size: int) -> str:
    return f"bytes */{size}"


def _number(text: str) -> int | None:
    if not text or len(text) > _MAX_DIGITS or not _DIGITS.issuperset(text):
        return None
    return int(text)


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """None means: serve the whole file (no header, a malformed one, another unit, several ranges)."""
    if not header:
        return None
    unit, sep, spec_list = header.partition("=")
    if not sep or unit.lower() != "bytes":
        return None
    specs = spec_list.split(",")
    if len(specs) != 1:
        return None
    first, dash, last = specs[0].strip(" \t").partition("-")
    if not dash:
        return None
    if first == "":
        suffix = _number(last)
        if suffix is None:
            return None
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _number(first)
    end = _number(last) if last else size - 1
    if start is None or end is None or (last and end < start):
        return None
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, min(end, size - 1))


def if_range_allows(if_range: str | None, etag: str | None, last_modified: str | None) -> bool:
    """Whether a Range may be honoured: If-Range absent, or it names the current version exactly."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        # Strong comparison: a weak tag never matches.
        return etag is not None and value == etag and not etag.startswith("W/")
    if last_modified is None:
        return False
    try:
        return parsedate_to_datetime(value) == parsedate_to_datetime(last_modified)
    except (TypeError, ValueError, IndexError):
        return False
