"""The recordings service: what the API does, callable without HTTP.

Order of writes: storage first, then the index, so the index never points at bytes that were not
written. On delete: a bot session's claim (shared bucket), the manifest (nothing brings the recording
back), then the index row, which lists the recording's objects for deletion in the same step, then
the objects; what storage fails to delete is tried again in the background until it is clean.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread

from lite.catalog.catalog_service import CatalogService
from lite.catalog.index import ListQuery
from lite.catalog.keys import media_key
from lite.catalog.manifest_writes import RecordingGone
from lite.catalog.manifests import Catalog
from lite.catalog.records import MediaFile, Recording, changed
from lite.clock import now_iso
from lite.config import Settings
from lite.errors import BadInput, LiteError, NotFound, TooLarge
from lite.http.multipart import FilePart, missing_file_hint
from lite.http.playback import MediaSource
from lite.ids import new_id
from lite.media import formats
from lite.recordings.shapes import download_out, is_master, master_out, meeting_of, recording_out
from lite.recordings.sources import chunks_source, master_source, origin_of, presigned
from lite.recordings.titles import check_title, download_name, title_from_filename
from lite.recordings.upload_form import UploadPlan, duration_field, peek
from lite.recordings.uploaded import final_kind, probe_stored, upload_rows
from lite.sessions.locks import SessionLocks
from lite.storage import Stored

log = logging.getLogger("lite.recordings")
STATUSES = ("in_progress", "completed", "failed")
# Multipart framing around the file is small; a declared body beyond this slack is refused unread.
FORM_OVERHEAD = 1024 * 1024


class Recordings(CatalogService):
    def __init__(self, settings: Settings, catalog: Catalog, locks: SessionLocks) -> None:
        super().__init__(settings, catalog)
        self.locks = locks

    def check_declared_size(self, content_length: str | None) -> None:
        limit = self.settings.max_upload_bytes
        if content_length and content_length.isdigit() and int(content_length) > limit + FORM_OVERHEAD:
            raise TooLarge(f"uploads are limited to {limit} bytes")

    async def upload(self, user_id: int, form: AsyncIterator[tuple[str, str | FilePart]]) -> dict[str, Any]:
        fields: dict[str, str] = {}
        plan: UploadPlan | None = None
        stored: Stored | None = None
        recording_id = new_id()
        key, filename = "", None
        try:
            async for name, value in form:
                if isinstance(value, FilePart):
                    if plan is not None:
                        raise BadInput("send exactly one 'file' part")
                    head, chunks = await peek(value.chunks, formats.SNIFF_BYTES)
                    if not head:
                        raise BadInput("the file is empty")
                    filename = value.filename
                    plan = UploadPlan.from_fields(fields, filename, head)
                    formats.check_content(plan.format, head)
                    # Named after the client's media_type (default audio) and kept under that name
                    # even when the streams say otherwise: the name only keeps a recording's audio
                    # and video apart, and an upload has one media file (the row records the key).
                    key = media_key(user_id, recording_id, plan.session_uid, plan.media_type, plan.format)
                    stored = await self.storage.put_stream(key, chunks, limit=self.settings.max_upload_bytes)
                elif plan is not None and plan.conflicts_with(name, value):
                    raise BadInput(f"send '{name}' before the file part: the file was already stored by it")
                else:
                    fields[name] = value
            if plan is None or stored is None:
                raise BadInput(missing_file_hint(fields))
            title = check_title(fields["title"]) if fields.get("title", "").strip() else None
            more = {**meeting_of(fields), "title": title or title_from_filename(filename)}
            probed = await to_thread.run_sync(probe_stored, self.storage, key)
            duration = duration_field(fields)
            facts = (probed.duration if duration is None else duration, probed.sample_rate,
                     *final_kind(plan, probed.media_type))  # fmt: skip
            ids = (user_id, recording_id)
            recording, media_file = upload_rows(self.storage, ids, key, plan, more, stored, facts)
            await self.catalog.save_manifest(recording, [media_file])
            self.index.insert_recording(recording, [media_file])
            return recording_out(recording, [media_file])
        except BaseException:
            if stored is not None:
                await self.catalog.delete_manifest(user_id, recording_id)
                await self.storage.delete(key)
            raise

    async def list(self, user_id: int, query: ListQuery) -> dict[str, Any]:
        if query.status is not None and query.status not in STATUSES:
            raise BadInput(f"status must be one of {', '.join(STATUSES)}")
        await self.catalog.sync_user(user_id)
        recordings, total = self.index.recordings_page(user_id, query)
        media = self.index.media_by_recording([r.id for r in recordings])
        return {
            "recordings": [recording_out(r, media[r.id]) for r in recordings],
            "total": total,
            "limit": query.limit,
            "offset": query.offset,
        }

    async def _recording(
        self, user_id: int, recording_id: int, confirm: bool = True, indexed: Recording | None = None
    ) -> Recording:
        """The user's recording: also one another replica wrote, and (when `confirm`) not one another
        replica deleted. `indexed`: its row, when the caller has read it already."""
        if indexed is None:
            indexed = self.index.get_recording(user_id, recording_id)
        recording = await self.replicas.recording_as_stored(user_id, recording_id, indexed, confirm)
        if recording is None:  # another user's recording looks exactly like a missing one
            raise NotFound("recording not found")
        return recording

    async def get(self, user_id: int, recording_id: int) -> dict[str, Any]:
        recording = await self._recording(user_id, recording_id)
        return recording_out(recording, self.index.media_for([recording_id]))

    async def delete(self, user_id: int, recording_id: int) -> dict[str, Any]:
        recording = await self._recording(user_id, recording_id)
        async with self.locks(user_id, recording.session_uid):  # waits for a finalize in progress
            await self._recording(user_id, recording_id)  # deleted while this one waited: 404
            return await self._delete(user_id, recording_id)

    async def _delete(self, user_id: int, recording_id: int) -> dict[str, Any]:
        recording = self.index.get_recording_by_id(recording_id)
        if recording is not None:  # a bot session's claim goes before its manifest
            await self.replicas.release_session(recording)  # (lite.catalog.session_claims says why)
        # The manifest goes first: from then on no rebuild or replica brings the recording back.
        await self.catalog.delete_manifest(user_id, recording_id)
        keys = []
        for item in self.index.media_for([recording_id]):
            keys += [chunk.storage_key for chunk in self.index.chunks_of(item.id)]
            keys.append(item.storage_key)
        # What other replicas stored that this index has not seen: listed after the manifest is gone.
        keys = list(dict.fromkeys(keys + await self.replicas.stored_elsewhere(user_id, recording_id)))
        # Gone from the index and listed for deletion at once: if storage fails half-way, the rest
        # is deleted in the background (finish_deletes), never left behind or brought back.
        self.index.forget_recording(recording_id, keys, now_iso())
        await self.finish_deletes(keys)
        return {"status": "deleted", "recording_id": recording_id}

    async def finish_deletes(self, keys: list[str] | None = None) -> int:
        """Delete objects of deleted recordings that are still listed; returns how many are left."""
        left = 0
        for key in keys if keys is not None else self.index.pending_deletes(1000):
            try:
                await self.storage.delete(key)
            except LiteError as exc:
                left += 1
                log.warning("deleting %s failed, to be tried again: %s", key, exc.detail)
                continue
            self.index.deleted(key)
        return left

    async def media(self, user_id: int, recording_id: int, media_id: int, confirm: bool = True) -> MediaFile:
        return (await self._named_media(user_id, recording_id, media_id, confirm))[0]

    async def _named_media(
        self, user_id: int, recording_id: int, media_id: int, confirm: bool = True
    ) -> tuple[MediaFile, str]:
        """The media row and its download name: `<title>.<ext>` for a titled recording, else the
        stored object's name (from the recording row just read: /raw asks on every Range)."""
        found = self.index.media_with_recording(user_id, recording_id, media_id)  # both rows, one query
        recording = await self._recording(user_id, recording_id, confirm, found[0] if found else None)
        if found is None or recording is not found[0]:  # (re)indexed from storage just now: its media too
            found = self.index.media_with_recording(user_id, recording_id, media_id)
        if found is None:
            raise NotFound("media file not found")
        media = found[1]
        session_uid = recording.session_uid or "recording"
        return media, download_name(recording.title, session_uid, media.type, media.format)

    async def rename(self, user_id: int, recording_id: int, title: object) -> dict[str, Any]:
        """A new title, kept in the manifest (so a rebuild and other replicas have it) and the index."""
        recording = await self._recording(user_id, recording_id)  # 404 first: another user's says nothing
        new_title = check_title(title)
        async with self.locks(user_id, recording.session_uid):  # a finalize writes the manifest too
            recording = await self._recording(user_id, recording_id)
            media = self.index.media_for([recording_id])

            def retitled(stored: Recording, media: list[MediaFile]) -> tuple[Recording, list[MediaFile]]:
                return changed(stored, title=new_title), media

            # Changed in place (If-Match), so another replica's write in between is kept, and a
            # delete in between is not undone (410); only damage removes one on a private volume.
            create = self.catalog.replicas.rewrite_missing(retitled, recording, media)
            try:
                await self.catalog.update_manifest(user_id, recording_id, retitled, create=create)
            except RecordingGone:
                await self.catalog.discard_deleted(user_id, recording_id, [])
                raise
            self.index.set_title(recording_id, new_title)
        return recording_out(changed(recording, title=new_title), media)

    async def media_source(
        self, user_id: int, recording_id: int, media_id: int, download: bool = False
    ) -> MediaSource:
        """Where /raw reads the bytes; `download`: named as an attachment, for a browser to save."""
        # No confirming round trip here: a deleted object answers 404 from storage by itself.
        media, filename = await self._named_media(user_id, recording_id, media_id, confirm=False)
        disposition = "attachment" if download else "inline"
        if media.state == "receiving":
            return chunks_source(self.storage, media, self.index.chunks_of(media_id), filename, disposition)
        redirect = self.settings.presign_seconds if self.settings.raw_redirect else 0
        return master_source(self.storage, media, filename, disposition, redirect)

    def redirect_origin(self) -> str | None:
        """The origin /raw redirects players to (RAW_REDIRECT_TO_STORE on a store that presigns),
        for the page's Content-Security-Policy; None where /raw sends the bytes itself."""
        if not self.settings.raw_redirect:
            return None
        url = self.storage.presign("recordings/probe", "inline", "application/octet-stream", 60)
        return origin_of(url) if url else None

    async def master(self, user_id: int, recording_id: int, media_type: str) -> dict[str, Any]:
        """Vexa's `/master?type=`: where to play the recording's whole file of that type. 404 while
        there is none (a bot still sending, a failed assembly, no such type): Vexa's dashboard then
        says "finalizing". `raw_url` is relative, for Vexa's dashboard proxy (it adds the key)."""
        await self._recording(user_id, recording_id)
        found = [m for m in self.index.media_for([recording_id]) if m.type == media_type and is_master(m)]
        if not found:
            raise NotFound(
                f"no master {media_type} file for recording {recording_id} "
                "(still recording or finalizing, or not produced)"
            )
        media = found[0]
        filename = f"{recording_id}_{media_type}.{media.format}"  # Vexa's name for it
        return master_out(media, filename, self._direct_url(media, filename), self.settings.presign_seconds)

    def _direct_url(self, media: MediaFile, filename: str) -> str | None:
        """A presigned download URL straight to the store (None on local)."""
        return presigned(self.storage, media, filename, "attachment", self.settings.presign_seconds)

    async def download(
        self, user_id: int, recording_id: int, media_id: int, raw_token: str | None = None
    ) -> dict[str, Any]:
        """Where to download the file; `raw_token`: a playback token for `raw_url` (shapes.download_out)."""
        media, filename = await self._named_media(user_id, recording_id, media_id)
        # While a bot still records, no master exists to presign: /raw serves what has arrived.
        url = None if media.state == "receiving" else self._direct_url(media, filename)
        token = (raw_token, self.settings.playback_token_seconds) if raw_token else None
        return download_out(media, filename, (url, self.settings.presign_seconds), token)
