"""Search at scale: fill a fresh index with COUNT recordings (default 1,000,000, titled, for USERS
users; the FTS5 table is kept by the schema's triggers as in production) and time
`Index.recordings_page(user, ListQuery(q=...))`, the call behind `GET /recordings?q=`, for queries
from very selective to very broad. Not part of run.py or the tests; a few minutes:

    .venv/bin/python bench/search_index.py [--count 1000000] [--users 1] [--repeat 50]

Titles are three words from a 2,000-word vocabulary plus a number, one title in ten has "meeting",
one in 1,000 "offsite", exactly one "zeppelin"; meeting ids are 5,000 numbers, session uids
`gen-<8 digits>`. With one user (the default) every recording is that user's: the worst case.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lite.catalog.index import Index, ListQuery

QUERIES = {
    "one match (rare word)": "zeppelin",
    "0.1% (word)": "offsite",
    "~0.15% (vocabulary word)": "w0042",
    "10% (common word)": "meeting",
    "prefix of 10%": "meet",
    "session uid prefix (11 rows)": "gen-0012345",
    "meeting id (~200 rows)": "4242",
    "two words": "meeting w0042",
    "no match": "nothing",
}


def rows(count: int, users: int, seed: int = 11) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    vocabulary = [f"w{i:04d}" for i in range(2000)]
    for i in range(count):
        words = rng.sample(vocabulary, 3)
        if i % 10 == 0:
            words[0] = "meeting"
        if i % 1000 == 1:
            words[1] = "offsite"
        if i == count // 2:
            words[2] = "zeppelin"
        created = f"2024-01-01T00:00:00.{i:06d}+00:00" if i < 10**6 else f"2025-{i:012d}"
        yield (i + 1, 1 + i % users, f"gen-{i:08d}", str(i % 5000), "upload", "completed", created,
               created, created, " ".join(words) + f" {i % 97}")  # fmt: skip


def fill(index: Index, count: int, users: int) -> float:
    started = time.perf_counter()
    conn = index.db.conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO recordings (id, user_id, session_uid, meeting_id, source, status, created_at, "
        "completed_at, updated_at, title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(count, users),
    )
    conn.execute("COMMIT")
    return time.perf_counter() - started


def timed(index: Index, q: str, repeat: int) -> tuple[float, float, int]:
    """(p50 ms, max ms, total) of the first page of 50 for user 1."""
    times, total = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        _, total = index.recordings_page(1, ListQuery(limit=50, q=q))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "lite.db")
        seconds = fill(index, args.count, args.users)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
        print(f"{args.count:,} recordings, {args.users} user(s): filled in {seconds:.0f} s, {size:.0f} MiB")
        print(f"{'query':32} {'q':16} {'p50 ms':>8} {'max ms':>8} {'total':>8}")
        for name, q in QUERIES.items():
            p50, worst, total = timed(index, q, args.repeat)
            print(f"{name:32} {q:16} {p50:8.2f} {worst:8.2f} {total:8,}")
        index.close()


if __name__ == "__main__":
    main()
