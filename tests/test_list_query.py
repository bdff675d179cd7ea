"""Listing through ListQuery: every combination of filters against a plain Python filter, both ways
of counting the total (the per-user count table, COUNT(*)), and the refusal of an unknown status."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from lite.catalog.index import Index, ListQuery
from lite.catalog.records import Recording

STATUSES = ("in_progress", "completed", "failed")


@pytest.fixture
def index(tmp_path: Path) -> Index:
    index = Index(tmp_path / "index.sqlite")
    for n in range(24):  # two users, so every query must also keep to its own user's rows
        index.insert_recording(
            Recording(
                id=n + 1,
                user_id=1 + n % 2,
                session_uid=f"s{n % 3}",
                meeting_id=None if n % 4 == 0 else f"m{n % 4}",
                source="upload",
                status=STATUSES[n % 3 if n < 20 else 1],
                created_at=f"2024-01-01T00:00:{n // 2:02d}Z",  # pairs share a time: id breaks the tie
                updated_at="2024-01-01T00:00:00Z",
            ),
            [],
        )
    return index


def expected(index: Index, user_id: int, query: ListQuery) -> tuple[list[int], int]:
    rows = index._all("SELECT * FROM recordings", ())
    matching = [
        row
        for row in rows
        if row["user_id"] == user_id
        and all(
            want is None or row[column] == want
            for column, want in (
                ("status", query.status),
                ("session_uid", query.session_uid),
                ("meeting_id", query.meeting_id),
            )
        )
    ]
    matching.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
    page = matching[query.offset : query.offset + query.limit]
    return [row["id"] for row in page], len(matching)


def ids(page: tuple[list[Recording], int]) -> tuple[list[int], int]:
    rows, total = page
    return [row.id for row in rows], total


@pytest.mark.parametrize(
    ("status", "session_uid", "meeting_id"),
    list(itertools.product([None, *STATUSES], [None, "s1", "nope"], [None, "m2"])),
)
# 12 rows per user: pages in the newer half, the older half (read from the oldest end), past the end
@pytest.mark.parametrize(("limit", "offset"), [(200, 0), (2, 1), (5, 5), (5, 7), (4, 8), (3, 11), (5, 50)])
def test_every_filter_combination_matches_a_plain_filter(
    index: Index,
    status: str | None,
    session_uid: str | None,
    meeting_id: str | None,
    limit: int,
    offset: int,
) -> None:
    query = ListQuery(
        limit=limit, offset=offset, status=status, session_uid=session_uid, meeting_id=meeting_id
    )
    for user_id in (1, 2):
        assert ids(index.recordings_page(user_id, query)) == expected(index, user_id, query)


@pytest.mark.parametrize("backend", ["local"])  # the check comes before any storage is touched
def test_an_unknown_status_is_refused_with_422(api: httpx.Client) -> None:
    answer = api.get("/recordings", params={"status": "deleted"})
    assert answer.status_code == 422
    assert "in_progress" in answer.json()["detail"]
    assert api.get("/recordings", params={"status": "completed"}).json()["total"] == 0
