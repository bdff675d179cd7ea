"""HTTP Range and If-Range (RFC 9110 §14 and §13.1.5), for one range per request.

A request naming several ranges is answered with the whole file (200): RFC 9110 lets a server
ignore Range, media players never ask for more than one, and multipart/byteranges would only add
a second, rarely used response format.

Choices where the RFC leaves room:
- Anything malformed (bad syntax, another unit, a-b with a > b, non-ASCII digits, numbers longer
  than 20 digits) is ignored like an absent header, so the client gets the full body (200).
- Empty list elements ("bytes=0-99,") are skipped, as §5.6.1.2 asks of recipients; optional
  whitespace is tolerated around the range-spec and commas, never around "=".
- If-Range dates compare as instants, so the three HTTP-date formats match each other; a date
  without a zone (asctime) is GMT, as HTTP-dates always are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

_OWS = " \t"
_DIGITS = frozenset("0123456789")
_MAX_DIGITS = 20  # more than any real file offset (2**64 has 20 digits); keeps hostile headers cheap


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int  # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class Unsatisfiable(enum.Enum):
    """The request names a range that lies wholly outside the file: answer 416.

    A one-member enum so that UNSATISFIABLE stays the only instance (also across copy and pickle)
    and type checkers narrow `parsed is UNSATISFIABLE`.
    """

    UNSATISFIABLE = "unsatisfiable"

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE: Final = Unsatisfiable.UNSATISFIABLE


def unsatisfied_content_range(size: int) -> str:
    return f"bytes */{size}"


def _number(text: str) -> int | None:
    # An explicit ASCII check: str.isdigit accepts "²", and int() accepts "٣", "+1", " 1" and "1_0".
    if not text or len(text) > _MAX_DIGITS or not _DIGITS.issuperset(text):
        return None
    return int(text)


def parse_range(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    """The one range to serve, UNSATISFIABLE (416), or None: serve the whole file (200)."""
    if size < 0:
        raise ValueError(f"negative size {size}")
    if not header:
        return None
    unit, eq, range_set = header.strip(_OWS).partition("=")
    # "bytes =0-1" leaves "bytes " as the unit, so whitespace before "=" is rejected here.
    if not eq or not unit.isascii() or unit.lower() != "bytes":
        return None
    specs = [spec for spec in (part.strip(_OWS) for part in range_set.split(",")) if spec]
    if len(specs) != 1:
        return None
    first, dash, last = specs[0].partition("-")
    if not dash:
        return None
    if not first:
        suffix = _number(last)
        if suffix is None:
            return None
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _number(first)
    if start is None:
        return None
    end = size - 1
    if last:
        last_pos = _number(last)
        # a > b is invalid syntax (§14.1.1), not an unsatisfiable range.
        if last_pos is None or last_pos < start:
            return None
        end = min(last_pos, end)
    if start >= size:
        return UNSATISFIABLE
    return ByteRange(start, end)


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: absurd years or zone offsets
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def if_range_allows(if_range: str | None, etag: str | None, last_modified: str | None) -> bool:
    """Whether a Range may be honoured: If-Range absent, or it names the current version exactly.

    False means the client's copy is stale (or the validator unusable): ignore Range, send 200.
    """
    if if_range is None:
        return True
    value = if_range.strip(_OWS)
    if value.startswith(('"', "W/")):
        # Strong comparison (§8.8.3.2): a weak tag on either side never matches.
        return etag is not None and not etag.startswith("W/") and value == etag
    if last_modified is None:
        return False
    requested = _http_date(value)
    return requested is not None and requested == _http_date(last_modified)
