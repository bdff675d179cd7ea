"""Signed playback tokens over HTTP: a raw_url from /download plays without an API key on every backend and
honours ranges; a tampered, expired or foreign token answers 403, a token for one media file or user
opens nothing else, revoking the API key ends its tokens, an API key still works beside a bad token, a
deleted recording's token answers 404, and access log lines never show a token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lite.accounts.playback_tokens import Grant, sign
from tests.conftest import LiveServer, new_user_key
from tests.playbackkit import media_paths, raw_url, tampered
from tests.test_api_recordings import WAV

SIGNING_KEY = "test-playback-signing-key"


@pytest.fixture
def backend() -> str:
    return "local"  # tokens do not depend on storage; one test below covers every backend


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    # A known signing key, so tests can make tokens the server would have made (e.g. expired ones).
    return env | {"PLAYBACK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def anon(server: LiveServer) -> Iterator[httpx.Client]:
    """What a media element is: no API key."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def with_token(url: str, token: str) -> str:
    return re.sub(r"token=[^&]*", f"token={token}", url)


@pytest.mark.parametrize("backend", ["local", "minio", "s3"], indirect=True)
def test_raw_url_plays_without_an_api_key_on_every_backend(api: httpx.Client, anon: httpx.Client) -> None:
    _, _, base = media_paths(api)
    answer = anon.get(raw_url(api, base))
    assert answer.status_code == 200
    assert answer.content == WAV


def test_a_token_url_honours_range_requests(api: httpx.Client, anon: httpx.Client) -> None:
    _, _, base = media_paths(api)
    answer = anon.get(raw_url(api, base), headers={"Range": "bytes=100-199"})
    assert answer.status_code == 206
    assert answer.content == WAV[100:200]


def test_download_carries_a_token_in_raw_url_only(api: httpx.Client, server: LiveServer) -> None:
    recording_id, media_id, base = media_paths(api)
    link = api.get(f"{base}/download").json()
    assert link["raw_url"].startswith(f"/recordings/{recording_id}/media/{media_id}/raw?token=")
    assert link["raw_url_expires_in"] == server.settings.playback_token_seconds
    # The local `url` stays the plain API path: a link clients keep is not a credential.
    assert link["url"] == link["download_url"] == f"{base}/raw"


def test_a_tampered_token_answers_403_with_a_detail(api: httpx.Client, anon: httpx.Client) -> None:
    _, _, base = media_paths(api)
    url = raw_url(api, base)
    answer = anon.get(with_token(url, tampered(url.split("token=")[1], -10)))
    assert answer.status_code == 403
    assert "not valid" in answer.json()["detail"]


def user_and_key(admin: httpx.Client) -> tuple[int, dict[str, Any]]:
    """A new user and one API key of theirs, with its id (new_user_key gives only the secret)."""
    user_id, _ = new_user_key(admin)
    return user_id, admin.post(f"/admin/users/{user_id}/tokens").json()


def test_an_expired_token_answers_403(admin: httpx.Client, server: LiveServer) -> None:
    user_id, key = user_and_key(admin)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key["token"]}) as api:
        recording_id, media_id, base = media_paths(api)
    grant = Grant(user_id, key["id"], recording_id, media_id, int(time.time()) - 1)
    expired = sign(SIGNING_KEY.encode(), grant)
    answer = httpx.get(f"{server.url}{base}/raw?token={expired}")
    assert answer.status_code == 403
    assert "expired" in answer.json()["detail"]


def test_a_token_for_one_media_file_does_not_open_another(api: httpx.Client, anon: httpx.Client) -> None:
    _, _, first = media_paths(api)
    _, _, second = media_paths(api)
    token = raw_url(api, first).split("token=")[1]
    answer = anon.get(f"{second}/raw?token={token}")
    assert answer.status_code == 403


def test_a_token_of_user_a_does_not_open_user_b_media(
    api: httpx.Client, other_api: httpx.Client, anon: httpx.Client
) -> None:
    _, _, mine = media_paths(api)
    _, _, theirs = media_paths(other_api)
    token = raw_url(api, mine).split("token=")[1]
    assert anon.get(f"{theirs}/raw?token={token}").status_code == 403


def test_a_validly_signed_token_still_only_reaches_its_users_recordings(
    admin: httpx.Client, server: LiveServer, other_api: httpx.Client
) -> None:
    # Even a correctly signed token naming user A and user B's media file finds nothing.
    user_id, key = user_and_key(admin)
    recording_id, media_id, theirs = media_paths(other_api)
    forged = sign(SIGNING_KEY.encode(), Grant(user_id, key["id"], recording_id, media_id, 2**40))
    answer = httpx.get(f"{server.url}{theirs}/raw?token={forged}")
    assert answer.status_code == 404


def test_revoking_the_api_key_ends_its_playback_tokens(admin: httpx.Client, server: LiveServer) -> None:
    _, key = user_and_key(admin)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key["token"]}) as api:
        _, _, base = media_paths(api)
        url = raw_url(api, base)
    assert httpx.get(server.url + url).status_code == 200
    assert admin.delete(f"/admin/tokens/{key['id']}").status_code == 204
    answer = httpx.get(server.url + url)
    assert answer.status_code == 403
    assert "revoked" in answer.json()["detail"]


def test_no_key_and_no_token_answers_401(api: httpx.Client, anon: httpx.Client) -> None:
    _, _, base = media_paths(api)
    assert anon.get(f"{base}/raw").status_code == 401


def test_an_api_key_is_used_when_sent_even_beside_a_bad_token(api: httpx.Client) -> None:
    # Clients that fetch raw_url with their key keep working after its token expires.
    _, _, base = media_paths(api)
    answer = api.get(f"{base}/raw?token=stale")
    assert answer.status_code == 200


def test_a_deleted_recordings_token_answers_404(api: httpx.Client, anon: httpx.Client) -> None:
    recording_id, _, base = media_paths(api)
    url = raw_url(api, base)
    api.delete(f"/recordings/{recording_id}")
    assert anon.get(url).status_code == 404


def test_access_log_lines_never_show_a_playback_token() -> None:
    import logging

    from lite.http.server import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/recordings/1/media/2/raw?token=SECRET&x=1", "1.1", 206), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()
