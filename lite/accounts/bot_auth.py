"""Who is uploading a bot's chunk: Vexa's MeetingToken, Vexa's internal secret, or a Lite API key.

Vexa's bot sends `Authorization: Bearer <MeetingToken>`: a compact HS256 JWT that Vexa's
meeting-api mints when it spawns the bot, signed with its `ADMIN_TOKEN`. It names the user and the
meeting; the chunks then belong to that user. It is verified as Vexa v0.10.7 verifies it: the
signature, `alg` HS256 and `typ` JWT, `exp`, `aud` transcription-collector, `iss` meeting-api,
`scope` transcribe:write, and a `meeting_id`. The secret is `ADMIN_TOKEN`, else Lite's admin token
(`ADMIN_API_TOKEN`, as v0.10.7 falls back to it).

Vexa's newest version also accepts `Bearer <INTERNAL_API_SECRET>`; then the session's existing
recording names the owner, or, for a session's first chunk, a `user_id` in the metadata.

A token naming a user Lite does not know yet creates that user, with Vexa's id and a placeholder
email (`vexa-user-<id>@users.invalid`), so that no bot is refused for want of an account.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import jwt

from lite.accounts.auth import Auth
from lite.errors import Forbidden
from lite.recordings.shapes import check_meeting_id

log = logging.getLogger("lite.accounts.bot_auth")
AUDIENCE, ISSUER, SCOPE = "transcription-collector", "meeting-api", "transcribe:write"
PLATFORMS = ("google_meet", "teams", "zoom")


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    platform: str | None
    native_meeting_id: str | None


@dataclass(frozen=True)
class BotIdentity:
    user_id: int | None  # None: the internal secret, the owner comes from the session
    meeting: Meeting | None = None


def _text(value: object, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


def verify_meeting_token(token: str, secret: str) -> tuple[int, Meeting]:
    """(user id, meeting) from a MeetingToken, or Forbidden saying why not."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("typ") != "JWT":
            raise Forbidden("invalid meeting token: its header is not typ JWT")
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "aud", "iss"]})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise Forbidden("the meeting token has expired") from None
    except jwt.PyJWTError as exc:
        raise Forbidden(f"invalid meeting token: {str(exc)[:100]}") from None
    if claims.get("scope") != SCOPE:
        raise Forbidden(f"the meeting token's scope is not {SCOPE}")
    user_id, meeting_id = claims.get("user_id"), claims.get("meeting_id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**63:
        raise Forbidden("the meeting token names no user_id")
    if meeting_id in (None, ""):
        raise Forbidden("the meeting token names no meeting_id")
    platform = _text(claims.get("platform"), 32)
    meeting = Meeting(
        meeting_id=check_meeting_id(str(meeting_id)[:128]) or "",
        platform=platform if platform in PLATFORMS else None,
        native_meeting_id=_text(claims.get("native_meeting_id"), 256),
    )
    return user_id, meeting


class BotCredentials:
    def __init__(self, auth: Auth, meeting_secret: str, internal_secret: str | None) -> None:
        self.auth = auth
        self.meeting_secret = meeting_secret
        self.internal_secret = internal_secret

    async def identify(self, headers: Mapping[str, str]) -> BotIdentity:
        if headers.get("x-api-key"):
            return BotIdentity(await self.auth.user_for_key(headers["x-api-key"], "upload"))
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token.count(".") == 2:
            user_id, meeting = verify_meeting_token(token, self.meeting_secret)
            await self.auth.adopt_user(user_id)
            return BotIdentity(user_id, meeting)
        if (
            self.internal_secret
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.encode(), self.internal_secret.encode())
        ):
            return BotIdentity(None)
        key = token if scheme.lower() == "bearer" else None
        return BotIdentity(await self.auth.user_for_key(key, "upload"))  # a `bot` key is enough
