"""What every part of the index (lite.catalog.index and its query mixins) reads rows with: the
database, and helpers that turn SQL answers into typed records (lite.catalog.records) or, for the
few rows that are no catalog record (the webhook outbox), into dictionaries."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import msgspec
import sqlite_utils

from lite.catalog.records import R, Record

Row = dict[str, Any]
S = TypeVar("S", bound=Record)
T = TypeVar("T")
SPLIT = "|"  # the column between two tables' columns in one row (Tables._pair)
HOT_READS = 4096  # answers kept by Tables._hot; past this many, new ones are not kept


class Tables:
    db: sqlite_utils.Database
    _hot_version = -1  # the connection's change count the kept answers were read at
    _hot_answers: dict[Hashable, Any] = {}  # (never filled: the first _hot replaces it)

    def _hot(self, key: Hashable, read: Callable[[], T]) -> T:
        """`read()`'s answer, kept until any row of the index changes (/raw asks the same two
        questions on every Range a player sends: whose key, which media file).

        Exact, not a time-limited cache: the server changes its index through this one connection,
        whose count of changed rows (`total_changes`, triggers' included) moves on every write.
        Other processes only add to it (`create-user` and `issue-key` may run beside a server;
        what rewrites the index holds the data directory's lock, lite.ops.datadir_lock), so an
        answer that found nothing is not kept. Answers are records, which nobody edits in place
        (lite.catalog.records). Nothing read inside a write transaction is kept, as a rollback
        would not move the count back."""
        conn = self.db.conn
        if conn.total_changes != self._hot_version:
            self._hot_answers, self._hot_version = {}, conn.total_changes
        answers = self._hot_answers  # another thread may replace it meanwhile: then this is dropped
        if key in answers:
            return answers[key]  # type: ignore[no-any-return]
        answer = read()
        if answer is not None and len(answers) < HOT_READS and not conn.in_transaction:
            answers[key] = answer
        return answer

    # Reads go to sqlite3 itself: sqlite-utils' execute adds a tracer check and the rollback of a
    # failed write, which a SELECT never needs, and /raw reads on every Range.

    def _row(self, sql: str, params: tuple[Any, ...]) -> tuple[list[str], tuple[Any, ...]] | None:
        """The first row's column names and values."""
        cursor = self.db.conn.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else ([c[0] for c in cursor.description], row)

    def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        found = self._row(sql, params)
        return None if found is None else dict(zip(*found, strict=True))

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        cursor = self.db.conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _record(self, kind: type[R], sql: str, params: tuple[Any, ...]) -> R | None:
        row = self._one(sql, params)
        return None if row is None else msgspec.convert(row, kind)

    def _records(self, kind: type[R], sql: str, params: tuple[Any, ...]) -> list[R]:
        return [msgspec.convert(row, kind) for row in self._all(sql, params)]

    def _pair(self, first: type[R], second: type[S], sql: str, params: tuple[Any, ...]) -> tuple[R, S] | None:
        """Two records from one row of a join: the first's columns, a column named SPLIT, the
        second's (both tables have an `id`, so a row's names alone cannot say whose it is)."""
        found = self._row(sql, params)
        if found is None:
            return None
        names, row = found
        cut = names.index(SPLIT)
        one = dict(zip(names[:cut], row[:cut], strict=True))
        two = dict(zip(names[cut + 1 :], row[cut + 1 :], strict=True))
        return msgspec.convert(one, first), msgspec.convert(two, second)
