"""Timestamps: ISO 8601 in UTC with fixed width, so text order is time order in the index."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso).astimezone(UTC), usegmt=True)
