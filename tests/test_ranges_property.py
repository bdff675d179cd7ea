"""parse_range against an independent model of RFC 9110 §14, over generated headers and sizes.

The model is a single regular expression for "exactly one range-spec" plus Python's own slice
semantics for which bytes a spec selects: a range is satisfiable when it selects any byte (§14.1.1),
which is the non-emptiness of range(size)[first:last + 1] or range(size)[-suffix:].
"""

from __future__ import annotations

import re
import string
from datetime import datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from lite.http.ranges import (
    UNSATISFIABLE,
    ByteRange,
    Unsatisfiable,
    if_range_allows,
    parse_range,
    unsatisfied_content_range,
)

MAX_SIZE = 10_000
SETTINGS = settings(max_examples=300, deadline=None)

# re.ASCII matters: with Unicode case folding "byte\u017f" would match (?i:bytes).
SINGLE_RANGE = re.compile(
    r"""
    [ \t]* (?i:bytes) =
    [ \t,]*                                  # OWS and empty list elements
    (?: (?P<first>[0-9]{1,20}) - (?P<last>[0-9]{1,20})?
      | - (?P<suffix>[0-9]{1,20})
    )
    [ \t,]*
    """,
    re.ASCII | re.VERBOSE,
)
CONTENT_RANGE = re.compile(r"bytes (?P<start>[0-9]+)-(?P<end>[0-9]+)/(?P<size>[0-9]+)", re.ASCII)
UNSATISFIED = re.compile(r"bytes \*/(?P<size>[0-9]+)", re.ASCII)


def model(header: str | None, size: int) -> ByteRange | Unsatisfiable | None:
    match = SINGLE_RANGE.fullmatch(header or "")
    if match is None:
        return None
    if match["suffix"] is not None:
        selected = range(size)[-int(match["suffix"]) :] if int(match["suffix"]) else range(0)
    else:
        first = int(match["first"])
        last = int(match["last"]) if match["last"] is not None else None
        if last is not None and last < first:
            return None
        selected = range(size)[first : None if last is None else last + 1]
    if not selected:
        return UNSATISFIABLE
    return ByteRange(selected[0], selected[-1])


# Small sizes too, so that small positions land on both sides of the end of the file.
sizes = st.one_of(st.integers(0, 20), st.integers(0, MAX_SIZE), st.sampled_from([0, 1, MAX_SIZE]))
ows = st.text(alphabet=" \t", max_size=2)
empty_elements = st.lists(st.tuples(ows, st.just(",")), max_size=2).map(
    lambda parts: "".join(map("".join, parts))
)
unit = st.sampled_from(["bytes", "BYTES", "Bytes", "bYtEs"])
# Positions cluster around the ends of typical files, plus numbers at the 20-digit limit.
position = st.one_of(st.integers(0, 20), st.integers(0, MAX_SIZE + 10))
decimal = st.builds("{}{}".format, st.text(alphabet="0", max_size=2), position)
numbers = st.one_of(decimal, decimal, st.text(alphabet=string.digits, min_size=19, max_size=22))


@st.composite
def first_last(draw: st.DrawFn) -> str:
    first = draw(numbers)
    # An independent last-byte-pos is before first-byte-pos half the time; a delta never is.
    last = draw(st.one_of(numbers, st.integers(0, MAX_SIZE).map(lambda delta: str(int(first) + delta))))
    return f"{first}-{last}"


range_spec = st.one_of(
    first_last(),
    st.builds("{}-".format, numbers),
    st.builds("-{}".format, numbers),
)


@st.composite
def well_formed(draw: st.DrawFn, max_specs: int = 3) -> str:
    """A Range value built from the grammar, with 1 to max_specs range-specs."""
    # Mostly one spec: several are all served whole, so they say less.
    count = draw(st.sampled_from([1, 1, 1, 2, 3]))
    specs = draw(st.lists(range_spec, min_size=1, max_size=min(count, max_specs)))
    pieces = [draw(ows) + spec + draw(ows) for spec in specs]
    return f"{draw(ows)}{draw(unit)}={draw(empty_elements)}{','.join(pieces)}{draw(empty_elements)}"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A well-formed value with one character inserted, replaced or deleted: near misses."""
    text = draw(well_formed())
    # Half the edits land next to "=", "-" or ",", where the grammar is strictest.
    structural = [i + shift for i, c in enumerate(text) if c in "=-," for shift in (0, 1)]
    at = draw(st.one_of(st.integers(0, len(text)), st.sampled_from(structural)))
    char = draw(
        st.one_of(st.sampled_from("=-, \t0123456789bB+_.\n\u00b2\u0663\uff11\u017f"), st.characters())
    )
    how = draw(st.sampled_from(["insert", "replace", "delete"]))
    if how == "insert":
        return text[:at] + char + text[at:]
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    return text[:at] + text[at + 1 :]


headers = st.one_of(
    well_formed(max_specs=1),
    well_formed(),
    mutated(),
    st.text(alphabet="bytesBYTES=-, \t0123456789", max_size=30),
    st.text(max_size=30),
    st.none(),
)


@SETTINGS
@given(header=headers, size=sizes)
@example(header="bytes =0-1", size=10)
@example(header="bytes= 0-1", size=10)
@example(header="byte\u017f=0-1", size=10)
@example(header="bytes=\u0663-9", size=10)
@example(header="bytes=1_0-20", size=100)
@example(header="bytes=-0", size=0)
@example(header="bytes=0-,", size=0)
def test_parse_range_agrees_with_the_model(header: str | None, size: int) -> None:
    assert parse_range(header, size) == model(header, size)


@SETTINGS
@given(header=well_formed(max_specs=1), size=sizes)
def test_a_well_formed_single_range_is_answered(header: str, size: int) -> None:
    # Keeps the model honest too: it must not wave grammatical requests through as "serve whole".
    first, _, last = header.partition("=")[2].strip(" \t,").partition("-")
    ignored = len(first) > 20 or len(last) > 20 or (bool(first and last) and int(last) < int(first))
    assert (model(header, size) is None) is ignored
    assert parse_range(header, size) == model(header, size)


@SETTINGS
@given(header=headers, size=sizes)
def test_a_returned_range_lies_inside_the_file(header: str | None, size: int) -> None:
    parsed = parse_range(header, size)
    if isinstance(parsed, ByteRange):
        assert 0 <= parsed.start <= parsed.end < size
        assert 1 <= parsed.length <= size
    else:
        assert parsed is None or parsed is UNSATISFIABLE


@SETTINGS
@given(size=st.integers(1, MAX_SIZE), data=st.data())
def test_content_range_round_trips(size: int, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start, size - 1))
    byte_range = ByteRange(start, end)
    match = CONTENT_RANGE.fullmatch(byte_range.content_range(size))
    assert match is not None
    assert (int(match["start"]), int(match["end"]), int(match["size"])) == (start, end, size)
    # Asking again for exactly the range that was served yields that range.
    assert parse_range(f"bytes={start}-{end}", size) == byte_range


@SETTINGS
@given(size=st.integers(0, 10**20))
def test_unsatisfied_content_range_round_trips(size: int) -> None:
    match = UNSATISFIED.fullmatch(unsatisfied_content_range(size))
    assert match is not None
    assert int(match["size"]) == size


etags = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12).map(
    lambda tag: f'"{tag}"'
)
moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2068, 12, 31))
dates = moments.map(lambda moment: moment.strftime("%a, %d %b %Y %H:%M:%S GMT"))
# Date-shaped values with absurd fields: the parser must reject them, not raise.
wild_dates = st.builds(
    "{}, {} {} {} {}:{}:{} {}".format,
    st.sampled_from(["Sun", "Mon", "Foo"]),
    st.integers(0, 10**25),
    st.sampled_from(["Nov", "Feb", "Xyz"]),
    st.integers(0, 10**25),
    st.integers(0, 10**25),
    st.integers(0, 10**25),
    st.integers(0, 10**25),
    st.one_of(
        st.sampled_from(["GMT", "UT", "EST", "-0000", ""]), st.integers(-(10**25), 10**25).map("{:+}".format)
    ),
)


@SETTINGS
@given(
    if_range=st.one_of(st.text(max_size=60), etags, dates, wild_dates),
    etag=st.one_of(st.none(), etags),
    modified=dates,
)
def test_if_range_never_raises_and_never_honours_weak_tags(
    if_range: str, etag: str | None, modified: str
) -> None:
    assert isinstance(if_range_allows(if_range, etag, modified), bool)
    assert if_range_allows(f"W/{if_range}", etag, modified) is False
    if etag is not None:
        assert if_range_allows(etag, etag, modified) is True
        assert if_range_allows(etag, f"W/{etag}", modified) is False


@SETTINGS
@given(modified=dates, other=dates)
def test_if_range_dates_match_only_themselves(modified: str, other: str) -> None:
    assert if_range_allows(modified, None, modified) is True
    assert if_range_allows(other, None, modified) is (other == modified)


@SETTINGS
@given(moment=moments)
def test_if_range_accepts_the_same_instant_in_every_http_date_format(moment: datetime) -> None:
    imf = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    rfc850 = moment.strftime("%A, %d-%b-%y %H:%M:%S GMT")
    asctime = moment.strftime("%a %b ") + f"{moment.day:2d}" + moment.strftime(" %H:%M:%S %Y")
    for form in (imf, rfc850, asctime):
        assert if_range_allows(form, None, imf) is True
