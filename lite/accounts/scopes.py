"""What an API key's scopes let it do in Lite.

Vexa's tokens carry scopes (v0.10.7 `admin_models/token_scope.py`): `bot` (run meeting bots), `tx`
(transcripts, meetings, recordings) and `browser` (the dashboard's own sessions). Lite stores
recordings, so a request needs one of two things:

    need     requests                                                     scopes that grant it
    upload   POST /recordings/ (a whole file) and                         bot, tx, browser
             POST /internal/recordings/upload with an API key (a chunk)
    read     every other request made with an API key: list, get, delete, tx, browser
             finalize, download, raw, master, meetings, transcripts,
             /user/webhook

So a `bot` key (what Vexa hands its meeting bots) can upload chunks but not read or delete anyone's
recordings: 403 naming the missing scope. Keys without scopes — every `lite_…` key, including all
keys made before scopes existed — have full access, as Vexa treats tokens without its `vxa_` prefix.
Vexa's MeetingToken and INTERNAL_API_SECRET are not API keys: they upload only (lite.accounts.bot_auth).
"""

from __future__ import annotations

from typing import Literal

from lite.errors import BadInput, Forbidden

Need = Literal["read", "upload"]
SCOPES = ("bot", "tx", "browser")
GRANTS: dict[Need, frozenset[str]] = {
    "upload": frozenset(SCOPES),
    "read": frozenset({"tx", "browser"}),
}
UPLOAD_PATHS = ("/recordings", "/internal/recordings/upload")


def parse_scopes(values: list[str]) -> list[str]:
    """Scope names from `?scopes=bot,tx`, repeated parameters or a JSON list: known names, in the
    order given, each once; anything else is a 422 naming the valid ones."""
    found: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip().lower()
            if name not in SCOPES:
                raise BadInput(f"invalid scope {name[:40]!r}: valid scopes are {', '.join(SCOPES)}")
            if name not in found:
                found.append(name)
    if not found:
        raise BadInput(f"at least one scope is needed: {', '.join(SCOPES)}")
    return found


def scope_list(stored: str | None) -> list[str]:
    """The index keeps scopes comma-separated; '' is a key from before scopes (full access)."""
    return [name for name in (stored or "").split(",") if name]


def need_for(method: str, path: str) -> Need:
    """Uploading is a POST to one of the two upload paths; anything else a key does reads."""
    return "upload" if method == "POST" and path.rstrip("/") in UPLOAD_PATHS else "read"


def check(stored: str | None, need: Need) -> None:
    """Forbidden (403) unless a key with these scopes may do `need`."""
    scopes = scope_list(stored)
    if not scopes or GRANTS[need] & set(scopes):
        return
    wanted = " or ".join(sorted(GRANTS[need]))
    what = "reading recordings" if need == "read" else "uploading recordings"
    raise Forbidden(f"this API key's scopes ({', '.join(scopes)}) do not allow {what}: it needs {wanted}")
