"""Vexa's recording keys (Vexa's bucket has no manifest: everything an importer knows is in the keys).

Under `recordings/<user_id>/<recording_id>/`, Vexa writes:
    <session_uid>.<fmt>                                one file per session (v0.10 - v0.10.2), fmt
                                                       wav, webm or mp4; no media type in the key
    <session_uid>/<media_type>/<seq:06d>.<fmt>         chunks (v0.10.3 and later), media_type
                                                       audio or video, assembled in seq order
    <session_uid>/<media_type>/master.<fmt>            the finalized file, next to its chunks

Lite never writes a nested key under a recording prefix except its own chunks
(`<media name>.chunks/<seq>`), and names its uploads' sessions `upload-<hex>` unless told otherwise;
`is_vexa_key` is what Lite's orphan clean-up (lite.catalog.verify, lite.catalog.reconcile) leaves
alone as another system's, before and after an import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SINGLE_FORMATS = ("wav", "webm", "mp4")
UUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_PREFIX = re.compile(r"recordings/[^/]+/[^/]+/")
_SINGLE = re.compile(r"([^/]+)\.(wav|webm|mp4)")
_FOLDER = re.compile(r"([^/]+)/(audio|video)/(?:([0-9]+)|master)\.([A-Za-z0-9]+)")
_LITE_CHUNK = re.compile(r"[^/]+\.chunks/[0-9]+")
_VEXA_SINGLE = re.compile(rf"{UUID}\.(?:wav|webm|mp4)")  # Vexa's session_uid: the bot's connection id


@dataclass(frozen=True)
class VexaObject:
    session_uid: str
    media_type: str | None  # None: a single file (audio, or video if it has a video stream)
    seq: int | None  # a chunk's number; None: a master or a single file
    fmt: str

    @property
    def is_master(self) -> bool:
        return self.media_type is not None and self.seq is None


def parse(name: str) -> VexaObject | None:
    """What `name` (a key after its `recordings/<user_id>/<recording_id>/`) is in Vexa's layouts."""
    found = _FOLDER.fullmatch(name)
    if found:
        seq = int(found[3]) if found[3] is not None else None
        return VexaObject(found[1], found[2], seq, found[4].lower())
    found = _SINGLE.fullmatch(name)
    if found and not found[1].endswith(".chunks"):
        return VexaObject(found[1], None, None, found[2])
    return None


def is_vexa_key(key: str) -> bool:
    """Whether `key` may be Vexa's (or another system's) and must never be deleted as an orphan: a
    nested key under a recording prefix that is not one of Lite's chunks, or a single file named by
    a UUID session (a name Lite only uses when a client gives it)."""
    prefix = _PREFIX.match(key)
    if prefix is None:
        return False
    name = key[prefix.end() :]
    if "/" in name:
        return not _LITE_CHUNK.fullmatch(name)
    return bool(_VEXA_SINGLE.fullmatch(name))
