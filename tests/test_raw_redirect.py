"""RAW_REDIRECT_TO_STORE: on object storage, `GET /raw` of a complete file answers 302 to a presigned
URL, so the store sends the bytes (and honours the Range) and the server relays none. The key or
playback token is checked first; HEAD, a recording still being recorded, and the local backend are
answered by Lite as before. Run on moto and on s3rver, which verifies the presigned signature.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.faultkit import random_wav
from tests.playbackkit import media_paths, raw_url
from tests.test_bot_upload import send_chunk, wav_chunks
from tests.test_metrics import moved, scrape

DATA = random_wav(3_000_000)  # over playback.SMALL_BODY: a file Lite would otherwise stream


@pytest.fixture(params=["minio", "s3", "minio@s3rver", "s3@s3rver"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"RAW_REDIRECT_TO_STORE": "true"}


@pytest.fixture
def media(api: httpx.Client) -> str:
    return media_paths(api, DATA)[2]


def store_origin(server: LiveServer) -> str:
    s3 = server.settings.s3
    assert s3 is not None and s3.endpoint
    return s3.endpoint if "://" in s3.endpoint else f"http://{s3.endpoint}"


def test_a_get_is_redirected_to_the_store_and_the_store_sends_the_file(
    api: httpx.Client, media: str, server: LiveServer
) -> None:
    answer = api.get(f"{media}/raw")
    assert answer.status_code == 302
    assert answer.headers["cache-control"] == "no-store"  # the presigned URL expires
    location = answer.headers["location"]
    assert location.startswith(store_origin(server) + "/")
    stored = httpx.get(location)  # no key: the signature is the credential
    assert stored.status_code == 200
    assert stored.content == DATA
    assert stored.headers["content-type"] == "audio/wav"
    assert stored.headers["content-disposition"].startswith("inline")


def test_the_store_answers_the_range_the_player_asks_for(api: httpx.Client, media: str) -> None:
    location = api.get(f"{media}/raw", headers={"Range": "bytes=1000-1999"}).headers["location"]
    part = httpx.get(location, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == DATA[1000:2000]


def test_a_playback_token_link_is_redirected_too(api: httpx.Client, media: str, server: LiveServer) -> None:
    link = raw_url(api, media)
    answer = httpx.get(server.url + link)  # as a media element asks: no headers
    assert answer.status_code == 302
    assert httpx.get(answer.headers["location"]).content == DATA


def test_a_refused_reader_gets_the_refusal_not_a_redirect(media: str, server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}{media}/raw", headers={"X-API-Key": "not-a-key"})
    assert answer.status_code == 401
    assert "location" not in answer.headers


def test_head_is_answered_by_lite_with_the_size(api: httpx.Client, media: str) -> None:
    answer = api.head(f"{media}/raw")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(len(DATA))


def test_a_recording_still_being_recorded_is_sent_by_lite(api: httpx.Client) -> None:
    chunks = wav_chunks(2)
    acks = [send_chunk(api, c, i).json() for i, c in enumerate(chunks)]
    answer = api.get(f"/recordings/{acks[0]['recording_id']}/media/{acks[0]['media_file_id']}/raw")
    assert answer.status_code == 200  # no master object exists yet to presign
    assert answer.content == chunks[0] + chunks[1]


def test_the_page_lets_media_come_from_the_store(server: LiveServer) -> None:
    policy = httpx.get(server.url + "/").headers["content-security-policy"]
    origin = urlsplit(store_origin(server))
    assert f"media-src 'self' {origin.scheme}://{origin.netloc};" in policy


@pytest.mark.parametrize("backend", ["local"])
def test_on_the_local_backend_lite_sends_the_bytes_itself(api: httpx.Client, media: str) -> None:
    answer = api.get(f"{media}/raw")
    assert answer.status_code == 200
    assert answer.content == DATA


@pytest.mark.parametrize("backend", ["local"])
def test_on_the_local_backend_the_page_takes_media_only_from_itself(server: LiveServer) -> None:
    assert "media-src 'self';" in httpx.get(server.url + "/").headers["content-security-policy"]


def test_a_download_is_redirected_with_the_file_named_as_an_attachment(api: httpx.Client, media: str) -> None:
    answer = api.get(f"{media}/raw?download=1")
    assert answer.status_code == 302
    stored = httpx.get(answer.headers["location"])
    assert stored.headers["content-disposition"].startswith("attachment; filename=")
    assert stored.content == DATA


def test_a_proxy_that_follows_redirects_with_its_key_and_range_gets_the_range(
    api: httpx.Client, media: str
) -> None:
    """As Vexa's dashboard proxy reads raw_url (Node's fetch: redirects followed, headers kept)."""
    answer = api.get(f"{media}/raw", headers={"Range": "bytes=5000-5099"}, follow_redirects=True)
    assert answer.status_code == 206
    assert answer.content == DATA[5000:5100]
    assert len(answer.history) == 1 and answer.history[0].status_code == 302


def test_a_redirect_is_counted_as_a_302_on_the_raw_route_with_no_bytes(api: httpx.Client, media: str) -> None:
    before = scrape(api)
    for _ in range(3):
        assert api.get(f"{media}/raw").status_code == 302
    after = scrape(api)
    raw_route = "/recordings/{recording_id}/media/{media_id}/raw"
    assert moved(before, after, "lite_http_requests_total", route=raw_route, status="302") == 3
    assert moved(before, after, "lite_raw_bytes_served_total") == 0
