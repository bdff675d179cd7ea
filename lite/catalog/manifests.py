"""The durable catalog in the storage backend: what the SQLite index is a cache of.

Layout (beside the media, on every backend):
    users/<user_id>.json                          the user
    api-keys/<sha256 of key>.json                 {"id","user_id","created_at","scopes","name","expires_at"}
    api-key-ids/<key_id>.json                     {"key_hash"}: revocation by id on any replica
    recordings/<user_id>/<recording_id>/manifest.json   the recording and its media files
    sessions/<user_id>/<session_uid>.json         which recording a bot session is (shared storage)

Manifests that several replicas may change at once (a bot session's) are changed conditionally:
lite.catalog.manifest_writes.

Write order: media objects, then the manifest (atomic put), then the index; so anything a rebuild
or another replica finds through a manifest is complete. Deletes go the other way round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from lite.catalog.account_manifests import AccountManifests
from lite.catalog.index import Index
from lite.catalog.layout import (
    MANIFEST,
    manifest_bytes,
    manifest_key,
    parse_manifest,
)
from lite.catalog.manifest_writes import ManifestWrites
from lite.catalog.parallel import gather_limited
from lite.catalog.quarantine import Quarantine, Unreadable, parse_api_key
from lite.catalog.records import Chunk, MediaFile, Recording
from lite.catalog.replicas import PrivateVolume, Replicas
from lite.catalog.shared_bucket import SharedBucket
from lite.errors import NotFound
from lite.storage import Storage

log = logging.getLogger("lite.catalog.manifests")


@dataclass
class RebuildProgress:
    running: bool = False
    done: bool = False
    users: int = 0
    api_keys: int = 0
    recordings: int = 0
    objects_listed: int = 0
    error: str | None = None
    skipped: list[str] = field(default_factory=list)

    def restart(self) -> None:
        self.running, self.users, self.api_keys, self.recordings, self.objects_listed = True, 0, 0, 0, 0
        self.skipped = []

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "users": self.users,
            "api_keys": self.api_keys,
            "recordings": self.recordings,
            "objects_listed": self.objects_listed,
            "error": self.error,
        }


class Catalog(AccountManifests, ManifestWrites):
    def __init__(self, storage: Storage, index: Index) -> None:
        self.storage = storage
        self.index = index
        self.quarantine = Quarantine(storage)
        # Asked once: what differs on a bucket other replicas share (lite.catalog.replicas).
        self.replicas: Replicas = SharedBucket(self) if storage.shared else PrivateVolume(index)

    # recordings

    async def save_manifest(self, recording: Recording, media: list[MediaFile]) -> None:
        key = manifest_key(recording.user_id, recording.id)
        await self.storage.put_bytes(key, manifest_bytes(recording, media))

    async def delete_manifest(self, user_id: int, recording_id: int) -> None:
        await self.storage.delete(manifest_key(user_id, recording_id))

    async def load_recording(self, user_id: int, recording_id: int) -> Recording | None:
        """Index a recording another replica wrote (or refresh one whose manifest changed)."""
        try:
            data = await self.storage.read_bytes(manifest_key(user_id, recording_id))
        except NotFound:
            return None
        recording, media = parse_manifest(data)
        if recording.user_id != user_id:
            return None
        chunks = await self._chunks_of(media)
        self.index.replace_recording(recording, media, chunks)
        return recording

    async def manifest_exists(self, user_id: int, recording_id: int) -> bool:
        try:
            await self.storage.stat(manifest_key(user_id, recording_id))
        except NotFound:
            return False
        return True

    async def _chunks_of(self, media: list[MediaFile]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for item in media:
            if item.state != "receiving":
                continue
            async for info in self.storage.list(item.storage_key + ".chunks/"):
                seq = info.key.rsplit("/", 1)[1]
                if seq.isdigit():
                    chunks.append(_listed_chunk(item.id, int(seq), info.key, info.size))
        return chunks

    async def sync_user(self, user_id: int) -> None:
        """Make the index agree with storage for one user: recordings other replicas added, changed
        (in progress ones may have been finalized) or deleted. One listing page per 1,000 recordings.
        Nothing to do on a private volume: this index is the only writer's."""
        await self.replicas.sync_user(user_id)

    async def rebuild(self, progress: RebuildProgress) -> None:
        """Refill an empty index from storage, streaming the listings page by page."""
        for user in await self.load_users():
            self.index.upsert_user(user)
            progress.users += 1
        async for info in self.storage.list("api-keys/"):
            data = await self._read_or_none(info.key)
            if data is None:
                continue
            key_hash = info.key.removeprefix("api-keys/").removesuffix(".json")
            try:
                key = parse_api_key(data, key_hash)
            except Unreadable as exc:
                await self.quarantine.move_aside(info.key, data, str(exc))
                continue
            self.index.upsert_api_key(key)
            progress.api_keys += 1

        manifests: list[str] = []
        chunk_objects: dict[str, list[tuple[int, str, int]]] = {}
        async for info in self.storage.list("recordings/"):
            progress.objects_listed += 1
            if info.key.endswith("/" + MANIFEST):
                manifests.append(info.key)
                if len(manifests) >= 1000:
                    await self._index_manifests(manifests, chunk_objects, progress)
                    manifests = []
            elif ".chunks/" in info.key:
                master, _, seq = info.key.rpartition(".chunks/")
                if seq.isdigit():
                    chunk_objects.setdefault(master, []).append((int(seq), info.key, info.size))
        await self._index_manifests(manifests, chunk_objects, progress)
        self._index_chunks(chunk_objects)

    async def _index_manifests(
        self, keys: list[str], chunk_objects: dict[str, list[tuple[int, str, int]]], progress: RebuildProgress
    ) -> None:
        documents = await gather_limited([lambda k=k: self.storage.read_bytes(k) for k in keys])
        batch = []
        for key, data in zip(keys, documents, strict=True):
            try:
                batch.append(parse_manifest(data))
            except ValueError:
                progress.skipped.append(key)
                log.error("skipping unreadable manifest %s", key)
        self.index.bulk_insert_recordings(batch)
        progress.recordings += len(batch)

    def _index_chunks(self, chunk_objects: dict[str, list[tuple[int, str, int]]]) -> None:
        receiving = {m.storage_key: m.id for m in self.index.receiving_media()}
        rows = [
            _listed_chunk(receiving[master], seq, key, size)
            for master, found in chunk_objects.items()
            if master in receiving
            for seq, key, size in found
        ]
        self.index.bulk_insert_chunks(rows)


def _listed_chunk(media_id: int, seq: int, key: str, size: int) -> Chunk:
    # The chunk's SHA-256 is not in a listing; "" marks it unknown (it only versions live ETags).
    return Chunk(media_id=media_id, seq=seq, storage_key=key, size=size, sha256="", created_at="")
