"""Signed playback tokens, the pure signing rules: a token verifies to its grant, is compact and URL-safe,
breaks when any character changes, cannot have its expiry forged, expires, opens only its own media file
and only with its own secret; malformed ones are refused as such; and the issuer's tokens expire after the
configured lifetime and die with their API key.
"""

from __future__ import annotations

import asyncio
import base64
import re

import pytest

from lite.accounts.playback_tokens import Grant, PlaybackTokens, TokenError, sign, verify
from tests.playbackkit import tampered

SECRET = b"unit-test-secret"
GRANT = Grant(user_id=11, key_id=22, recording_id=33, media_id=44, expires=2_000_000_000)
BEFORE = GRANT.expires - 1


def test_a_signed_token_verifies_to_its_grant() -> None:
    assert verify(SECRET, sign(SECRET, GRANT), 33, 44, now=BEFORE) == GRANT


def test_a_token_is_compact_and_url_safe() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,64}", sign(SECRET, GRANT))


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
