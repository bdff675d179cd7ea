"""`python -m lite migrate --to s3|minio|local`: copy the whole catalog to another backend.

What is copied: every object under users/, api-key-ids/, api-keys/, recordings/ (media, chunks
of recordings still receiving, manifests) and sessions/ (which recording a bot session is, on shared
storage), in the catalog's write order: users before the keys that name them, per recording its
media and chunks before its manifest, and a session's claim after the recording it names, so a
reader (or a rebuild) of the target never sees a recording whose bytes are not there yet, even if
the copy is killed.

Checks: each object streams from source to target (memory stays at a few blocks per copy) and the
target's put_stream hashes what it wrote. A media file must match the SHA-256 its manifest recorded,
so damage at the source is caught, not copied (the copy is removed and reported); other objects must
match the hash taken while reading the source. Manifests are rewritten, not byte-copied: their media
files name the target backend, which is what the API shows once the server runs there; the index's
media rows get the same change, recording by recording.

Resuming: a journal (SQLite, in DATA_DIR, one per target) records every verified copy with the
source's size and modification time and the size written. An object is skipped when its source is
unchanged since and the target's listing still shows it at that size: its checksum was verified when
it was copied, so neither side is read again. Both listings are merged in key order: one LIST call
per 1,000 objects, no HEAD per object. What an earlier run copied and the source has deleted since (a
recording, a revoked key) is deleted from the target too, so a last run with the server stopped
leaves the target equal to the source; objects migrate did not write are never touched.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, TextIO

from lite.catalog.index import Index
from lite.catalog.layout import MANIFEST, manifest_bytes, parse_manifest
from lite.catalog.records import changed
from lite.catalog.walk import Bounded, Group, grouped, merge
from lite.config import Settings, load_settings
from lite.errors import LiteError
from lite.ops.migrate_report import Progress, Summary
from lite.storage import ObjectInfo, Storage, Stored

PREFIXES = ("users/", "api-key-ids/", "api-keys/", "recordings/", "sessions/")  # what others name comes first
JOBS = 4  # recordings copied at once; an S3 upload buffers up to two 8 MiB parts
INDEX_BATCH = 500


def target_settings(current: Settings, backend: str, env: Mapping[str, str] | None = None) -> Settings:
    """The current settings pointed at `backend`, configured by the same variables as the server."""
    loaded = load_settings({**(os.environ if env is None else env), "STORAGE_BACKEND": backend})
    return replace(
        current,
        storage_backend=backend,
        s3=loaded.s3,
        local_storage_dir=loaded.local_storage_dir,
        local_fsync=loaded.local_fsync,
    )


def location(settings: Settings) -> str:
    """Where a backend's objects are: minio and s3 on one endpoint and bucket are the same place."""
    if settings.storage_backend == "local":
        return f"local:{settings.local_storage_dir.resolve()}"
    assert settings.s3 is not None
    return f"s3:{settings.s3.endpoint or 'aws'}/{settings.s3.bucket}"


def journal_path(data_dir: Path, target: Settings) -> Path:
    digest = hashlib.sha256(location(target).encode()).hexdigest()[:12]
    return data_dir / f"migrate-{target.storage_backend}-{digest}.journal"


class CopyFailed(LiteError):
    pass


class Journal:
    """Verified copies (see the module doc); committed one by one, so a kill loses at most one."""

    def __init__(self, path: Path, dry_run: bool = False) -> None:
        # A dry run creates nothing: it reads the journal there is, or an empty one.
        self.db = sqlite3.connect(":memory:" if dry_run and not path.exists() else path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # a lost entry costs one more copy, nothing else
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS copied (key TEXT PRIMARY KEY, source_size INTEGER NOT NULL,"
            " source_mtime TEXT NOT NULL, target_size INTEGER NOT NULL, sha256 TEXT NOT NULL)"
        )

    def done(self, source: ObjectInfo, target: ObjectInfo | None) -> bool:
        if target is None:
            return False
        row = self.db.execute(
            "SELECT source_size, source_mtime, target_size FROM copied WHERE key = ?", (source.key,)
        ).fetchone()
        return row == (source.size, source.last_modified.isoformat(), target.size)

    def record(self, source: ObjectInfo, stored: Stored) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO copied VALUES (?, ?, ?, ?, ?)",
            (source.key, source.size, source.last_modified.isoformat(), stored.size, stored.sha256),
        )

    def copied(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM copied WHERE key = ?", (key,)).fetchone() is not None

    def forget(self, key: str) -> None:
        self.db.execute("DELETE FROM copied WHERE key = ?", (key,))

    def close(self) -> None:
        self.db.close()


class Pair(NamedTuple):
    key: str
    source: ObjectInfo
    target: ObjectInfo | None


def _key_of(item: Pair | str) -> str:
    return item if isinstance(item, str) else item.key


async def _keyed(listing: AsyncIterator[ObjectInfo]) -> AsyncIterator[tuple[str, ObjectInfo]]:
    async for info in listing:
        yield info.key, info


async def _hashed(blocks: AsyncIterator[bytes], digest: hashlib._Hash) -> AsyncIterator[bytes]:
    async for block in blocks:
        digest.update(block)
        yield block


class Migration:
    def __init__(
        self,
        source: Storage,
        target: Storage,
        index: Index,
        journal: Journal,
        summary: Summary,
        jobs: int = JOBS,
        progress_stream: TextIO = sys.stderr,
    ) -> None:
        self.source, self.target, self.index, self.journal = source, target, index, journal
        self.summary = summary
        self.pool = Bounded(jobs)
        self.progress_stream = progress_stream
        self._migrated: list[int] = []

    async def run(self) -> Summary:
        started = time.monotonic()
        self.progress = Progress(*await self._count(), self.progress_stream)
        if not self.summary.dry_run:
            await self.target.remove_leftovers()  # half-written temp files of a killed copy
        for prefix in PREFIXES:
            both = merge(_keyed(self.source.list(prefix)), _keyed(self.target.list(prefix)))
            items = (key if src is None else Pair(key, src, tgt) async for key, src, tgt in both)
            async for group in grouped(items, _key_of):
                await self.pool.start(self._sync_group(group))
            await self.pool.drain()  # a prefix is complete before the next one starts
        self._flush_index()
        self.progress.finish()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    async def _count(self) -> tuple[int, int]:
        """A first pass over the listings (one call per 1,000 objects), for the progress bar."""
        objects = size = 0
        for prefix in PREFIXES:
            async for info in self.source.list(prefix):
                objects += 1
                size += info.size
        return objects, size

    async def _sync_group(self, group: Group[Pair | str]) -> None:
        manifest = group.key + MANIFEST if group.ids else None
        pairs = sorted((p for p in group.items if isinstance(p, Pair)), key=lambda p: p.key == manifest)
        gone = [key for key in group.items if isinstance(key, str)]
        if not await self._copy(pairs, manifest) or not await self._remove(gone, manifest):
            return
        if group.ids and pairs and pairs[-1].key == manifest:  # the recording is complete in the target
            self._migrated.append(group.ids[1])
            if len(self._migrated) >= INDEX_BATCH:
                self._flush_index()

    async def _copy(self, pairs: list[Pair], manifest: str | None) -> bool:
        """Copy what the journal does not show as there already, the manifest last; False on failure."""
        self.summary.objects += len(pairs)
        todo = [pair for pair in pairs if not self.journal.done(pair.source, pair.target)]
        self.summary.skipped += len(pairs) - len(todo)
        for pair in pairs:
            if pair not in todo or self.summary.dry_run:
                self.progress.advance(pair.source.size, copied=False)
        if self.summary.dry_run:
            self.summary.copied += len(todo)
            self.summary.bytes_copied += sum(pair.source.size for pair in todo)
            return True
        done = 0
        try:
            document, sha256s = b"", {}
            if todo and pairs[-1].key == manifest:  # read it only when something is to be copied
                document, sha256s = await self._retargeted_manifest(pairs[-1].key)
            for pair in todo:
                await self._copy_one(pair, document if pair.key == manifest else None, sha256s.get(pair.key))
                done += 1
        except LiteError as exc:
            # The rest of the recording waits for the next run: never a manifest before its media.
            failed = todo[done:]
            self.summary.failed += len(failed)
            self.summary.failures.append(f"{failed[0].key}: {exc.detail}")
            for pair in failed:
                self.progress.advance(pair.source.size, copied=False)
            return False
        return True

    async def _remove(self, keys: list[str], manifest: str | None) -> bool:
        """Objects an earlier run copied that the source no longer has (a recording deleted, a key
        revoked, chunks finalized since) go from the target too, the manifest first, as the server
        deletes; objects migrate did not put there are left alone."""
        ours = sorted((key for key in keys if self.journal.copied(key)), key=lambda key: key != manifest)
        self.summary.foreign += len(keys) - len(ours)
        try:
            for key in ours:
                if not self.summary.dry_run:
                    await self.target.delete(key)
                    self.journal.forget(key)
                self.summary.removed += 1
        except LiteError as exc:
            self.summary.failed += 1
            self.summary.failures.append(f"{key}: not removed: {exc.detail}")
            return False
        return True

    async def _retargeted_manifest(self, key: str) -> tuple[bytes, dict[str, str]]:
        """The manifest as the target should hold it, and the SHA-256 it records per media key."""
        try:
            recording, media = parse_manifest(await self.source.read_bytes(key))
        except ValueError as exc:
            raise CopyFailed(f"its manifest does not parse ({exc!r})") from None
        sha256s = {m.storage_key: m.sha256 for m in media if m.state == "complete" and m.sha256}
        moved = [changed(m, storage_backend=self.target.backend) for m in media]
        return manifest_bytes(recording, moved), sha256s

    async def _copy_one(self, pair: Pair, document: bytes | None, expected: str | None) -> None:
        read = hashlib.sha256()
        if document is not None:
            stored = await self.target.put_bytes(pair.key, document)
            want, size = hashlib.sha256(document).hexdigest(), len(document)
        else:
            blocks = _hashed(await self.source.open_read(pair.key), read)
            stored = await self.target.put_stream(pair.key, blocks)
            want, size = expected or read.hexdigest(), pair.source.size
        if stored.sha256 != want or stored.size != size:
            await self.target.delete(pair.key)
            why = (
                "does not match the SHA-256 its manifest records (damaged at the source?)" if expected else ""
            )
            raise CopyFailed(why or f"{stored.size} bytes arrived of {size}, or their SHA-256 differs")
        self.journal.record(pair.source, stored)
        self.summary.copied += 1
        self.summary.bytes_copied += stored.size
        self.progress.advance(pair.source.size, copied=True)

    def _flush_index(self) -> None:
        if self._migrated:
            self.index.set_media_backend(self._migrated, self.target.backend)
            self.summary.recordings += len(self._migrated)
            self._migrated = []
