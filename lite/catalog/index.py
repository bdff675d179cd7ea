"""The SQLite index (sqlite-utils): users, hashed API keys, recordings and their media files.

Listing stays fast with a million recordings: pages come from a covering index in newest-first
order, and totals come from a per-user count table kept exact by triggers, not from COUNT(*).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import sqlite_utils

from lite.catalog.account_queries import AccountQueries
from lite.catalog.meeting_queries import MeetingQueries
from lite.catalog.outbox_queries import OutboxQueries
from lite.catalog.records import Chunk, MediaFile, Recording
from lite.catalog.schema import ADDED_COLUMNS, LATER_INDEXES, SCHEMA
from lite.catalog.session_queries import SessionQueries
from lite.catalog.tables import SPLIT


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    """One page of a user's recordings, newest first: built once by the route from the query string
    and handed through the service to the index, so the filters are spelled out in one place."""

    limit: int
    offset: int = 0
    status: str | None = None
    session_uid: str | None = None
    meeting_id: str | None = None
    q: str | None = None  # words to search in title, meeting id and session uid (prefixes)


def search_terms(q: str) -> str | None:
    """The user's words as an FTS5 query that cannot be a syntax error: each word a quoted string
    (quotes doubled) with `*` for a prefix match, all required. Words without a letter or digit
    match nothing the tokenizer keeps, so they are left out; None when no word is left. Control
    characters separate words: a NUL would end the query string inside SQLite (a syntax error)."""
    printable = "".join(c if c.isprintable() else " " for c in q)
    words = [w for w in printable.split() if any(c.isalnum() for c in w)][:MAX_SEARCH_WORDS]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words) or None


MAX_SEARCH_WORDS = 8
FEW_MATCHES = 5000  # bench/search_index.py: where reading the matches stops paying


class Index(SessionQueries, MeetingQueries, OutboxQueries, AccountQueries):
    def __init__(self, path: Path | str) -> None:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        # WAL lets readers run during writes; NORMAL is safe against process crashes, and the index
        # can be rebuilt from storage after a power loss.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.conn.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})").fetchall()}
            for name, kind in columns:
                if name not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        self.db.conn.executescript(LATER_INDEXES)

    def close(self) -> None:
        self.db.conn.close()

    def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    # recordings and media

    def insert_recording(self, recording: Recording, media: list[MediaFile]) -> None:
        with self.db.conn:
            self.db.execute("BEGIN")
            self._put_new(recording, media)

    def _put_new(self, recording: Recording | None, media: list[MediaFile]) -> None:
        """Insert rows just made. With shared storage their manifest, written just before, may have
        been indexed already by a replica sync of another request: then these rows replace those.
        Deleted explicitly (not INSERT OR REPLACE) so that the count triggers see the delete."""
        if recording is not None:
            self.db.execute("DELETE FROM recordings WHERE id = ?", (recording.id,))
            self.db["recordings"].insert(recording.columns())
        for item in media:
            self.db.execute("DELETE FROM media_files WHERE id = ?", (item.id,))
            self.db["media_files"].insert(item.columns())

    def get_recording(self, user_id: int, recording_id: int) -> Recording | None:
        sql = "SELECT * FROM recordings WHERE id = ? AND user_id = ?"
        return self._record(Recording, sql, (recording_id, user_id))

    def media_for(self, recording_ids: list[int]) -> list[MediaFile]:
        if not recording_ids:
            return []
        marks = ",".join("?" * len(recording_ids))
        return self._records(
            MediaFile,
            f"SELECT * FROM media_files WHERE recording_id IN ({marks}) ORDER BY recording_id, type",
            tuple(recording_ids),
        )

    def media_by_recording(self, recording_ids: list[int]) -> dict[int, list[MediaFile]]:
        """Each recording's media files (an empty list for one without), in the order given."""
        found: dict[int, list[MediaFile]] = {recording_id: [] for recording_id in recording_ids}
        for media in self.media_for(recording_ids):
            found[media.recording_id].append(media)
        return found

    def media_with_recording(
        self, user_id: int, recording_id: int, media_id: int
    ) -> tuple[Recording, MediaFile] | None:
        """The user's media file and its recording in one query (/raw reads both on every Range)."""
        sql = (
            f"SELECT r.*, NULL AS [{SPLIT}], m.* FROM media_files m JOIN recordings r ON r.id = "
            "m.recording_id WHERE m.id = ? AND m.recording_id = ? AND r.user_id = ?"
        )
        params = (media_id, recording_id, user_id)
        return self._hot(("media", *params), lambda: self._pair(Recording, MediaFile, sql, params))

    def recordings_page(self, user_id: int, query: ListQuery) -> tuple[list[Recording], int]:
        """The page's rows and how many recordings match in all."""
        terms = search_terms(query.q) if query.q is not None else None
        if query.q is not None and terms is None:  # only punctuation: nothing can match
            return [], 0
        filtered = query.status is not None or query.session_uid is not None or query.meeting_id is not None
        match = f"{{title meeting_id session_uid}} : ({terms})"
        # A search that matches few recordings (of anyone) is read through its matches: `+` keeps
        # SQLite off the user's index, which would walk all of the user's recordings to find them.
        # One that matches many is read from the user's newest-first index, where the page's rows
        # come soon, and counted inside the search index (bench/search_index.py has the figures).
        few = terms is not None and self._search_count(match, FEW_MATCHES) <= FEW_MATCHES
        mark = "+" if few else ""
        where, params = [f"{mark}user_id = ?"], [user_id]
        filters = (
            ("status", query.status),
            ("session_uid", query.session_uid),
            ("meeting_id", query.meeting_id),
        )
        for column, value in filters:
            if value is not None:
                where.append(f"{mark}{column} = ?")
                params.append(value)
        if terms is not None:
            where.append("id IN (SELECT rowid FROM recordings_fts WHERE recordings_fts MATCH ?)")
            params.append(match)
        clause = " AND ".join(where)
        if terms is None and query.session_uid is None and query.meeting_id is None:
            total = self._count(user_id, query.status)
        elif terms is not None and not few and not filtered:
            total = self._search_count(f'user_id : "{int(user_id)}" AND {match}', None)
        else:  # these filters select rows through their own index (with a search: its matches)
            counted = clause if terms is None else "+" + clause.lstrip("+")
            total = int(
                self.db.execute(f"SELECT COUNT(*) FROM recordings WHERE {counted}", params).fetchone()[0]
            )
        order, offset, limit = "DESC", query.offset, query.limit
        if total // 2 < offset < total:
            # OFFSET walks every row it skips: a page in the older half is found from the oldest end.
            order, offset, limit = "ASC", max(0, total - offset - limit), min(limit, total - offset)
        rows = self._records(
            Recording,
            f"SELECT * FROM recordings WHERE {clause} "
            f"ORDER BY created_at {order}, id {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return (rows if order == "DESC" else rows[::-1]), total

    def _search_count(self, match: str, most: int | None) -> int:
        """How many recordings the search matches (the index alone); past `most`, `most + 1`."""
        params: tuple[object, ...] = (match,)
        sql = "SELECT COUNT(*) FROM recordings_fts WHERE recordings_fts MATCH ?"
        if most is not None:
            sql = (
                "SELECT COUNT(*) FROM (SELECT rowid FROM recordings_fts WHERE recordings_fts MATCH ? LIMIT ?)"
            )
            params = (match, most + 1)
        return int(self.db.execute(sql, params).fetchone()[0])

    def set_title(self, recording_id: int, title: str | None) -> None:
        self.db.execute("UPDATE recordings SET title = ? WHERE id = ?", (title, recording_id))

    def _count(self, user_id: int, status: str | None) -> int:
        if status is None:
            row = self.db.execute(
                "SELECT SUM(n) FROM recording_counts WHERE user_id = ?", (user_id,)
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT n FROM recording_counts WHERE user_id = ? AND status = ?", (user_id, status)
            ).fetchone()
        return int(row[0] or 0) if row else 0

    def forget_recording(self, recording_id: int, keys: list[str], at: str) -> None:
        """The recording leaves the index, and its objects are listed for deletion, in one step."""
        with self.db.conn:
            self.db.execute("BEGIN")
            sql = "INSERT OR IGNORE INTO pending_deletes (storage_key, since) VALUES (?, ?)"
            self.db.conn.executemany(sql, [(key, at) for key in keys])
            self.db.execute("DELETE FROM media_files WHERE recording_id = ?", (recording_id,))
            self.db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))

    def pending_deletes(self, limit: int) -> list[str]:
        rows = self.db.execute("SELECT storage_key FROM pending_deletes LIMIT ?", (limit,)).fetchall()
        return [str(row[0]) for row in rows]

    def deleted(self, key: str) -> None:
        self.db.execute("DELETE FROM pending_deletes WHERE storage_key = ?", (key,))

    def delete_recording(self, recording_id: int) -> None:
        with self.db.conn:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM media_files WHERE recording_id = ?", (recording_id,))
            self.db.execute("DELETE FROM recordings WHERE id = ?", (recording_id,))

    def id_taken(self, table: str, row_id: int) -> bool:
        assert table in ("users", "api_keys", "recordings", "media_files")
        return self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,)).fetchone() is not None

    def get_recording_by_id(self, recording_id: int) -> Recording | None:
        return self._record(Recording, "SELECT * FROM recordings WHERE id = ?", (recording_id,))

    # the catalog: refilling the index from storage

    def is_empty(self) -> bool:
        return all(
            self.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None
            for table in ("users", "api_keys", "recordings")
        )

    def recording_states(self, user_id: int) -> dict[int, str]:
        rows = self.db.execute("SELECT id, status FROM recordings WHERE user_id = ?", (user_id,)).fetchall()
        return {int(row[0]): str(row[1]) for row in rows}

    def replace_recording(self, recording: Recording, media: list[MediaFile], chunks: list[Chunk]) -> None:
        with self.db.conn:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM media_files WHERE recording_id = ?", (recording.id,))
            self.db.execute("DELETE FROM recordings WHERE id = ?", (recording.id,))
            self.db["recordings"].insert(recording.columns())
            if media:
                self.db["media_files"].insert_all(m.columns() for m in media)
            if chunks:
                self.db["chunks"].upsert_all((c.columns() for c in chunks), pk=("media_id", "seq"))
            self._size_receiving_media()

    def bulk_insert_recordings(self, batch: list[tuple[Recording, list[MediaFile]]]) -> None:
        if not batch:
            return
        with self.db.conn:
            self.db.execute("BEGIN")
            self.db["recordings"].insert_all((r.columns() for r, _ in batch), replace=True, batch_size=500)
            media = [m.columns() for _, items in batch for m in items]
            if media:
                self.db["media_files"].insert_all(media, replace=True, batch_size=500)

    def receiving_media(self) -> list[MediaFile]:
        return self._records(MediaFile, "SELECT * FROM media_files WHERE state = 'receiving'", ())

    # maintenance (verify, migrate)

    def recordings_in_key_order(self, batch: int = 500) -> Iterator[list[Recording]]:
        """Every recording, in batches, ordered as storage lists their prefixes (text order of
        `recordings/<user_id>/<id>/`), so verify can merge both streams without holding either."""
        cursor = self.db.execute(
            "SELECT * FROM recordings ORDER BY 'recordings/' || user_id || '/' || id || '/'"
        )
        names = [c[0] for c in cursor.description]
        while rows := cursor.fetchmany(batch):
            yield [msgspec.convert(dict(zip(names, row, strict=True)), Recording) for row in rows]

    def set_media_backend(self, recording_ids: list[int], backend: str) -> None:
        marks = ",".join("?" * len(recording_ids))
        self.db.execute(
            f"UPDATE media_files SET storage_backend = ? WHERE recording_id IN ({marks})",
            (backend, *recording_ids),
        )

    def bulk_insert_chunks(self, rows: list[Chunk]) -> None:
        with self.db.conn:
            self.db.execute("BEGIN")
            if rows:
                self.db["chunks"].upsert_all((c.columns() for c in rows), pk=("media_id", "seq"))
            self._size_receiving_media()

    def _size_receiving_media(self) -> None:
        # A manifest does not track chunks; a media file in progress is as large as its chunks.
        self.db.execute(
            "UPDATE media_files SET file_size_bytes = "
            "(SELECT COALESCE(SUM(size), 0) FROM chunks WHERE media_id = media_files.id) "
            "WHERE state = 'receiving'"
        )
