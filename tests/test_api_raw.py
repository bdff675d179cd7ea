"""/raw serves bytes with Range, conditional requests and player-friendly headers, on every backend."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.conftest import BACKENDS_ON_EVERY_S3_SERVER
from tests.test_api_recordings import upload

SIZE = 300_000
DATA = b"RIFF" + (SIZE - 8).to_bytes(4, "little") + b"WAVE" + os.urandom(SIZE - 12)


@pytest.fixture(params=BACKENDS_ON_EVERY_S3_SERVER)
def backend(request: pytest.FixtureRequest) -> str:
    """This suite runs on both S3 servers (moto, and s3rver, which checks signatures)."""
    return str(request.param)


@pytest.fixture
def raw(api: httpx.Client) -> str:
    recording = upload(api, DATA, "long.wav", session_uid="ranges").json()
    return f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        (f"bytes=100-{SIZE * 3}", 100, SIZE - 1),
        (f"bytes=-{SIZE * 2}", 0, SIZE - 1),
    ],
    ids=["first-byte", "head", "open-end", "suffix", "last-byte", "end-clamped", "suffix-longer-than-file"],
)
def test_a_satisfiable_range_answers_206_with_exactly_those_bytes(
    api: httpx.Client, raw: str, header: str, start: int, end: int
) -> None:
    answer = api.get(raw, headers={"Range": header})
    assert answer.status_code == 206
    assert answer.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert answer.headers["content-length"] == str(end - start + 1)
    assert answer.content == DATA[start : end + 1]


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_an_unsatisfiable_range_answers_416_with_the_size(api: httpx.Client, raw: str, header: str) -> None:
    answer = api.get(raw, headers={"Range": header})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{SIZE}"
    assert answer.json()["detail"]


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-10", "bytes=5-2", "bytes=0-1,5-6"])
def test_a_malformed_or_unsupported_range_is_ignored(api: httpx.Client, raw: str, header: str) -> None:
    answer = api.get(raw, headers={"Range": header})
    assert answer.status_code == 200
    assert answer.content == DATA


def test_if_range_with_the_current_etag_honours_the_range(api: httpx.Client, raw: str) -> None:
    etag = api.head(raw).headers["etag"]
    answer = api.get(raw, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert answer.status_code == 206
    assert answer.content == DATA[:10]


def test_if_range_with_a_stale_validator_sends_the_whole_file(api: httpx.Client, raw: str) -> None:
    answer = api.get(raw, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert answer.status_code == 200
    assert answer.content == DATA


def test_if_none_match_with_the_current_etag_answers_304(api: httpx.Client, raw: str) -> None:
    etag = api.head(raw).headers["etag"]
    answer = api.get(raw, headers={"If-None-Match": etag})
    assert answer.status_code == 304
    assert answer.content == b""


def test_head_sends_the_headers_without_a_body(api: httpx.Client, raw: str) -> None:
    answer = api.head(raw, headers={"Range": "bytes=10-19"})
    assert answer.status_code == 206
    assert answer.headers["content-length"] == "10"
    assert answer.headers["content-range"] == f"bytes 10-19/{SIZE}"
    assert answer.content == b""


def test_media_responses_carry_safety_headers(api: httpx.Client, raw: str) -> None:
    answer = api.get(raw, headers={"Range": "bytes=0-0"})
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"].startswith("private")
    assert answer.headers["content-disposition"] == 'inline; filename="long.wav"'  # the title's


def test_an_empty_range_request_on_the_whole_file_streams_it_all(api: httpx.Client, raw: str) -> None:
    with api.stream("GET", raw) as answer:
        received = b"".join(answer.iter_bytes())
    assert received == DATA


def test_download_1_names_the_file_as_an_attachment_a_browser_saves(api: httpx.Client, raw: str) -> None:
    answer = api.get(f"{raw}?download=1")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="long.wav"'
    assert answer.content == DATA


def test_a_download_value_that_is_not_a_yes_or_no_is_refused_clearly(api: httpx.Client, raw: str) -> None:
    answer = api.get(f"{raw}?download=maybe")
    assert answer.status_code == 400
    assert "download" in answer.json()["detail"]
