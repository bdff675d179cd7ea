"""A finalize's change to its recording's manifest, applied to the manifest as stored when it is
written (lite.catalog.manifest_writes): on a conflict, to what another replica wrote meanwhile.

Two replicas may finalize one session at once (its final chunk reached both). Both store the same
master (the same chunks, assembled the same way, under the same key); the first manifest write
wins, and the second finds the media complete and changes nothing: one master, one status, one
webhook (`completes` says whether this finalize was the one that completed the recording).
"""

from __future__ import annotations

from lite.catalog.records import MediaFile, Recording, changed


class Finished:
    def __init__(self, assembled: dict[int, MediaFile], error: str | None, now: str) -> None:
        self.assembled = assembled  # media id -> the media file after its master was stored
        self.error = error
        self.now = now
        self.completes = False

    def __call__(self, recording: Recording, media: list[MediaFile]) -> tuple[Recording, list[MediaFile]]:
        # A media file still receiving takes this finalize's master; so does a failed recording's
        # (finalized again: lite.sessions.finalize.retry). A complete one stays as it is.
        takes = recording.status == "failed"
        merged = [
            self.assembled[m.id] if m.id in self.assembled and (takes or m.state == "receiving") else m
            for m in media
        ]
        applied = any(new is not old for new, old in zip(merged, media, strict=True))
        self.completes = False
        if not applied and self.assembled:  # another replica finalized it first: as it stored it
            return recording, media
        if self.error is not None:
            status = "failed"
        elif all(m.state == "complete" for m in merged):
            status = "completed"
        else:
            status = "in_progress"
        self.completes = status == "completed" and recording.status != "completed"
        updated = changed(
            recording,
            status=status,
            updated_at=self.now,
            error_message=self.error,
            completed_at=self.now if status == "completed" else None,
        )
        return updated, merged
