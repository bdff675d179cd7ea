"""What every part of the index (lite.catalog.index and its query mixins) reads rows with: the
database and two helpers that turn SQL answers into dictionaries."""

from __future__ import annotations

from typing import Any

import sqlite_utils

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
