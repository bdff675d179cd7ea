"""`Replicas` on a bucket other replicas share (minio/s3): see lite.catalog.replicas for the contract.

Every answer asks storage, because another replica may have written anything since this index
last looked. Index hits on API keys are re-confirmed at most every KEY_RECHECK_SECONDS, so a key
revoked on one replica stops working on all of them within that time; misses are remembered for
UNKNOWN_KEY_SECONDS, so wrong keys do not cost a storage round trip each.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lite.catalog import session_claims
from lite.catalog.keys import recording_prefix
from lite.catalog.layout import manifest_key, parse_manifest
from lite.catalog.manifest_writes import Change, Doc, RecordingGone
from lite.catalog.records import ApiKey, Chunk, MediaFile, Recording, User, changed
from lite.catalog.replicas import Made
from lite.errors import BadInput, NotFound

if TYPE_CHECKING:
    from lite.catalog.manifests import Catalog

KEY_RECHECK_SECONDS = 5.0  # documented: a revoked key stops working on every replica within this
UNKNOWN_KEY_SECONDS = 2.0
UNKNOWN_MAX = 10_000


class SharedBucket:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.storage = catalog.storage
        self.index = catalog.index
        self._confirmed: dict[str, float] = {}  # key hash -> when storage last had it
        self._unknown: dict[str, float] = {}  # key hash -> until when a miss is believed

    # API keys

    def key_confirmed_recently(self, key_hash: str) -> bool:
        return time.monotonic() - self._confirmed.get(key_hash, -1e9) < KEY_RECHECK_SECONDS

    async def confirm_key(self, key_hash: str) -> bool:
        if await self.catalog.api_key_exists(key_hash):
            self.key_saved(key_hash)
            return True
        self.index.delete_api_key_by_hash(key_hash)  # revoked on another replica
        self.key_revoked(key_hash)
        return False

    async def find_key(self, key_hash: str) -> ApiKey | None:
        if self._unknown.get(key_hash, 0) >= time.monotonic():
            return None
        found = await self.catalog.load_api_key(key_hash)
        if found is not None:
            self.key_saved(key_hash)
            return found
        if len(self._unknown) > UNKNOWN_MAX:  # wrong keys are anyone's to send: bounded memory
            self._unknown.clear()
        self._unknown[key_hash] = time.monotonic() + UNKNOWN_KEY_SECONDS
        return None

    async def find_key_by_id(self, key_id: int) -> ApiKey | None:
        key_hash = await self.catalog.api_key_hash(key_id)
        return await self.catalog.load_api_key(key_hash) if key_hash else None

    async def sync_keys(self) -> None:
        """One listing, a read per key new here."""
        stored = await self.catalog.api_key_hashes()
        for key_hash in stored:
            if self.index.api_key_by_hash(key_hash) is None:
                await self.catalog.load_api_key(key_hash)
        for key_hash in self.index.api_key_hashes() - stored:
            self.index.delete_api_key_by_hash(key_hash)
            self.key_revoked(key_hash)

    def key_saved(self, key_hash: str) -> None:
        self._confirmed[key_hash] = time.monotonic()

    def key_revoked(self, key_hash: str) -> None:
        self._confirmed.pop(key_hash, None)

    # users

    async def sync_users(self) -> None:
        for user in await self.catalog.load_users():
            self.index.upsert_user(user)

    async def stored_user(self, user_id: int) -> User | None:
        return await self.catalog.load_user(user_id)

    # recordings

    async def sync_user(self, user_id: int) -> None:
        """Recordings other replicas added, changed (in progress ones may have been finalized) or
        deleted. One listing page per 1,000 recordings."""
        stored: set[int] = set()
        async for name in self.storage.list_dirs(f"recordings/{user_id}/"):
            if name.isdigit():
                stored.add(int(name))
        known = self.index.recording_states(user_id)
        for recording_id in stored - set(known):
            await self.catalog.load_recording(user_id, recording_id)
        for recording_id, status in known.items():
            if recording_id not in stored:
                self.index.delete_recording(recording_id)
            elif status == "in_progress":
                await self.catalog.load_recording(user_id, recording_id)

    async def refresh_recording(self, user_id: int, recording_id: int) -> None:
        if await self.catalog.load_recording(user_id, recording_id) is None:
            self.index.delete_recording(recording_id)

    async def recording_as_stored(
        self, user_id: int, recording_id: int, row: Recording | None, confirm: bool
    ) -> Recording | None:
        if row is None or row.status == "in_progress":  # new, or maybe finalized elsewhere
            return await self.catalog.load_recording(user_id, recording_id)
        return await self._completed_as_stored(row) if confirm else row

    async def _completed_as_stored(self, row: Recording) -> Recording | None:
        """Gone when another replica deleted it, retitled when another renamed it (the one change a
        completed recording can get). One read of a small object, where a stat was needed anyway."""
        try:
            data = await self.storage.read_bytes(manifest_key(row.user_id, row.id))
        except NotFound:
            self.index.delete_recording(row.id)
            return None
        try:
            title = parse_manifest(data)[0].title
        except ValueError:  # unreadable: kept as indexed (verify reports it)
            return row
        if title == row.title:
            return row
        self.index.set_title(row.id, title)
        return changed(row, title=title)

    async def stored_elsewhere(self, user_id: int, recording_id: int) -> list[str]:
        # A chunk, a master just assembled. Listed after the manifest is gone: whatever lands later is
        # its writer's to remove, as its conditional manifest write (or check) then fails.
        return [info.key async for info in self.storage.list(recording_prefix(user_id, recording_id))]

    def rewrite_missing(self, change: Change, recording: Recording, media: list[MediaFile]) -> Doc | None:
        return None  # a delete removed it: nothing brings the recording back

    async def deleted_elsewhere(self, user_id: int, recording_id: int) -> bool:
        await self.catalog.discard_deleted(user_id, recording_id, [])
        return True

    # bot sessions

    async def session_recording(self, user_id: int, session_uid: str) -> Recording | None:
        recording = self.index.bot_recording(user_id, session_uid)
        if recording is None:
            await self.sync_user(user_id)
        elif recording.status == "in_progress":
            await self.catalog.load_recording(user_id, recording.id)
        return self.index.bot_recording(user_id, session_uid)

    async def claim_session(self, recording: Recording) -> Recording:
        claimed = await session_claims.claim(self.storage, recording)
        if claimed.id == recording.id:
            return recording
        return await self.catalog.load_recording(recording.user_id, claimed.id) or claimed

    async def session_still_claimed(self, recording: Recording) -> bool:
        return await session_claims.still_claimed(self.storage, recording)

    async def release_session(self, recording: Recording) -> None:
        await session_claims.release(self.storage, recording)

    async def index_chunk(
        self, recording: Recording, made: Made, media: MediaFile, chunk: Chunk, now: str
    ) -> tuple[Recording, MediaFile]:
        """After the chunk is stored: the recording as storage has it (chunks other replicas
        received count towards "ready"), and the media file the chunk belongs to."""
        user_id, recording_id, key = recording.user_id, recording.id, chunk.storage_key
        if await self.catalog.load_recording(user_id, recording_id) is None:  # deleted meanwhile
            await self.catalog.discard_deleted(user_id, recording_id, [key])
            raise RecordingGone(f"recording {recording_id} was deleted; start a new session")
        stored = self.index.media_of_type(recording_id, media.type)
        if stored is None or not key.startswith(stored.storage_key + ".chunks/"):
            # Another replica started this media file in another format at the same instant.
            await self.storage.delete(key)
            raise BadInput(f"this session's {media.type} is in another format than {media.format}")
        self.index.record_chunk(None, None, changed(chunk, media_id=stored.id), now)
        return self.index.get_recording_by_id(recording_id) or recording, stored

    async def active_elsewhere(self, recording: Recording, cutoff: datetime) -> bool:
        """The storage says when the newest chunk came, and the manifest whether another replica
        finalized it already."""
        await self.catalog.load_recording(recording.user_id, recording.id)
        for media in self.index.media_for([recording.id]):
            async for info in self.storage.list(media.storage_key + ".chunks/"):
                if info.last_modified > cutoff:
                    return True
        return False

    # reconcile

    def quiet_before(self, started: datetime, grace: timedelta) -> datetime:
        return datetime.now(UTC) - grace  # an upload in progress elsewhere stores before its manifest

    def maybe_ahead(self) -> list[Recording]:
        ids = sorted({m.recording_id for m in self.index.receiving_media()})
        return [row for i in ids if (row := self.index.get_recording_by_id(i)) is not None]
