"""`python -m lite import-vexa`: index an existing Vexa bucket (or local volume) into Lite.

Vexa keeps no manifest in storage (its index is Postgres), so everything comes from the keys
(lite.catalog.vexa_layout) and the bytes. Per recording prefix `recordings/<user_id>/<recording_id>/`:

- a chunk folder `<session>/<type>/` with `master.<fmt>`: the master is the media file;
- a chunk folder without one: the chunks are assembled in seq order as Lite's finalizer does (webm
  remuxed, WAV merged; chunks that do not assemble are joined and the recording is `failed`, as the
  finalizer does) into Lite's media key `<session>.<fmt>`; the chunks stay;
- a single file `<session>.<fmt>`: `.wav` is audio, `.webm`/`.mp4` is video if it has a video stream.

The recording keeps Vexa's ids (so links and owners stay valid); its user is adopted (created with
that id and a placeholder email, as for Vexa's bot). Lite's manifest is written into the prefix,
then the index rows; media files point at Vexa's own objects: nothing is copied on the same storage.
`--from-local DIR` reads another volume and copies what is imported (same keys) into Lite's storage.

Idempotent and resumable without a journal: a prefix with a manifest that the index lists is
skipped; one with a manifest the index lacks (a run killed between the two) is indexed from it; an
assembled file found at Lite's media key (a run killed before its manifest) is used as it is. Nothing
outside `recordings/` is read, and no object of Vexa's is ever deleted or rewritten.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from anyio import to_thread

from lite.catalog.layout import MANIFEST
from lite.catalog.records import Chunk, MediaFile, Recording, changed
from lite.catalog.walk import Bounded, Group, grouped, sha256_of
from lite.clock import now_iso
from lite.errors import LiteError
from lite.media import formats
from lite.media.assemble import AssemblyError
from lite.ops.import_vexa_report import ImportProgress, ImportSummary
from lite.ops.vexa_plan import ImportFailed, Media, NotVexa, iso, plan, probed, streams
from lite.services import Services
from lite.sessions.session_rows import session_media
from lite.storage import ObjectInfo, Storage

JOBS = 4  # recordings imported at once


class VexaImport:
    def __init__(
        self,
        services: Services,
        summary: ImportSummary,
        source: Storage | None = None,
        jobs: int = JOBS,
        progress_stream: TextIO = sys.stderr,
    ) -> None:
        self.services = services
        self.target = services.storage
        self.source = source or services.storage
        self.summary = summary
        self.pool = Bounded(max(jobs, 1))
        self.progress_stream = progress_stream

    async def run(self) -> ImportSummary:
        started = time.monotonic()
        objects = size = 0
        async for info in self.source.list("recordings/"):  # a first pass, for the progress bar
            objects, size = objects + 1, size + info.size
        self.progress = ImportProgress(objects, size, self.progress_stream)
        async for group in grouped(self.source.list("recordings/"), lambda info: info.key):
            if group.ids is None:
                self.summary.skipped["objects under recordings/ outside any recording's prefix"] += 1
                self._advance(group)
                continue
            await self.pool.start(self._guarded(group))
        await self.pool.drain()
        self.progress.finish()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _advance(self, group: Group[ObjectInfo]) -> None:
        for info in group.items:
            self.progress.advance(info.size, copied=False)

    async def _guarded(self, group: Group[ObjectInfo]) -> None:
        self.summary.recordings += 1
        try:
            await self._recording(group)
        except NotVexa:
            self.summary.skipped["no object in Vexa's key layout (left alone)"] += 1
        except Exception as exc:  # this recording's fault: the report names it, the others go on
            if isinstance(exc, LiteError):
                detail = exc.detail
            elif isinstance(exc, (ImportFailed, AssemblyError)):
                detail = str(exc)
            else:
                detail = f"{type(exc).__name__}: {exc}"
            self.summary.failures.append(f"{group.key}: {detail}")
        finally:
            self._advance(group)

    async def _recording(self, group: Group[ObjectInfo]) -> None:
        assert group.ids is not None
        user_id, recording_id = group.ids
        index, catalog = self.services.index, self.services.catalog
        existing = index.get_recording_by_id(recording_id)
        if existing is not None and existing.user_id != user_id:
            raise ImportFailed(f"Lite has a recording {recording_id} of another user ({existing.user_id})")
        if existing is not None:
            self.summary.skipped["already in Lite"] += 1
            return
        if await catalog.manifest_exists(user_id, recording_id):  # a run killed before the index
            if not self.summary.dry_run and await catalog.load_recording(user_id, recording_id) is None:
                raise ImportFailed("its manifest names another user")
            self.summary.imported += 1
            self.summary.planned.append(
                f"{group.key}: index it from its manifest (written by an earlier run)"
            )
            return
        names = {info.key[len(group.key) :]: info for info in group.items if info.key != group.key + MANIFEST}
        session_uid, media = await plan(self.source, group.ids, group.key, names, self.summary.notes)
        how = "; ".join(f"{m.media_type} {m.fmt} from {m.how}" for m in media)
        self.summary.planned.append(f"{group.key}: import session {session_uid}: {how}")
        if not self.summary.dry_run:
            if self.source is not self.target:
                await self._copy([info for m in media for info in m.sources])
            await self._store(user_id, recording_id, session_uid, media)
        self.summary.assembled += sum(1 for m in media if m.chunks)
        self.summary.imported += 1

    async def _copy(self, infos: list[ObjectInfo]) -> None:
        """Another source: its objects, under the same keys, into Lite's storage (resumable: an object
        already there at its size is not copied again)."""
        for info in infos:
            try:
                if (await self.target.stat(info.key)).size == info.size:
                    continue
            except LiteError:
                pass
            stored = await self.target.put_stream(info.key, await self.source.open_read(info.key))
            if stored.size != info.size:
                raise ImportFailed(f"{info.key}: {stored.size} bytes copied of {info.size}")
            self.summary.copied += 1
            self.summary.bytes_copied += stored.size

    async def _store(self, user_id: int, recording_id: int, session_uid: str, media: list[Media]) -> None:
        """Media files first (assembled ones stored), then the user, the manifest, the index rows."""
        rows: list[MediaFile] = []
        errors: list[str] = []
        playable = unassembled = False
        for item in media:
            if item.chunks:
                row, error = await self._assembled_row(recording_id, item)
                unassembled = unassembled or error is not None
            else:
                row, error = await self._file_row(recording_id, item)
            audio, video = await to_thread.run_sync(streams, self.target, row.storage_key)
            if error is None and not (audio or video):
                error = f"the {item.media_type} file {item.key} does not play"
            playable = playable or error is None
            errors += [error] if error else []
            rows.append(row)
        stamps = [info.last_modified for item in media for info in item.sources]
        # As Lite's finalizer: chunks that do not assemble fail the recording (their bytes are kept).
        status = "completed" if playable and not unassembled else "failed"
        if status == "failed":
            self.summary.unplayable.append(f"{recording_id}: {'; '.join(errors) or 'nothing in it plays'}")
        recording = Recording(
            id=recording_id,
            user_id=user_id,
            session_uid=session_uid,
            source="bot",  # both of Vexa's layouts are written by its bot's uploads
            status=status,
            error_message="; ".join(errors) or None,
            created_at=iso(min(stamps)),
            completed_at=iso(max(stamps)) if status == "completed" else None,
            updated_at=now_iso(),
        )
        await self.services.auth.adopt_user(user_id)
        await self.services.catalog.save_manifest(recording, rows)
        self.services.index.insert_recording(recording, rows)

    def _media_row(self, recording_id: int, item: Media, info: ObjectInfo | None) -> MediaFile:
        stamps = [i.last_modified for i in item.sources]
        made = session_media(
            recording_id,
            (item.media_type, item.fmt),
            (self.target.backend, item.key),
            (iso(min(stamps)), iso(max(stamps))),
            "complete",
        )
        return changed(made, file_size_bytes=info.size if info else 0)

    async def _file_row(self, recording_id: int, item: Media) -> tuple[MediaFile, str | None]:
        info = await self.target.stat(item.key)
        row = self._media_row(recording_id, item, info)
        if item.fmt not in formats.FORMATS:
            error = f"{item.key}: Lite does not serve {item.fmt}"
            return changed(row, content_type="application/octet-stream"), error
        duration, sample_rate = await to_thread.run_sync(probed, self.target, item.key)
        chunks = [i for i in item.sources if i.key != item.key]
        extra = {"sample_rate": sample_rate} if sample_rate else {}
        if chunks:
            extra["chunk_count"] = len(chunks)
        sha256 = await sha256_of(self.target, item.key)
        extra_text = json.dumps(extra) if extra else None
        return changed(row, duration_seconds=duration, sha256=sha256, extra=extra_text), None

    async def _assembled_row(self, recording_id: int, item: Media) -> tuple[MediaFile, str | None]:
        """As Lite's finalizer assembles a bot's chunks (its own code): the master stored at `key`."""
        row = self._media_row(recording_id, item, None)
        row = changed(row, state="receiving", final_seq=item.chunks[-1][0])
        chunk_rows = [
            Chunk(media_id=row.id, seq=seq, storage_key=info.key, size=info.size, sha256="", created_at="")
            for seq, info in item.chunks
        ]
        finalizer = self.services.finalizer
        try:
            return await finalizer.assemble_media(row, chunk_rows), None
        except AssemblyError as exc:
            error = f"the {item.media_type} chunks cannot be assembled as {item.fmt} ({exc});"
            error += " the file is their bytes joined in order"
            return await finalizer.assemble_media(row, chunk_rows, joined=True), error
