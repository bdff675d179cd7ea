"""Signed playback tokens: what lets an <audio>/<video> element, which cannot send X-API-Key, read /raw.

A token names the user and the API key it was issued with and when it expires; its HMAC-SHA256 also
covers the recording and media file, which travel in the URL path rather than in the token, so one
media file's token fails on every other path. Layout, then unpadded base64url:

    version (1 byte) | user_id (8) | key_id (8) | expires, unix seconds (8) | HMAC-SHA256[:16]

Binding the key id means revoking an API key also ends the playback URLs issued with it.
A 128-bit truncated HMAC is far beyond guessing range and keeps URLs short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from lite.accounts.auth import Auth
from lite.errors import Forbidden

VERSION = 1
_HEAD = struct.Struct(">BQQQ")
_MAC_BYTES = 16
_TOKEN_BYTES = _HEAD.size + _MAC_BYTES
_DOMAIN = b"lite/playback-token/v1"  # so this secret's MACs can never be mistaken for another use's


class TokenError(Forbidden):
    """A token that is malformed, tampered with, expired or for another media file (403)."""


@dataclass(frozen=True)
class Grant:
    user_id: int
    key_id: int
    recording_id: int
    media_id: int
    expires: int  # unix seconds


def _mac(secret: bytes, head: bytes, recording_id: int, media_id: int) -> bytes:
    message = _DOMAIN + head + struct.pack(">QQ", recording_id, media_id)
    return hmac.new(secret, message, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(secret: bytes, grant: Grant) -> str:
    head = _HEAD.pack(VERSION, grant.user_id, grant.key_id, grant.expires)
    return _encode(head + _mac(secret, head, grant.recording_id, grant.media_id))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify(secret: bytes, token: str, recording_id: int, media_id: int, now: float) -> Grant:
    """The grant a token carries for this media file; TokenError if it does not hold."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise TokenError("the playback token is malformed") from None
    # Only the canonical spelling: base64 ignores the spare bits of the last character otherwise.
    if len(raw) != _TOKEN_BYTES or raw[0] != VERSION or _encode(raw) != token:
        raise TokenError("the playback token is malformed")
    head, mac = raw[: _HEAD.size], raw[_HEAD.size :]
    if not hmac.compare_digest(mac, _mac(secret, head, recording_id, media_id)):
        raise TokenError("the playback token is not valid for this media file")
    _, user_id, key_id, expires = _HEAD.unpack(head)
    # Checked only after the MAC, so the expiry it reports is one the server really signed.
    if now >= expires:
        raise TokenError("the playback token has expired; ask /download for a fresh raw_url")
    return Grant(user_id, key_id, recording_id, media_id, expires)


class PlaybackTokens:
    """Issues tokens, and checks them and the API key they name, so revoked keys take their tokens along."""

    def __init__(
        self, secret: str, lifetime: int, auth: Auth, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret.encode("utf-8")
        self.lifetime = lifetime
        self.auth = auth
        self._clock = clock

    def issue(self, user_id: int, key_id: int, recording_id: int, media_id: int) -> str:
        expires = int(self._clock()) + self.lifetime
        return sign(self._secret, Grant(user_id, key_id, recording_id, media_id, expires))

    async def issue_for_key(self, api_key: str, user_id: int, recording_id: int, media_id: int) -> str:
        return self.issue(user_id, await self.auth.key_id_for(api_key), recording_id, media_id)

    async def user_for(self, token: str, recording_id: int, media_id: int) -> int:
        """The user a token reads as; the MAC is checked first, so forgeries never reach the index."""
        grant = verify(self._secret, token, recording_id, media_id, self._clock())
        if await self.auth.user_for_key_id(grant.key_id) != grant.user_id:
            raise TokenError("the API key this playback token was issued with has been revoked")
        return grant.user_id
