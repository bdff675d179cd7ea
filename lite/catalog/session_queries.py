"""The index's queries about bot recording sessions: a session's recording, its chunks, the final
mark, idle sessions, finishing. A part of `Index` (lite.catalog.index), kept apart to stay small."""

from __future__ import annotations

from lite.catalog.records import Chunk, MediaFile, Recording
from lite.catalog.tables import Tables

FINISHED_COLUMNS = ("state", "file_size_bytes", "sha256", "duration_seconds", "extra", "updated_at")


class SessionQueries(Tables):
    def _put_new(self, recording: Recording | None, media: list[MediaFile]) -> None:
        raise NotImplementedError  # Index's

    def bot_recording(self, user_id: int, session_uid: str) -> Recording | None:
        return self._record(
            Recording,
            "SELECT * FROM recordings WHERE user_id = ? AND session_uid = ? AND source = 'bot' "
            "ORDER BY created_at DESC LIMIT 1",
            (user_id, session_uid),
        )

    def bot_session_owner(self, session_uid: str) -> int | None:
        row = self._one(
            "SELECT user_id FROM recordings WHERE session_uid = ? AND source = 'bot' "
            "ORDER BY created_at DESC LIMIT 1",
            (session_uid,),
        )
        return int(row["user_id"]) if row else None

    def media_of_type(self, recording_id: int, media_type: str) -> MediaFile | None:
        return self._record(
            MediaFile,
            "SELECT * FROM media_files WHERE recording_id = ? AND type = ?",
            (recording_id, media_type),
        )

    def record_chunk(
        self, recording: Recording | None, media: MediaFile | None, chunk: Chunk, updated_at: str
    ) -> None:
        """In one transaction: a new recording and media row if this chunk starts them, the chunk
        (a resend replaces it), the media's size as the sum of its chunks, and the final mark."""
        media_id = chunk.media_id
        with self.db.conn:
            self.db.execute("BEGIN")
            self._put_new(recording, [media] if media is not None else [])
            self.db["chunks"].upsert(chunk.columns(), pk=("media_id", "seq"))
            self.db.execute(
                "UPDATE media_files SET updated_at = ?, file_size_bytes = "
                "(SELECT COALESCE(SUM(size), 0) FROM chunks WHERE media_id = ?) WHERE id = ?",
                (updated_at, media_id, media_id),
            )
            if chunk.is_final:
                self.db.execute("UPDATE media_files SET final_seq = ? WHERE id = ?", (chunk.seq, media_id))
            self.db.execute(
                "UPDATE recordings SET updated_at = ? "
                "WHERE id = (SELECT recording_id FROM media_files WHERE id = ?)",
                (updated_at, media_id),
            )

    def mark_final(self, media_id: int, seq: int, updated_at: str) -> None:
        """The session's last chunk is `seq` (an empty final chunk ended it)."""
        with self.db.conn:
            self.db.execute("BEGIN")
            self.db.execute("UPDATE media_files SET final_seq = ?, updated_at = ? WHERE id = ?",
                            (seq, updated_at, media_id))  # fmt: skip
            self.db.execute(
                "UPDATE recordings SET updated_at = ? "
                "WHERE id = (SELECT recording_id FROM media_files WHERE id = ?)",
                (updated_at, media_id),
            )

    def chunks_of(self, media_id: int) -> list[Chunk]:
        return self._records(Chunk, "SELECT * FROM chunks WHERE media_id = ? ORDER BY seq", (media_id,))

    def delete_chunk(self, media_id: int, seq: int) -> None:
        self.db.execute("DELETE FROM chunks WHERE media_id = ? AND seq = ?", (media_id, seq))

    def idle_recordings(self, updated_before: str) -> list[Recording]:
        return self._records(
            Recording,
            "SELECT * FROM recordings WHERE status = 'in_progress' AND updated_at < ? ORDER BY updated_at",
            (updated_before,),
        )

    def due_recordings(self) -> list[Recording]:
        """Sessions in progress with a media file whose final chunk came (gaps are checked by the
        caller): what the finalize queue takes, at start and every round."""
        return self._records(
            Recording,
            "SELECT DISTINCT r.* FROM recordings r JOIN media_files m ON m.recording_id = r.id "
            "WHERE r.status = 'in_progress' AND m.state = 'receiving' AND m.final_seq IS NOT NULL "
            "ORDER BY r.updated_at",
            (),
        )

    def completed_media_with_chunks(self) -> list[MediaFile]:
        return self._records(
            MediaFile,
            "SELECT DISTINCT m.* FROM media_files m JOIN recordings r ON r.id = m.recording_id "
            "JOIN chunks c ON c.media_id = m.id WHERE r.status = 'completed'",  # failed ones keep theirs
            (),
        )

    def finish_media(self, media: MediaFile) -> None:
        """What assembling a media file changed (its master), or a finalize that found it done."""
        columns = media.columns()
        self.db["media_files"].update(media.id, {name: columns[name] for name in FINISHED_COLUMNS})

    def reopen_media(self, media_id: int) -> None:
        """A failed recording's media file takes its kept chunks again (finalize again)."""
        self.db.execute("UPDATE media_files SET state = 'receiving' WHERE id = ?", (media_id,))

    def set_status(self, recording_id: int, status: str, at: str, error: str | None = None) -> None:
        completed = at if status == "completed" else None
        self.db.execute(
            "UPDATE recordings SET status = ?, completed_at = ?, updated_at = ?, error_message = ? "
            "WHERE id = ?",
            (status, completed, at, error, recording_id),
        )
