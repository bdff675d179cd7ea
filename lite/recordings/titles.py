"""A recording's title: what people call it, where it comes from, and the file names it gives.

An upload is titled after its original file name (what a person recognises in the list), unless
the form sends `title`; a bot may send one in its metadata; `PATCH /recordings/{id}` renames.
Downloads are then named `<title>.<ext>`; without a title, after the session (`<session_uid>.<ext>`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import quote

from lite.catalog.keys import media_name
from lite.errors import BadInput

MAX_TITLE = 200
# Control and format characters (C0, C1, DEL, bidi overrides, zero-width): invisible or misleading
# in a list and in a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters a file name must not carry in a Content-Disposition or on a disk: quotes, slashes, and
# those Windows refuses.
_UNSAFE_IN_NAME = re.compile(r'["\\/:*?<>|]')


def clean_title(value: object) -> str | None:
    """A title as shown: control characters removed, whitespace runs made one space, trimmed, cut
    to MAX_TITLE characters. None when nothing is left (or the value is not text)."""
    if not isinstance(value, str):
        return None
    return _normalised(value)[:MAX_TITLE].strip() or None


def _normalised(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", _CONTROL.sub(" ", value)).split())


def title_from_filename(filename: str | None) -> str | None:
    """The original file name without its folder and extension: `Team sync.webm` → `Team sync`."""
    if not filename:
        return None
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    return clean_title(stem)


def check_title(value: object) -> str:
    """A title a client asks for (PATCH, the upload's `title` field): 1-200 characters after
    trimming, else 422 saying so."""
    if not isinstance(value, str):
        raise BadInput('send {"title": "..."}: title must be a string of 1-200 characters')
    title = _normalised(value)
    if not 1 <= len(title) <= MAX_TITLE:
        raise BadInput(f"title must be 1-{MAX_TITLE} characters after trimming (got {len(title)})")
    return title


@lru_cache(maxsize=4096)  # every Range of a file names it again: the same few names, over and over
def download_name(title: str | None, session_uid: str, media_type: str, fmt: str) -> str:
    """`<title>.<ext>` when the recording has a title, else the stored object's own name."""
    safe = " ".join(_UNSAFE_IN_NAME.sub(" ", title).split()).strip(". ") if title else ""
    return f"{safe}.{fmt}" if safe else media_name(session_uid, media_type, fmt)


def ascii_name(filename: str) -> str:
    """The ASCII fallback of a file name (RFC 6266 `filename=`): accents dropped, anything else '_'."""
    decomposed = (c for c in unicodedata.normalize("NFKD", filename) if not unicodedata.combining(c))
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in decomposed)
    if plain.rsplit(".", 1)[0].strip("._ "):
        return plain
    return "recording" + (plain[plain.rfind(".") :] if "." in plain else "")


@lru_cache(maxsize=4096)
def content_disposition(kind: str, filename: str) -> str:
    """`inline; filename="…"` and, for a non-ASCII name, `filename*=UTF-8''…` (RFC 6266, 5987):
    browsers use the UTF-8 form, old clients the ASCII one; the header stays latin-1 safe."""
    name = "".join(c for c in filename if c.isprintable() and c not in '"\\/')
    fallback = ascii_name(name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
