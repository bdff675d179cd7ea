"""What every part of the index (lite.catalog.index and its query mixins) reads rows with: the
database, and helpers that turn SQL answers into typed records (lite.catalog.records) or, for the
few rows that are no catalog record (the webhook outbox), into dictionaries."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlite_utils

from lite.catalog.records import R

Row = dict[str, Any]


class Tables:
    db: sqlite_utils.Database

    def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        cursor = self.db.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        cursor = self.db.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _record(self, kind: type[R], sql: str, params: tuple[Any, ...]) -> R | None:
        row = self._one(sql, params)
        return None if row is None else msgspec.convert(row, kind)

    def _records(self, kind: type[R], sql: str, params: tuple[Any, ...]) -> list[R]:
        return [msgspec.convert(row, kind) for row in self._all(sql, params)]
