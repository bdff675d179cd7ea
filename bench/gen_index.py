"""Fill a Lite index with COUNT completed recordings (one audio file each) for one user, directly
through SQLite: the schema comes from lite.catalog.index.Index, the rows go in with executemany in one
transaction (the count triggers keep `total` exact). Run by run.py against a stopped server:
    python bench/gen_index.py --repo REPO --db DATA_DIR/lite.db --user-id ID --count 1000000
The recordings exist only in the index, not in storage: listing reads only the index on the local
backend, so that is all the list measurement needs.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path


def rows(user_id: int, count: int, seed: int = 7) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    rng = random.Random(seed)
    seen: set[int] = set()
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = 3 * 365 * 24 * 3600
    for i in range(count):
        while (rid := rng.getrandbits(52) + 1) in seen:
            pass
        seen.add(rid)
        mid = rng.getrandbits(52) + 1
        created = (start + timedelta(seconds=span * i / count + rng.random())).isoformat(
            timespec="microseconds"
        )
        session = f"gen-{i:08d}"
        status = "failed" if i % 97 == 0 else "completed"
        recording = (rid, user_id, session, str(i % 5000), "upload", status, created, created, created)
        media = (
            mid,
            rid,
            "audio",
            "webm",
            "audio/webm",
            "local",
            f"recordings/{user_id}/{rid}/{session}.webm",
            1_000_000 + i,
            600.0,
            None,
            created,
            created,
        )
        yield recording, media


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", required=True, type=Path)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--user-id", required=True, type=int)
    parser.add_argument("--count", required=True, type=int)
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo))
    from lite.catalog.index import Index  # the checkout under test, for its schema

    started = time.monotonic()
    Index(args.db).close()  # the schema, exactly as the server creates it
    conn = sqlite3.connect(str(args.db), isolation_level=None)
    # A bulk load: no journal, a big page cache, rows in primary-key order; then back to WAL.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
        conn.execute(f"PRAGMA {pragma}")
    generated = list(rows(args.user_id, args.count))
    recordings = sorted((r for r, _ in generated), key=lambda r: r[0])
    media = sorted((m for _, m in generated), key=lambda m: m[0])
    del generated
    # Secondary indexes and the count trigger go while loading; Index() below puts them back
    # from the server's own schema, and the counts are filled in one statement.
    dropped = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
    ).fetchall()
    for kind, name in dropped:
        conn.execute(f"DROP {kind.upper()} {name}")
    conn.execute("BEGIN")
    _insert(conn, recordings, media)
    conn.execute(
        "INSERT INTO recording_counts (user_id, status, n) SELECT user_id, status, COUNT(*) FROM recordings"
        " WHERE user_id = ? GROUP BY user_id, status"
        " ON CONFLICT (user_id, status) DO UPDATE SET n = excluded.n",
        (args.user_id,),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    Index(args.db).close()  # recreates the indexes and triggers
    print(f"{args.count} recordings in {time.monotonic() - started:.1f} s", flush=True)


def _insert(
    conn: sqlite3.Connection, recordings: list[tuple[object, ...]], media: list[tuple[object, ...]]
) -> None:
    conn.executemany(
        "INSERT INTO recordings (id, user_id, session_uid, meeting_id, source, status, created_at,"
        " completed_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        recordings,
    )
    conn.executemany(
        "INSERT INTO media_files (id, recording_id, type, format, content_type, storage_backend,"
        " storage_key, file_size_bytes, duration_seconds, sha256, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        media,
    )


if __name__ == "__main__":
    main()
