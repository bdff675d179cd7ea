"""The Range / If-Range rules of lite.http.ranges, one behaviour per case (RFC 9110 §14, §13.1.5)."""

from __future__ import annotations

import copy
import pickle

import pytest

from lite.http.ranges import (
    UNSATISFIABLE,
    ByteRange,
    Unsatisfiable,
    if_range_allows,
    parse_range,
    unsatisfied_content_range,
)

SIZE = 1000  # the file size for every case that does not name its own
FULL = None  # parse_range's answer meaning "ignore Range, serve the whole file (200)"

Expected = ByteRange | Unsatisfiable | None

# (id, header, size, expected)
RANGE_CASES: list[tuple[str, str | None, int, Expected]] = [
    # absent
    ("no header serves the whole file", None, SIZE, FULL),
    ("empty header serves the whole file", "", SIZE, FULL),
    # satisfiable single ranges
    ("first byte only: bytes=0-0", "bytes=0-0", SIZE, ByteRange(0, 0)),
    ("first hundred bytes", "bytes=0-99", SIZE, ByteRange(0, 99)),
    ("a slice in the middle", "bytes=100-199", SIZE, ByteRange(100, 199)),
    ("last byte by position: bytes=999-999", "bytes=999-999", SIZE, ByteRange(999, 999)),
    ("last byte by suffix: bytes=-1", "bytes=-1", SIZE, ByteRange(999, 999)),
    ("whole file by explicit range", "bytes=0-999", SIZE, ByteRange(0, 999)),
    ("open end runs to the last byte", "bytes=500-", SIZE, ByteRange(500, 999)),
    ("open end from zero is the whole file", "bytes=0-", SIZE, ByteRange(0, 999)),
    ("open end at the last byte", "bytes=999-", SIZE, ByteRange(999, 999)),
    ("end one past the file is clamped", "bytes=0-1000", SIZE, ByteRange(0, 999)),
    ("end far past the file is clamped", "bytes=990-5000000", SIZE, ByteRange(990, 999)),
    ("suffix inside the file", "bytes=-100", SIZE, ByteRange(900, 999)),
    ("suffix equal to the file is the whole file", "bytes=-1000", SIZE, ByteRange(0, 999)),
    ("suffix longer than the file is the whole file", "bytes=-5000", SIZE, ByteRange(0, 999)),
    ("one-byte file, bytes=0-", "bytes=0-", 1, ByteRange(0, 0)),
    ("one-byte file, suffix longer than it", "bytes=-10", 1, ByteRange(0, 0)),
    ("leading zeros are plain decimal", "bytes=007-0010", SIZE, ByteRange(7, 10)),
    ("twenty digits are still a number", "bytes=0-99999999999999999999", SIZE, ByteRange(0, 999)),
    # unsatisfiable: 416
    ("first pos equal to size", "bytes=1000-", SIZE, UNSATISFIABLE),
    ("first pos equal to size, closed", "bytes=1000-1000", SIZE, UNSATISFIABLE),
    ("first pos past the file", "bytes=5000-6000", SIZE, UNSATISFIABLE),
    ("twenty-digit first pos", "bytes=99999999999999999999-", SIZE, UNSATISFIABLE),
    ("zero-length suffix bytes=-0", "bytes=-0", SIZE, UNSATISFIABLE),
    ("empty file, bytes=0-0", "bytes=0-0", 0, UNSATISFIABLE),
    ("empty file, bytes=0-", "bytes=0-", 0, UNSATISFIABLE),
    ("empty file, suffix", "bytes=-5", 0, UNSATISFIABLE),
    ("empty file, bytes=-0", "bytes=-0", 0, UNSATISFIABLE),
    # several ranges: deliberately served whole rather than as multipart/byteranges
    ("two ranges", "bytes=0-0,-1", SIZE, FULL),
    ("two ranges with whitespace", "bytes=0-99, 200-299", SIZE, FULL),
    ("two overlapping ranges", "bytes=0-500,400-999", SIZE, FULL),
    ("two ranges, one unsatisfiable", "bytes=0-1,5000-6000", SIZE, FULL),
    ("two unsatisfiable ranges", "bytes=5000-,6000-", SIZE, FULL),
    # units
    ("unit is case-insensitive: BYTES", "BYTES=0-9", SIZE, ByteRange(0, 9)),
    ("unit is case-insensitive: Bytes", "Bytes=0-9", SIZE, ByteRange(0, 9)),
    ("another unit is ignored", "items=0-9", SIZE, FULL),
    ("singular 'byte' is another unit", "byte=0-9", SIZE, FULL),
    ("non-ASCII look-alike unit (long s)", "byte\u017f=0-9", SIZE, FULL),
    ("empty unit", "=0-9", SIZE, FULL),
    # whitespace
    ("spaces around the range-spec", "bytes=  0-9  ", SIZE, ByteRange(0, 9)),
    ("tabs around the range-spec", "bytes=\t0-9\t", SIZE, ByteRange(0, 9)),
    ("whitespace around the whole value", " bytes=0-9 ", SIZE, ByteRange(0, 9)),
    ("trailing empty list element", "bytes=0-9,", SIZE, ByteRange(0, 9)),
    ("empty list elements with spaces", "bytes= , 0-9 ,, ", SIZE, ByteRange(0, 9)),
    ("space before '=' is malformed", "bytes =0-9", SIZE, FULL),
    ("space inside the range-spec is malformed", "bytes=0 - 9", SIZE, FULL),
    ("space inside a number is malformed", "bytes=1 0-20", SIZE, FULL),
    ("newline is not whitespace here", "bytes=\n0-9", SIZE, FULL),
    # malformed: served whole
    ("missing '='", "bytes 0-9", SIZE, FULL),
    ("bare unit", "bytes", SIZE, FULL),
    ("nothing after '='", "bytes=", SIZE, FULL),
    ("only commas after '='", "bytes=,,", SIZE, FULL),
    ("bare dash", "bytes=-", SIZE, FULL),
    ("no dash", "bytes=5", SIZE, FULL),
    ("first pos after last pos", "bytes=5-2", SIZE, FULL),
    ("first pos after last pos, both past the file", "bytes=5000-2000", SIZE, FULL),
    ("letters", "bytes=a-b", SIZE, FULL),
    ("hex", "bytes=0x10-0x20", SIZE, FULL),
    ("negative first pos", "bytes=-5-10", SIZE, FULL),
    ("negative last pos", "bytes=5--10", SIZE, FULL),
    ("double-dash suffix", "bytes=--5", SIZE, FULL),
    ("plus sign", "bytes=+5-10", SIZE, FULL),
    ("plus sign on suffix", "bytes=-+5", SIZE, FULL),
    ("decimal point", "bytes=1.5-10", SIZE, FULL),
    ("exponent", "bytes=1e3-", SIZE, FULL),
    ("superscript digit", "bytes=\u00b2-9", SIZE, FULL),
    ("Arabic-Indic digit", "bytes=\u0663-9", SIZE, FULL),
    ("fullwidth digit", "bytes=\uff11-9", SIZE, FULL),
    ("underscore in a number", "bytes=1_0-20", SIZE, FULL),
    ("underscore in a suffix", "bytes=-1_0", SIZE, FULL),
    ("twenty-one digit first pos", "bytes=100000000000000000000-", SIZE, FULL),
    ("twenty-one digit last pos", "bytes=0-100000000000000000000", SIZE, FULL),
    ("twenty-one digit suffix", "bytes=-100000000000000000000", SIZE, FULL),
    ("huge number", "bytes=0-" + "9" * 10_000, SIZE, FULL),
    ("two '=' signs", "bytes==0-9", SIZE, FULL),
    ("a second '=' in the range-set", "bytes=0-9=", SIZE, FULL),
]


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [pytest.param(header, size, expected, id=name) for name, header, size, expected in RANGE_CASES],
)
def test_parse_range(header: str | None, size: int, expected: Expected) -> None:
    assert parse_range(header, size) == expected


def test_parse_range_rejects_a_negative_size() -> None:
    with pytest.raises(ValueError):
        parse_range("bytes=0-0", -1)


@pytest.mark.parametrize(
    ("byte_range", "size", "length", "content_range"),
    [
        pytest.param(ByteRange(0, 0), 1000, 1, "bytes 0-0/1000", id="first byte"),
        pytest.param(ByteRange(0, 99), 1000, 100, "bytes 0-99/1000", id="first hundred"),
        pytest.param(ByteRange(999, 999), 1000, 1, "bytes 999-999/1000", id="last byte"),
        pytest.param(ByteRange(0, 999), 1000, 1000, "bytes 0-999/1000", id="whole file"),
    ],
)
def test_byte_range_length_and_content_range(
    byte_range: ByteRange, size: int, length: int, content_range: str
) -> None:
    assert byte_range.length == length
    assert byte_range.content_range(size) == content_range


@pytest.mark.parametrize(("size", "expected"), [(0, "bytes */0"), (1000, "bytes */1000")])
def test_unsatisfied_content_range(size: int, expected: str) -> None:
    assert unsatisfied_content_range(size) == expected


def test_unsatisfiable_is_a_singleton() -> None:
    assert isinstance(UNSATISFIABLE, Unsatisfiable)
    assert copy.deepcopy(UNSATISFIABLE) is UNSATISFIABLE
    assert pickle.loads(pickle.dumps(UNSATISFIABLE)) is UNSATISFIABLE
    assert parse_range("bytes=-0", 10) is UNSATISFIABLE


ETAG = '"3f2a9c"'
LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT"

# (id, if_range, etag, last_modified, allowed)
IF_RANGE_CASES: list[tuple[str, str | None, str | None, str | None, bool]] = [
    ("absent If-Range allows the range", None, ETAG, LAST_MODIFIED, True),
    ("absent If-Range allows it without validators", None, None, None, True),
    # entity-tags
    ("strong tag that matches", ETAG, ETAG, LAST_MODIFIED, True),
    ("strong tag with surrounding whitespace", f"  {ETAG}\t", ETAG, LAST_MODIFIED, True),
    ("strong tag that differs", '"0000"', ETAG, LAST_MODIFIED, False),
    ("tag compare is case-sensitive", '"3F2A9C"', ETAG, LAST_MODIFIED, False),
    ("unquoted tag does not match", "3f2a9c", ETAG, LAST_MODIFIED, False),
    ("weak tag never matches a strong one", f"W/{ETAG}", ETAG, LAST_MODIFIED, False),
    ("weak tag never matches even an identical weak one", f"W/{ETAG}", f"W/{ETAG}", LAST_MODIFIED, False),
    ("strong tag never matches a weak current tag", ETAG, f"W/{ETAG}", LAST_MODIFIED, False),
    ("tag when the file has no etag", ETAG, None, LAST_MODIFIED, False),
    ("tag is not compared with the date", f'"{LAST_MODIFIED}"', ETAG, LAST_MODIFIED, False),
    # dates
    ("date equal to Last-Modified", LAST_MODIFIED, ETAG, LAST_MODIFIED, True),
    ("date equal, file without etag", LAST_MODIFIED, None, LAST_MODIFIED, True),
    ("date equal in RFC 850 form", "Sunday, 06-Nov-94 08:49:37 GMT", ETAG, LAST_MODIFIED, True),
    ("date equal in asctime form", "Sun Nov  6 08:49:37 1994", ETAG, LAST_MODIFIED, True),
    ("date one second earlier", "Sun, 06 Nov 1994 08:49:36 GMT", ETAG, LAST_MODIFIED, False),
    ("date one second later", "Sun, 06 Nov 1994 08:49:38 GMT", ETAG, LAST_MODIFIED, False),
    ("date a day different", "Mon, 07 Nov 1994 08:49:37 GMT", ETAG, LAST_MODIFIED, False),
    ("date when the file has no Last-Modified", LAST_MODIFIED, ETAG, None, False),
    ("date against an unparsable Last-Modified", LAST_MODIFIED, ETAG, "yesterday", False),
    # garbage
    ("empty If-Range", "", ETAG, LAST_MODIFIED, False),
    ("garbage If-Range", "not a date", ETAG, LAST_MODIFIED, False),
    ("date with an impossible hour", "Sun, 06 Nov 1994 25:49:37 GMT", ETAG, LAST_MODIFIED, False),
    ("date with a huge year", "Sun, 06 Nov 99999999999999999999 08:49:37 GMT", ETAG, LAST_MODIFIED, False),
    (
        "date with a huge zone offset",
        "Sun, 06 Nov 1994 08:49:37 +9999999999999999999999",
        ETAG,
        LAST_MODIFIED,
        False,
    ),
]


@pytest.mark.parametrize(
    ("if_range", "etag", "last_modified", "allowed"),
    [pytest.param(*case, id=name) for name, *case in IF_RANGE_CASES],
)
def test_if_range_allows(
    if_range: str | None, etag: str | None, last_modified: str | None, allowed: bool
) -> None:
    assert if_range_allows(if_range, etag, last_modified) is allowed
