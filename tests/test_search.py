"""`GET /recordings?q=`: words that title, meeting id or session uid start with, answered by the
index (SQLite FTS5), within the user's own recordings; no query can make it fail."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from lite.catalog.index import Index, ListQuery
from tests.mediakit import wav_bytes
from tests.test_api_recordings import upload

WAV = wav_bytes(0.2)


def found(api: httpx.Client, q: str, **params: str) -> list[str]:
    answer = api.get("/recordings", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["recordings"])
    return sorted(r["session_uid"] for r in page["recordings"])


@pytest.fixture
def three(api: httpx.Client) -> httpx.Client:
    upload(api, WAV, "Weekly planning.wav", session_uid="s-plan", meeting_id="abc-defg-hij")
    upload(api, WAV, "Café retro.wav", session_uid="s-retro", meeting_id="42")
    upload(api, WAV, "x.wav", session_uid="standup-0412", title="Daily")
    return api


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("weekly", ["s-plan"]),
        ("plan", ["s-plan"]),  # a prefix of a title word
        ("PLANNING weekly", ["s-plan"]),  # every word, in any order and case
        ("cafe", ["s-retro"]),  # accents do not matter
        ("abc-defg", ["s-plan"]),  # a meeting id
        ("42", ["s-retro"]),
        ("standup-04", ["standup-0412"]),  # a session uid
        ("daily", ["standup-0412"]),
        ("weekly daily", []),
        ("nothing", []),
    ],
)
def test_search_matches_title_meeting_id_and_session_uid(
    three: httpx.Client, q: str, expected: list[str]
) -> None:
    assert found(three, q) == expected


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "'",
        "*",
        "(",
        "AND",
        "OR NOT",
        "NEAR(a b)",
        "title:x",
        '"unclosed',
        "a*b^c",
        "-",
        "🙂",
        "\x00",
        "0\x00",
        "a\x00b",
        "x\x1fy",
    ],
)
def test_any_query_answers_200_and_punctuation_alone_finds_nothing(three: httpx.Client, q: str) -> None:
    answer = three.get("/recordings", params={"q": q})
    assert answer.status_code == 200, answer.text
    if not any(c.isalnum() for c in q):
        assert answer.json()["total"] == 0


def test_a_query_longer_than_200_characters_is_refused(api: httpx.Client) -> None:
    answer = api.get("/recordings", params={"q": "x" * 201})
    assert answer.status_code == 422
    assert answer.json() == {"detail": "q must be at most 200 characters (got 201)", "code": "invalid_input"}


def test_search_sees_only_the_users_own_recordings(three: httpx.Client, other_api: httpx.Client) -> None:
    upload(other_api, WAV, "Weekly other.wav", session_uid="s-theirs")
    assert found(three, "weekly") == ["s-plan"]
    assert found(other_api, "weekly") == ["s-theirs"]


def test_search_combines_with_the_other_filters(three: httpx.Client) -> None:
    assert found(three, "s", status="completed") == ["s-plan", "s-retro", "standup-0412"]
    assert found(three, "s", status="failed") == []
    assert found(three, "weekly", meeting_id="42") == []


def test_search_follows_renames_and_deletes(three: httpx.Client) -> None:
    [plan] = three.get("/recordings", params={"q": "weekly"}).json()["recordings"]
    three.patch(f"/recordings/{plan['id']}", json={"title": "Roadmap"})
    assert found(three, "weekly") == []
    assert found(three, "roadmap") == ["s-plan"]
    three.delete(f"/recordings/{plan['id']}")
    assert found(three, "roadmap") == []


def test_search_pages_newest_first(api: httpx.Client) -> None:
    ids = [upload(api, WAV, f"sprint {i}.wav").json()["id"] for i in range(5)]
    page = api.get("/recordings", params={"q": "sprint", "limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [r["id"] for r in page["recordings"]] == list(reversed(ids))[1:3]


def test_an_index_file_from_before_search_is_indexed_at_its_next_start(tmp_path: Path) -> None:
    path = tmp_path / "lite.db"
    Index(path).close()
    conn = sqlite3.connect(path)  # as an older version left it: no search table, recordings in it
    conn.executescript(
        "DROP TABLE recordings_fts; DROP TABLE search_built; DROP TRIGGER recordings_fts_insert;"
        "DROP TRIGGER recordings_fts_delete; DROP TRIGGER recordings_fts_update;"
        "INSERT INTO recordings (id, user_id, session_uid, source, status, created_at, updated_at, title)"
        " VALUES (7, 1, 'old-session', 'upload', 'completed', 't', 't', 'Legacy call');"
    )
    conn.close()
    index = Index(path)
    try:
        rows, total = index.recordings_page(1, ListQuery(limit=10, q="legacy"))
        assert (total, [r.id for r in rows]) == (1, [7])
    finally:
        index.close()
