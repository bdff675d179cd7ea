"""How big and how long each measurement is: the full run's settings and --quick's, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loads import MiB


@dataclass(frozen=True)
class Plan:
    """Sizes and durations; --quick shrinks them all."""

    file_bytes: int
    rss_file_bytes: int
    minio_file_bytes: int
    downloads: int
    minio_downloads: int
    range_rounds: int
    range_seconds: float
    warmup_seconds: float
    ttfb_count: int
    list_rows: int
    list_seconds: float
    bot_levels: tuple[int, ...]
    bot_rounds: int
    bot_bisect: bool
    bot_budget_seconds: float
    minio_range_seconds: float

    @classmethod
    def choose(cls, quick: bool) -> Plan:
        # One line per setting, (full, quick), so the two runs read side by side.
        settings: dict[str, tuple[Any, Any]] = {
            "file_bytes": (1024 * MiB, 256 * MiB),
            "rss_file_bytes": (2048 * MiB, 512 * MiB),
            "minio_file_bytes": (256 * MiB, 64 * MiB),
            "downloads": (5, 2),
            # A 256 MiB download from moto takes ~0.3 s, half of it moto's own first-byte delay, and
            # moto's speed varies from round to round: more rounds for a steadier median.
            "minio_downloads": (9, 2),
            "range_rounds": (2, 1),
            "range_seconds": (10, 3),
            "warmup_seconds": (2, 1),
            "ttfb_count": (50, 15),
            "list_rows": (1_000_000, 100_000),
            "list_seconds": (5, 2),
            "bot_levels": ((250, 500, 1000, 2000, 4000), (100, 400)),
            "bot_rounds": (2, 1),
            "bot_bisect": (True, False),
            "bot_budget_seconds": (240, 40),
            "minio_range_seconds": (5, 2),
        }
        return cls(**{name: quick_value if quick else full for name, (full, quick_value) in settings.items()})
