"""`python -m lite verify`: the index against storage, recording by recording, and `--repair`.

What it reports, per recording prefix `recordings/<user_id>/<id>/`:
  missing      a media object the index names (or the manifest, for an unindexed recording) is gone
  size         the object's size differs from the recorded file_size_bytes
  checksum     re-reading the object (--checksums) gives another SHA-256 than was recorded
  no-manifest  an indexed recording has no manifest: a rebuild from storage would lose it
  unindexed    a manifest the index does not know: the server does not list the recording
  unreadable   a manifest that does not parse
  orphan       an object that no manifest or index row accounts for (manifests, and the chunk
               objects of media still receiving, are accounted for)

Objects that may be Vexa's (lite.catalog.vexa_layout.is_vexa_key: its chunk folders and masters, its
one-file-per-session media named by a UUID session) are never orphans: a bucket Lite shares with
Vexa's recordings keeps them, before `python -m lite import-vexa` indexes them and after (an
imported recording's chunks stay beside the file it plays).

`--repair` fixes only what loses nothing: orphans are deleted, unindexed recordings are indexed from
their manifests, and missing manifests are written from the index unless the recording's media is
missing or damaged (the manifest would vouch for bytes that are not there). Missing, resized or
corrupted media is never deleted nor marked: it is reported, because it may still be restored from a
backup, and marking it failed would change what the API says about a file that can come back.

Writes in flight look like damage for a moment (media is stored before its manifest, the manifest
before the index row), so orphans and unindexed manifests younger than the grace period are listed
as "in flight" and left alone, and each orphan is looked at again right before it is deleted. The
server runs the same walk in the background after a start (lite.catalog.reconcile).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from lite.catalog.findings import DAMAGE, Finding, Report
from lite.catalog.index import Index
from lite.catalog.keys import recording_prefix
from lite.catalog.layout import manifest_key, parse_manifest
from lite.catalog.manifest_writes import Doc
from lite.catalog.manifests import Catalog
from lite.catalog.records import MediaFile, Recording
from lite.catalog.vexa_layout import is_vexa_key
from lite.catalog.walk import RECORDING_PREFIX, Bounded, Group, grouped, master_of_chunk, merge, sha256_of
from lite.errors import NotFound
from lite.storage import ObjectInfo, Storage

PACE = 500  # recordings checked between turns given to requests (paced mode)
HASH_JOBS = 8  # objects re-hashed at once: S3 reads are latency-bound, local ones disk-bound


def _accounted(key: str, media: list[MediaFile]) -> bool:
    if any(key == m.storage_key for m in media):
        return True
    master = master_of_chunk(key)
    return master is not None and any(m.storage_key == master and m.state == "receiving" for m in media)


class Verifier:
    def __init__(
        self,
        storage: Storage,
        index: Index,
        *,
        checksums: bool = False,
        grace_seconds: float = 3600.0,
        paced: bool = False,
    ) -> None:
        self.storage = storage
        self.index = index
        self.catalog = Catalog(storage, index)
        self.checksums = checksums
        self.grace = timedelta(seconds=grace_seconds)
        self.report = Report(storage.backend, checksums, grace_seconds)
        self._damaged: set[int] = set()  # recordings with missing or bad media: no manifest vouches for them
        self._hashing = Bounded(HASH_JOBS)
        self._now = datetime.now(UTC)
        self._paced = paced  # inside the server: give requests a turn now and then

    async def run(self, repair: bool = False) -> Report:
        started = time.monotonic()
        stored = ((group.key, group) async for group in grouped(self.storage.list("recordings/"), _key))
        checked = 0
        async for _, group, indexed in merge(stored, self._indexed()):
            await self._check(group, indexed)
            checked += 1
            if self._paced and checked % PACE == 0:
                # Index batches and local listings arrive without a turn for other tasks.
                await asyncio.sleep(0)
        await self._hashing.drain()
        if repair:  # after the walk: the index is not written while it is being read
            for finding in self.report.findings:
                if finding.fix is not None:
                    finding.repaired = await finding.fix()
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _indexed(self) -> AsyncIterator[tuple[str, Doc]]:
        for batch in self.index.recordings_in_key_order():
            media = self.index.media_by_recording([r.id for r in batch])
            for recording in batch:
                yield recording_prefix(recording.user_id, recording.id), (recording, media[recording.id])

    async def _check(self, group: Group[ObjectInfo] | None, indexed: Doc | None) -> None:
        objects = {info.key: info for info in group.items} if group else {}
        self.report.objects += len(objects)
        self.report.bytes += sum(info.size for info in objects.values())
        if group is not None and group.ids is None:  # under recordings/ but no recording's key
            self._unaccounted(objects.values())
            return
        if group is not None and group.ids is not None:
            user_id, recording_id = group.ids
        else:
            assert indexed is not None
            user_id, recording_id = indexed[0].user_id, indexed[0].id
        manifest = objects.pop(manifest_key(user_id, recording_id), None)
        if indexed is None:
            if manifest is None:  # no manifest, no index row: an upload on its way, or debris
                self._unaccounted(objects.values())
                return
            if self._young(manifest):  # its index row is on its way
                self.report.in_flight += [manifest.key, *objects]
                return
            parsed = await self._read_manifest(manifest.key, recording_id)
            if parsed is None:
                return
            recording, media = parsed
            self._find(
                "unindexed",
                manifest.key,
                recording_id,
                "the index does not list this recording",
                fix=lambda: self._index(user_id, recording_id),
            )
        else:
            recording, media = indexed
            if manifest is None:
                self._find(
                    "no-manifest",
                    manifest_key(user_id, recording_id),
                    recording_id,
                    "indexed, but a rebuild from storage would lose it",
                    fix=lambda: self._rewrite_manifest(recording, media),
                )
        self.report.recordings += 1
        await self._check_media(recording_id, media, objects, "the index" if indexed else "its manifest")
        leftover = [info for key, info in objects.items() if not _accounted(key, media)]
        if leftover and indexed is not None and manifest is not None:
            # The index may be behind the manifest (a recording finalized on another replica).
            parsed = await self._read_manifest(manifest.key, recording_id)
            leftover = [info for info in leftover if parsed is None or not _accounted(info.key, parsed[1])]
        self._unaccounted(leftover)

    async def _check_media(
        self, recording_id: int, media: list[MediaFile], objects: dict[str, ObjectInfo], named_by: str
    ) -> None:
        for item in media:
            if item.state == "receiving":
                continue  # no master object yet: its chunk objects are the media
            key = item.storage_key
            info = objects.get(key)
            if info is None:
                self._find("missing", key, recording_id, f"named by {named_by}, not in storage")
            elif info.size != item.file_size_bytes:
                self._find("size", key, recording_id, f"{info.size} bytes, {item.file_size_bytes} recorded")
            elif self.checksums and item.sha256:
                await self._hashing.start(self._hash(key, item.sha256, recording_id))

    async def _hash(self, key: str, expected: str, recording_id: int) -> None:
        try:
            actual = await sha256_of(self.storage, key)
        except NotFound:
            self._find("missing", key, recording_id, "deleted while verify ran")
            return
        self.report.hashed += 1
        if actual != expected:
            self._find("checksum", key, recording_id, f"SHA-256 is {actual[:16]}…, {expected[:16]}… recorded")

    async def _read_manifest(self, key: str, recording_id: int) -> Doc | None:
        try:
            return parse_manifest(await self.storage.read_bytes(key))
        except NotFound:  # deleted since it was listed
            return None
        except ValueError as exc:
            self._find("unreadable", key, recording_id, f"the manifest does not parse ({exc!r})")
            return None

    def _young(self, info: ObjectInfo) -> bool:
        return self._now - info.last_modified < self.grace

    def _unaccounted(self, infos: Iterable[ObjectInfo]) -> None:
        for info in infos:
            if is_vexa_key(info.key):
                continue  # Vexa's (see the module doc): never an orphan
            if self._young(info):
                self.report.in_flight.append(info.key)
            else:
                age = (self._now - info.last_modified).total_seconds()
                detail = f"{info.size} bytes, {age:.0f} s old, named by no manifest or index row"
                self._find("orphan", info.key, None, detail, fix=lambda key=info.key: self._delete(key))

    def _find(
        self,
        kind: str,
        key: str,
        recording_id: int | None,
        detail: str,
        fix: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        if kind in DAMAGE and recording_id is not None:
            self._damaged.add(recording_id)
        self.report.findings.append(Finding(kind, key, detail, recording_id, fix=fix))

    # repairs

    async def _delete(self, key: str) -> bool:
        if is_vexa_key(key) or await self._named_since(key):
            return False  # a write in flight after all: left alone, and still reported
        await self.storage.delete(key)
        return True

    async def _named_since(self, key: str) -> bool:
        """Whether an orphan was rewritten, or named by the index or a manifest, since it was listed:
        the walk may have been long, and it read the listing and the index at different moments."""
        try:
            info = await self.storage.stat(key)
        except NotFound:
            return False
        if self._young(info):
            return True
        match = RECORDING_PREFIX.match(key)
        if match is None:
            return False
        user_id, recording_id = int(match[1]), int(match[2])
        if _accounted(key, self.index.media_for([recording_id])):
            return True
        try:
            _, media = parse_manifest(await self.storage.read_bytes(manifest_key(user_id, recording_id)))
        except (NotFound, ValueError):  # no manifest, or one that names nothing
            return False
        return _accounted(key, media)

    async def _index(self, user_id: int, recording_id: int) -> bool:
        return await self.catalog.load_recording(user_id, recording_id) is not None

    async def _rewrite_manifest(self, recording: Recording, media: list[MediaFile]) -> bool:
        if recording.id in self._damaged:
            return False
        return await self.catalog.restore_manifest(recording, media)


def _key(info: ObjectInfo) -> str:
    return info.key
