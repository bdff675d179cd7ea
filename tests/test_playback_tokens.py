"""Signed playback tokens: the pure signing rules, then /raw and /download over HTTP."""

from __future__ import annotations

import asyncio
import base64
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.accounts.playback_tokens import Grant, PlaybackTokens, TokenError, sign, verify
from lite.config import Settings, load_settings
from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key, start_server
from tests.test_api_recordings import WAV, upload

SECRET = b"unit-test-secret"
SIGNING_KEY = "test-playback-signing-key"
GRANT = Grant(user_id=11, key_id=22, recording_id=33, media_id=44, expires=2_000_000_000)
BEFORE = GRANT.expires - 1


# ---- the token format ----------------------------------------------------------------------


def test_a_signed_token_verifies_to_its_grant() -> None:
    assert verify(SECRET, sign(SECRET, GRANT), 33, 44, now=BEFORE) == GRANT


def test_a_token_is_compact_and_url_safe() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,64}", sign(SECRET, GRANT))


def tampered(token: str, position: int) -> str:
    position %= len(token)
    swapped = "B" if token[position] == "A" else "A"
    return token[:position] + swapped + token[position + 1 :]


@pytest.mark.parametrize(
    "position", [0, 5, 15, 30, 45, -1], ids=["version", "user", "key", "expiry", "mac", "last"]
)
def test_changing_any_character_breaks_the_token(position: int) -> None:
    with pytest.raises(TokenError):
        verify(SECRET, tampered(sign(SECRET, GRANT), position), 33, 44, now=BEFORE)


def test_a_later_expiry_cannot_be_forged_into_a_token() -> None:
    def decode(token: str) -> bytes:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))

    longer = decode(sign(SECRET, Grant(11, 22, 33, 44, GRANT.expires + 10**6)))
    mac = decode(sign(SECRET, GRANT))[25:]
    forged = base64.urlsafe_b64encode(longer[:25] + mac).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="not valid"):
        verify(SECRET, forged, 33, 44, now=BEFORE)


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, sign(SECRET, GRANT), 33, 44, now=GRANT.expires)


@pytest.mark.parametrize(("recording_id", "media_id"), [(33, 45), (34, 44)], ids=["media", "recording"])
def test_a_token_is_only_good_for_its_own_media_file(recording_id: int, media_id: int) -> None:
    with pytest.raises(TokenError, match="not valid for this media file"):
        verify(SECRET, sign(SECRET, GRANT), recording_id, media_id, now=BEFORE)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(TokenError):
        verify(SECRET, sign(b"another-secret", GRANT), 33, 44, now=BEFORE)


@pytest.mark.parametrize("token", ["", "not a token", "AAAA", "é" * 55, sign(SECRET, GRANT) + "AAAA"])
def test_a_malformed_token_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(TokenError, match="malformed"):
        verify(SECRET, token, 33, 44, now=BEFORE)


def test_token_errors_answer_403() -> None:
    assert TokenError("x").status_code == 403


class KeyOwners:
    """Stands in for Auth: which user each live API key id belongs to."""

    def __init__(self, owners: dict[int, int]) -> None:
        self.owners = owners

    async def user_for_key_id(self, key_id: int) -> int | None:
        return self.owners.get(key_id)


def test_issued_tokens_expire_after_the_configured_lifetime() -> None:
    clock = [1_000_000.0]
    tokens = PlaybackTokens("secret", 60, KeyOwners({22: 11}), clock=lambda: clock[0])  # type: ignore[arg-type]
    token = tokens.issue(11, 22, 1, 2)
    clock[0] += 59
    assert asyncio.run(tokens.user_for(token, 1, 2)) == 11
    clock[0] += 1
    with pytest.raises(TokenError, match="expired"):
        asyncio.run(tokens.user_for(token, 1, 2))


def test_a_token_whose_key_now_belongs_to_nobody_is_refused() -> None:
    tokens = PlaybackTokens("secret", 60, KeyOwners({}))  # type: ignore[arg-type]
    with pytest.raises(TokenError, match="revoked"):
        asyncio.run(tokens.user_for(tokens.issue(11, 22, 1, 2), 1, 2))


# ---- over HTTP -----------------------------------------------------------------------------


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


def media_paths(api: httpx.Client, data: bytes = WAV) -> tuple[int, int, str]:
    recording = upload(api, data).json()
    media_id = recording["media_files"][0]["id"]
    return recording["id"], media_id, f"/recordings/{recording['id']}/media/{media_id}"


def raw_url(api: httpx.Client, base: str) -> str:
    return str(api.get(f"{base}/download").json()["raw_url"])


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


# ---- the signing key -----------------------------------------------------------------------


@pytest.fixture
def generated_key_settings(tmp_path: Path) -> Settings:
    env = {
        "STORAGE_BACKEND": "local",
        "DATA_DIR": str(tmp_path / "data"),
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "LOCAL_STORAGE_FSYNC": "false",
    }
    return load_settings(env)


def signed_url_from(live: LiveServer) -> str:
    with httpx.Client(base_url=live.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        _, key = new_user_key(admin)
    with httpx.Client(base_url=live.url, headers={"X-API-Key": key}) as api:
        _, _, base = media_paths(api)
        return raw_url(api, base)


def test_a_generated_signing_key_is_kept_private_in_the_data_dir(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    live.stop()
    path = generated_key_settings.data_dir / "playback-signing-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 40


def test_tokens_survive_a_restart_with_a_generated_key(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    try:
        url = signed_url_from(live)
    finally:
        live.stop()
    again = start_server(generated_key_settings)
    try:
        assert httpx.get(again.url + url).status_code == 200
    finally:
        again.stop()


def test_rotating_the_signing_key_invalidates_old_tokens(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    try:
        url = signed_url_from(live)
    finally:
        live.stop()
    rotated = Settings(**{**generated_key_settings.__dict__, "playback_signing_key": "rotated-key"})
    again = start_server(rotated)
    try:
        assert httpx.get(again.url + url).status_code == 403
    finally:
        again.stop()


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
