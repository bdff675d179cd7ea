"""Timestamps: ISO 8601 in UTC with fixed width, so text order is time order in the index."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@lru_cache(maxsize=4096)  # Last-Modified of the same few files, on every Range
def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso).astimezone(UTC), usegmt=True)
