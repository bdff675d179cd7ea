"""Changing a manifest when several replicas may change it at once: read it with its tag, apply the
change, write it back only if it is still what was read (If-Match); on a conflict, read again and
apply the change again. A manifest is created only where nothing is (If-None-Match: *).

Why a change function and not the rows to write: two replicas that add a media file, mark a final
chunk or finalize at the same moment each started from what they read; re-applying each one's
change to what the other wrote keeps both (a plain overwrite kept only the last).

A manifest that is gone was deleted (a delete removes it first): an update then never writes one
again, so nothing brings a deleted recording back; the caller removes what it stored meanwhile
(`discard_deleted`). On a store that does not enforce the conditions (s3rver, some MinIO releases)
the storage layer checks, then writes: a writer that lands inside that window of about one round
trip can still be overwritten (docs/object-storage.md, "Conditional writes").
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

from lite.catalog.index import Index
from lite.catalog.keys import recording_prefix
from lite.catalog.layout import MANIFEST, manifest_bytes, manifest_key, parse_manifest
from lite.catalog.records import MediaFile, Recording
from lite.errors import Busy, LiteError, WriteConflict
from lite.storage import Storage

ATTEMPTS = 12  # each conflict means another replica's write landed: far more is a livelock
Doc = tuple[Recording, list[MediaFile]]
Change = Callable[[Recording, list[MediaFile]], Doc]  # what a request changes, applied to what is stored


class RecordingGone(LiteError):
    """The recording was deleted (on another replica) while this request worked on it."""

    status_code, code = 410, "recording_deleted"


@dataclass(frozen=True)
class TaggedManifest:
    recording: Recording
    media: list[MediaFile]
    data: bytes
    etag: str


class ManifestWrites:
    """Catalog's conditional manifest writes (a part of lite.catalog.manifests.Catalog)."""

    storage: Storage
    index: Index

    async def read_manifest(self, user_id: int, recording_id: int) -> TaggedManifest | None:
        found = await self.storage.get_tagged(manifest_key(user_id, recording_id))
        if found is None:
            return None
        recording, media = parse_manifest(found.data)
        return TaggedManifest(recording, media, found.data, found.etag)

    async def update_manifest(
        self,
        user_id: int,
        recording_id: int,
        change: Change,
        *,
        known: TaggedManifest | None = None,
        create: Doc | None = None,
    ) -> Doc:
        """The manifest after `change`, as written. `known`: the manifest as read earlier (its tag is
        the first attempt's condition: anything written since makes it read again). A missing
        manifest is created as `create`; without one it raises RecordingGone."""
        key = manifest_key(user_id, recording_id)
        current = known or await self.read_manifest(user_id, recording_id)
        for attempt in range(ATTEMPTS):
            try:
                if current is None:
                    if create is None:
                        raise RecordingGone(f"recording {recording_id} was deleted")
                    await self.storage.put_new(key, manifest_bytes(*create))
                    return create
                updated = change(current.recording, current.media)
                data = manifest_bytes(*updated)
                if data != current.data:  # another replica may have made this change already
                    await self.storage.put_replacing(key, data, current.etag)
                return updated
            except WriteConflict:
                # Another replica wrote between the read and this write: spread the retries out.
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
            current = await self.read_manifest(user_id, recording_id)
        raise Busy(f"recording {recording_id} is being changed by other requests; try again", retry_after=1)

    async def restore_manifest(self, recording: Recording, media: list[MediaFile]) -> bool:
        """A manifest found missing (verify --repair), written again from the index: created only if
        still absent, so one another replica wrote meanwhile (its finalize, say) is never replaced
        by this index's older view. False when one is there."""
        key = manifest_key(recording.user_id, recording.id)
        try:
            await self.storage.put_new(key, manifest_bytes(recording, media))
        except WriteConflict:
            return False
        return True

    async def discard_deleted(self, user_id: int, recording_id: int, written: list[str]) -> None:
        """After an update found the manifest gone: the objects this request stored (`written`) and
        whatever else is still under the recording's prefix go (the delete listed it before they
        landed, perhaps), and the recording leaves this index. Never the manifest: none is there,
        and one that is would be a newer writer's to answer for."""
        keys = set(written)
        async for info in self.storage.list(recording_prefix(user_id, recording_id)):
            if not info.key.endswith("/" + MANIFEST):
                keys.add(info.key)
        for key in sorted(keys):
            await self.storage.delete(key)
        self.index.delete_recording(recording_id)
