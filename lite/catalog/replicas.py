"""What differs between a private volume and a bucket other replicas share, answered in one place.

Services never ask which backend they have, nor whether storage is shared: they call these
capabilities unconditionally. The catalog picks one implementation at construction
(`Catalog.replicas`):

- `PrivateVolume` (local): one process writes the volume and its index is the whole truth, so each
  capability is the trivial answer and costs no storage request (and no await where it is sync);
- `SharedBucket` (minio/s3, lite.catalog.shared_bucket): other replicas may have written anything
  since this index last looked, so each asks storage.

A new kind of storage chooses one of the two (`Storage.shared`), or implements `Replicas`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from lite.catalog.index import Index
from lite.catalog.manifest_writes import Change, Doc
from lite.catalog.records import ApiKey, Chunk, MediaFile, Recording, User

# What a chunk made: its recording and its media file, each None when it was there already.
Made = tuple[Recording | None, MediaFile | None]


class Replicas(Protocol):
    # API keys (lite.accounts.auth)
    def key_confirmed_recently(self, key_hash: str) -> bool:
        """May an index hit on this key be trusted without asking storage (not revoked elsewhere)?"""
        ...

    async def confirm_key(self, key_hash: str) -> bool:
        """Is the key still stored? One that is not leaves the index (revoked on another replica)."""
        ...

    async def find_key(self, key_hash: str) -> ApiKey | None:
        """A key this index does not know, as stored (made on another replica), indexed too."""
        ...

    async def find_key_by_id(self, key_id: int) -> ApiKey | None:
        """Like `find_key`, by the key's id."""
        ...

    async def sync_keys(self) -> None:
        """The index's keys made to agree with storage (made or revoked on other replicas)."""
        ...

    def key_saved(self, key_hash: str) -> None:
        """This replica just stored the key: it needs no confirming for a while."""
        ...

    def key_revoked(self, key_hash: str) -> None:
        """This replica just revoked the key: no confirmation of it is remembered."""
        ...

    # users (lite.accounts.users)
    async def sync_users(self) -> None:
        """Users created or changed on other replicas, into the index."""
        ...

    async def stored_user(self, user_id: int) -> User | None:
        """The user as storage has it now (changed on another replica, perhaps)."""
        ...

    # recordings (lite.recordings.service, lite.recordings.meetings through the Catalog)
    async def sync_user(self, user_id: int) -> None:
        """The index made to agree with storage for one user's recordings."""
        ...

    async def refresh_recording(self, user_id: int, recording_id: int) -> None:
        """One recording as storage has it now (gone from the index if it was deleted)."""
        ...

    async def recording_as_stored(
        self, user_id: int, recording_id: int, row: Recording | None, confirm: bool
    ) -> Recording | None:
        """The indexed `row` (None: not indexed) as it is now: written, finalized, and (when
        `confirm`) deleted or renamed by another replica."""
        ...

    async def stored_elsewhere(self, user_id: int, recording_id: int) -> list[str]:
        """The recording's objects that this index may not know (another replica stored them)."""
        ...

    def rewrite_missing(self, change: Change, recording: Recording, media: list[MediaFile]) -> Doc | None:
        """What a manifest found missing is written again as: `change` of these rows where only
        damage removes one, None where a delete on another replica did (nothing may bring the
        recording back)."""
        ...

    async def deleted_elsewhere(self, user_id: int, recording_id: int) -> bool:
        """The manifest is missing: was the recording deleted on another replica? Then what is under
        its prefix goes and it leaves this index."""
        ...

    # bot sessions (lite.sessions.bot_uploads, finalize)
    async def session_recording(self, user_id: int, session_uid: str) -> Recording | None:
        """The session's recording as it is now (another replica may have started or finalized it)."""
        ...

    async def claim_session(self, recording: Recording) -> Recording:
        """The session's recording: `recording`, or the one another replica claimed first."""
        ...

    async def session_still_claimed(self, recording: Recording) -> bool:
        """After creating its manifest: does the session's claim still name the recording?"""
        ...

    async def release_session(self, recording: Recording) -> None:
        """At a delete, before the manifest goes: the session's claim (lite.catalog.session_claims)."""
        ...

    async def index_chunk(
        self, recording: Recording, made: Made, media: MediaFile, chunk: Chunk, now: str
    ) -> tuple[Recording, MediaFile]:
        """A stored chunk into the index, with the recording and media rows it `made` (None: not
        new); returns the recording and media row as they are now."""
        ...

    async def active_elsewhere(self, recording: Recording, cutoff: datetime) -> bool:
        """Did a chunk of this recording reach another replica after `cutoff` (so it is not idle)?"""
        ...

    # reconcile (lite.catalog.reconcile)
    def quiet_before(self, started: datetime, grace: timedelta) -> datetime:
        """Unaccounted objects last written before this belong to no live request."""
        ...

    def maybe_ahead(self) -> list[Recording]:
        """Indexed recordings in progress whose manifest another writer may have moved on."""
        ...


class PrivateVolume:
    """One process writes the volume: the index is the whole truth, nothing is asked of storage."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def key_confirmed_recently(self, key_hash: str) -> bool:
        return True

    async def confirm_key(self, key_hash: str) -> bool:
        return True

    async def find_key(self, key_hash: str) -> ApiKey | None:
        return None

    async def find_key_by_id(self, key_id: int) -> ApiKey | None:
        return None

    async def sync_keys(self) -> None:
        return None

    def key_saved(self, key_hash: str) -> None:
        return None

    def key_revoked(self, key_hash: str) -> None:
        return None

    async def sync_users(self) -> None:
        return None

    async def stored_user(self, user_id: int) -> User | None:
        return self.index.get_user(user_id)

    async def sync_user(self, user_id: int) -> None:
        return None

    async def refresh_recording(self, user_id: int, recording_id: int) -> None:
        return None

    async def recording_as_stored(
        self, user_id: int, recording_id: int, row: Recording | None, confirm: bool
    ) -> Recording | None:
        return row

    async def stored_elsewhere(self, user_id: int, recording_id: int) -> list[str]:
        return []

    def rewrite_missing(self, change: Change, recording: Recording, media: list[MediaFile]) -> Doc | None:
        return change(recording, media)  # only damage removes a manifest here: it is written again, as always

    async def deleted_elsewhere(self, user_id: int, recording_id: int) -> bool:
        return False

    async def session_recording(self, user_id: int, session_uid: str) -> Recording | None:
        return self.index.bot_recording(user_id, session_uid)

    async def claim_session(self, recording: Recording) -> Recording:
        return recording  # the session lock already makes one recording per session

    async def session_still_claimed(self, recording: Recording) -> bool:
        return True

    async def release_session(self, recording: Recording) -> None:
        return None

    async def index_chunk(
        self, recording: Recording, made: Made, media: MediaFile, chunk: Chunk, now: str
    ) -> tuple[Recording, MediaFile]:
        self.index.record_chunk(*made, chunk, now)
        return recording, media

    async def active_elsewhere(self, recording: Recording, cutoff: datetime) -> bool:
        return False

    def quiet_before(self, started: datetime, grace: timedelta) -> datetime:
        return started  # nothing this process did not write, and it wrote nothing before it started

    def maybe_ahead(self) -> list[Recording]:
        return []
