"""The catalog's layout in storage, beside the media (the same on every backend):

    users/<user_id>.json                                the user
    api-keys/<sha256 of key>.json                       {"id","user_id","created_at"}: auth is one GET
    api-key-ids/<key_id>.json                           {"key_hash"}: revocation by id on any replica
    recordings/<user_id>/<recording_id>/manifest.json   the recording and its media files
    sessions/<user_id>/<session_uid>.json               a bot session's claim (shared storage only):
                                                        its recording, as a manifest without media

and the manifest's format (compact JSON, sorted keys, versioned).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from lite.catalog.keys import recording_prefix
from lite.catalog.records import Manifest, MediaFile, Recording

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
# Fields added after the first release (title, platform, ...) are read as None from older
# manifests: their defaults in lite.catalog.records. Unknown fields are ignored (a newer writer).
_MANIFEST = msgspec.json.Decoder(Manifest)


def manifest_key(user_id: int, recording_id: int) -> str:
    return recording_prefix(user_id, recording_id) + MANIFEST


def user_key(user_id: int) -> str:
    return f"users/{user_id}.json"


def api_key_key(key_hash: str) -> str:
    return f"api-keys/{key_hash}.json"


def api_key_id_key(key_id: int) -> str:
    return f"api-key-ids/{key_id}.json"


def dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def manifest_bytes(recording: Recording, media: list[MediaFile]) -> bytes:
    # Sorted keys, as `dump` writes the catalog's other objects.
    manifest = Manifest(version=MANIFEST_VERSION, recording=recording, media_files=list(media))
    return msgspec.json.encode(manifest, order="sorted")


def parse_manifest(data: bytes) -> tuple[Recording, list[MediaFile]]:
    """The recording and media files a manifest holds; ValueError when it is not a manifest."""
    manifest = _MANIFEST.decode(data)
    return manifest.recording, manifest.media_files
