"""Storage keys, built only from validated parts so no client input can leave the user's prefix."""

from __future__ import annotations

import re

from lite.errors import BadInput
from lite.media.formats import FORMATS, MEDIA_TYPES

SESSION_UID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_session_uid(value: str) -> str:
    if not SESSION_UID.fullmatch(value):
        raise BadInput(
            "session_uid must be 1-128 characters of letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def _check_id(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadInput("ids are positive integers")
    return value


def recording_prefix(user_id: int, recording_id: int) -> str:
    return f"recordings/{_check_id(user_id)}/{_check_id(recording_id)}/"


def session_claim_key(user_id: int, session_uid: str) -> str:
    """Which recording a bot session is, on shared storage (lite.catalog.session_claims). Outside
    recordings/: rebuild, verify, reconcile and import walk that prefix by recording ids only."""
    return f"sessions/{_check_id(user_id)}/{check_session_uid(session_uid)}.json"


def media_name(session_uid: str, media_type: str, fmt: str) -> str:
    """`<session_uid>.<ext>` for audio; other types get their own name so nothing collides."""
    check_session_uid(session_uid)
    if media_type not in MEDIA_TYPES:
        raise BadInput(f"media_type must be one of {', '.join(MEDIA_TYPES)}")
    if fmt not in FORMATS:
        raise BadInput(f"format must be one of {', '.join(FORMATS)}")
    return f"{session_uid}.{fmt}" if media_type == "audio" else f"{session_uid}.{media_type}.{fmt}"


def media_key(user_id: int, recording_id: int, session_uid: str, media_type: str, fmt: str) -> str:
    return recording_prefix(user_id, recording_id) + media_name(session_uid, media_type, fmt)
