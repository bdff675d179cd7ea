"""What a stored upload turns out to be (read from its headers with PyAV) and the index rows made of
it. Apart from the service so that it stays small; called once per upload, after the file is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import BinaryIO

from lite.catalog.records import MediaFile, Recording
from lite.clock import now_iso
from lite.ids import new_id
from lite.media import formats as media
from lite.media.opening import open_media
from lite.media.probe import duration_of, media_type_of
from lite.recordings.upload_form import AUDIO_ONLY, UploadPlan
from lite.storage import Storage, Stored


@dataclass(frozen=True)
class Facts:
    """What the stored file says about itself; None where it says nothing readable."""

    duration: float | None
    sample_rate: int | None
    media_type: str | None


def probe_reader(reader: BinaryIO) -> Facts:
    """Everything from one opening of the file's headers (an opening can take seconds on a large
    file that is not what it claims, so it is done once). Unreadable: nothing is known, and the
    client's media_type stands."""
    try:
        with open_media(reader) as container:  # only Lite's demuxers, chosen by the file's bytes
            # Read while the container is open: its streams are freed with it.
            rates = [s.codec_context.sample_rate for s in container.streams.audio][:1]
            rate = int(rates[0]) if rates and rates[0] and rates[0] > 0 else None
            return Facts(duration_of(container), rate, media_type_of(container))
    except Exception:  # garbage that merely starts like a container
        return Facts(None, None, None)


def probe_stored(storage: Storage, key: str) -> Facts:
    """The stored file's facts (runs in a worker thread)."""
    reader = storage.open_seekable(key)
    try:
        return probe_reader(reader)
    finally:
        reader.close()


def final_kind(plan: UploadPlan, probed_type: str | None) -> tuple[str, str]:
    """(media_type, format) to record: the file's streams decide the type, not the client's field.
    A format that cannot hold video stays audio; an MP4 recognised only by its bytes is `m4a` as
    audio and `mp4` as video."""
    media_type = probed_type or plan.media_type
    fmt = plan.format
    if plan.sniffed and fmt in ("m4a", "mp4"):
        fmt = "mp4" if media_type == "video" else "m4a"
    if fmt in AUDIO_ONLY:
        media_type = "audio"
    return media_type, fmt


def upload_rows(
    storage: Storage,
    ids: tuple[int, int],
    key: str,
    plan: UploadPlan,
    fields: dict[str, str | None],
    stored: Stored,
    facts: tuple[float | None, int | None, str, str],
) -> tuple[Recording, MediaFile]:
    """The recording (`fields`: its meeting and title) and its one media file."""
    user_id, recording_id = ids
    duration, sample_rate, media_type, fmt = facts
    now = now_iso()
    recording = Recording(
        id=recording_id,
        user_id=user_id,
        session_uid=plan.session_uid,
        **fields,
        source="upload",
        status="completed",
        created_at=now,
        completed_at=now,
        updated_at=now,
    )
    media_file = MediaFile(
        id=new_id(),
        recording_id=recording_id,
        type=media_type,
        format=fmt,
        content_type=media.content_type(fmt, media_type),
        storage_backend=storage.backend,
        storage_key=key,
        file_size_bytes=stored.size,
        duration_seconds=duration,
        sha256=stored.sha256,
        created_at=now,
        updated_at=now,
        extra=json.dumps({"sample_rate": sample_rate}) if sample_rate else None,
    )
    return recording, media_file
