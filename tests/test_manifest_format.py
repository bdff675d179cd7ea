"""The manifest's format across versions: what an earlier Lite wrote (json.dumps, non-ASCII escaped,
without the fields added later) still reads, what Lite writes now names every field an earlier
version reads by name, and a damaged manifest is refused whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from lite.catalog.layout import manifest_bytes, parse_manifest
from lite.catalog.records import MediaFile, Recording, changed

EARLIER = {  # as Lite wrote it before titles, platforms and error messages
    "version": 1,
    "recording": {"id": 7, "user_id": 1, "session_uid": "s", "meeting_id": "m", "source": "upload",
                  "status": "completed", "created_at": "t", "completed_at": "t", "updated_at": "t"},
    "media_files": [{"id": 8, "recording_id": 7, "type": "audio", "format": "wav",
                     "content_type": "audio/wav", "storage_backend": "local",
                     "storage_key": "recordings/1/7/s.wav", "file_size_bytes": 44,
                     "duration_seconds": 3, "sha256": None, "created_at": "t", "updated_at": "t",
                     "extra": None, "state": "complete", "final_seq": None}],
}  # fmt: skip


def test_a_manifest_an_earlier_version_wrote_reads_with_the_later_fields_empty() -> None:
    recording, [media] = parse_manifest(json.dumps(EARLIER, sort_keys=True).encode())
    later = (recording.title, recording.platform, recording.native_meeting_id, recording.error_message)
    assert recording.id == 7 and later == (None, None, None, None)
    assert (media.storage_key, media.duration_seconds) == ("recordings/1/7/s.wav", 3.0)


def test_what_lite_writes_names_every_field_and_reads_back_the_same() -> None:
    recording, [media] = parse_manifest(json.dumps(EARLIER).encode())
    retitled = changed(recording, title="Réunion 会議")
    data = manifest_bytes(retitled, [media])
    doc = json.loads(data)  # plain JSON: what an earlier version parses, each field read by name
    assert set(doc["recording"]) == set(Recording.__struct_fields__)
    assert set(doc["media_files"][0]) == set(MediaFile.__struct_fields__)
    assert parse_manifest(data) == (retitled, [media])


@pytest.mark.parametrize(
    "damage",
    [
        lambda doc: doc["recording"].pop("user_id"),
        lambda doc: doc["recording"].update(id="seven"),
        lambda doc: doc["media_files"][0].update(file_size_bytes=None),
        lambda doc: doc.pop("recording"),
    ],
    ids=["a missing field", "a wrong type", "a null size", "no recording"],
)
def test_a_damaged_manifest_is_refused_whole(damage: Callable[[dict[str, Any]], object]) -> None:
    doc = json.loads(json.dumps(EARLIER))
    damage(doc)
    with pytest.raises(ValueError):
        parse_manifest(json.dumps(doc).encode())
