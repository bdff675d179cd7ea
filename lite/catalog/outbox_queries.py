"""The index's queries about the webhook outbox: events waiting for delivery, one row per (event,
subscriber URL). A part of `Index` (lite.catalog.index), kept apart to stay small; the delivery
itself is lite.sessions.webhook_delivery.

Rows live in SQLite, so pending events survive restarts and crashes; a row is deleted once its
receiver has answered (or it was given up), and rescheduled (`attempts`, `next_at`) otherwise.
"""

from __future__ import annotations

from lite.catalog.records import OutboxEntry
from lite.catalog.tables import Tables


class OutboxQueries(Tables):
    def outbox_add(self, rows: list[OutboxEntry], limit: int) -> int:
        """Queue rows (event_id, url, secret, body, created_at, next_at); a row whose key is queued
        already is left as it is (one event is never queued twice for one URL). Refused whole when
        the outbox would hold more than `limit` rows. Returns how many rows were added, -1 if refused."""
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            queued = int(self.db.execute("SELECT COUNT(*) FROM webhook_outbox").fetchone()[0])
            if queued + len(rows) > limit:
                return -1
            added = 0
            for row in rows:
                added += self.db.execute(
                    "INSERT OR IGNORE INTO webhook_outbox (event_id, url, secret, body, created_at, "
                    "attempts, next_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                    (row.event_id, row.url, row.secret, row.body, row.created_at, row.next_at),
                ).rowcount
            return added

    def outbox_due(self, now: float, limit: int, busy: tuple[str, ...] = ()) -> list[OutboxEntry]:
        """The rows whose next attempt is due, soonest first, but those `busy` (being sent)."""
        skip = f"AND event_id NOT IN ({','.join('?' * len(busy))})" if busy else ""
        return self._records(
            OutboxEntry,
            f"SELECT * FROM webhook_outbox WHERE next_at <= ? {skip} ORDER BY next_at LIMIT ?",
            (now, *busy, limit),
        )

    def outbox_next_at(self, busy: tuple[str, ...] = ()) -> float | None:
        """When the soonest pending row not `busy` is due (None: there is none)."""
        skip = f"WHERE event_id NOT IN ({','.join('?' * len(busy))})" if busy else ""
        value = self.db.execute(f"SELECT MIN(next_at) FROM webhook_outbox {skip}", busy).fetchone()[0]
        return None if value is None else float(value)

    def outbox_retry_later(self, event_id: str, attempts: int, next_at: float) -> None:
        self.db.execute(
            "UPDATE webhook_outbox SET attempts = ?, next_at = ? WHERE event_id = ?",
            (attempts, next_at, event_id),
        )

    def outbox_done(self, event_id: str) -> None:
        self.db.execute("DELETE FROM webhook_outbox WHERE event_id = ?", (event_id,))

    def outbox_size(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM webhook_outbox").fetchone()[0])
