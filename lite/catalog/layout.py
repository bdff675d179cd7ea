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

from lite.catalog.index import Row
from lite.catalog.keys import recording_prefix

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
RECORDING_FIELDS = ("id", "user_id", "session_uid", "meeting_id", "source", "status", "created_at",
                    "completed_at", "updated_at")  # fmt: skip
# Added later: manifests written before them lack them (read as None).
LATER_RECORDING_FIELDS = ("platform", "native_meeting_id", "error_message", "title")
MEDIA_FIELDS = ("id", "recording_id", "type", "format", "content_type", "storage_backend", "storage_key",
                "file_size_bytes", "duration_seconds", "sha256", "created_at", "updated_at", "extra", "state",
                "final_seq")  # fmt: skip


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


def manifest_of(recording: Row, media: list[Row]) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "recording": {k: recording.get(k) for k in (*RECORDING_FIELDS, *LATER_RECORDING_FIELDS)},
        "media_files": [{k: m.get(k) for k in MEDIA_FIELDS} for m in media],
    }


def manifest_bytes(recording: Row, media: list[Row]) -> bytes:
    return dump(manifest_of(recording, media))


def parse_manifest(data: bytes) -> tuple[Row, list[Row]]:
    doc = json.loads(data)
    recording = {k: doc["recording"][k] for k in RECORDING_FIELDS}
    recording |= {k: doc["recording"].get(k) for k in LATER_RECORDING_FIELDS}
    media = [{k: m.get(k) for k in MEDIA_FIELDS} for m in doc["media_files"]]
    return recording, media
