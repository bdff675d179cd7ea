"""The look-ups a request makes cost the same whatever number of recordings their user already has.

A bot's every chunk looks up its session, and a filtered list page looks up a session or a meeting;
an index that serves the filter but not the sort order makes SQLite read the user's recordings one
by one instead. The cost is counted in SQLite's own virtual-machine steps (a progress handler), not
in seconds, so the comparison holds on any machine: with 20,000 recordings a look-up may take a few
steps more than with 20, never a number that grows with them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lite.catalog.index import Index, ListQuery

FEW, MANY = 20, 20_000
USER = 1


def _index_with(tmp_path: Path, count: int) -> Index:
    index = Index(tmp_path / f"index-{count}.sqlite")
    rows = [
        (n, USER, f"session-{n}", f"meeting-{n}", "bot", "in_progress", f"2026-12-01T00:00:{n:09d}Z", "x")
        for n in range(1, count + 1)
    ]
    with index.db.conn:
        index.db.conn.executemany(
            "INSERT INTO recordings (id, user_id, session_uid, meeting_id, source, status, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return index


def _steps(index: Index, lookup: Callable[[Index], Any]) -> int:
    """SQLite virtual-machine instructions that `lookup` executes (counted in blocks of 10)."""
    counted = [0]

    def tick() -> int:
        counted[0] += 10
        return 0  # 0: go on

    index.db.conn.set_progress_handler(tick, 10)
    try:
        lookup(index)
    finally:
        index.db.conn.set_progress_handler(None, 0)
    return counted[0]


LOOKUPS: dict[str, Callable[[Index], Any]] = {
    "a bot's new session": lambda ix: ix.bot_recording(USER, "a-session-nobody-started"),
    "a bot's existing session": lambda ix: ix.bot_recording(USER, "session-7"),
    "a list page filtered by an unknown session": lambda ix: ix.recordings_page(
        USER, ListQuery(limit=50, session_uid="nobody")
    ),
    "a list page filtered by a meeting": lambda ix: ix.recordings_page(
        USER, ListQuery(limit=50, meeting_id="meeting-7")
    ),
}


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Index]:
    folder = tmp_path_factory.mktemp("indexes")
    return {count: _index_with(folder, count) for count in (FEW, MANY)}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_a_lookup_costs_the_same_with_many_recordings_as_with_few(
    indexes: dict[int, Index], lookup: Callable[[Index], Any]
) -> None:
    few, many = _steps(indexes[FEW], lookup), _steps(indexes[MANY], lookup)
    assert many <= few + 100, f"{many} steps with {MANY} recordings against {few} with {FEW}"


def test_an_index_made_by_an_earlier_version_gets_the_new_lookups(tmp_path: Path) -> None:
    """Lite before 12-01 had (user_id, session_uid) and (user_id, meeting_id) without the order."""
    index = _index_with(tmp_path, MANY)
    index.db.conn.executescript(
        "DROP INDEX recordings_by_session_time; DROP INDEX recordings_by_meeting_time;"
        "CREATE INDEX recordings_by_session ON recordings (user_id, session_uid);"
        "CREATE INDEX recordings_by_meeting ON recordings (user_id, meeting_id);"
    )
    index.close()
    reopened = Index(tmp_path / f"index-{MANY}.sqlite")
    assert _steps(reopened, LOOKUPS["a bot's new session"]) <= 100


def test_the_lookups_find_what_they_look_for(tmp_path: Path) -> None:
    """The cases above measure real look-ups: they find the rows they name."""
    index = _index_with(tmp_path, FEW)
    recording = index.bot_recording(USER, "session-7")
    assert recording is not None and recording.id == 7
    rows, total = index.recordings_page(USER, ListQuery(limit=50, meeting_id="meeting-7"))
    assert [row.id for row in rows] == [7] and total == 1
