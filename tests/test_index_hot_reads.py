"""The two reads /raw makes on every Range (whose key, which media file) are answered from memory
while the index is unchanged, and from SQLite again after any write: never a stale answer.

Whether SQLite was asked is counted with a trace callback (the statements the connection runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lite.catalog import tables
from lite.catalog.index import Index
from lite.catalog.records import ApiKey, MediaFile, Recording, User

NOW = "2026-12-04T10:00:00+00:00"
USER = 7
KEY = ApiKey(id=70, user_id=USER, key_hash="h" * 64, created_at=NOW)
RECORDING = Recording(
    id=700, user_id=USER, session_uid="s-700", source="upload", status="completed", created_at=NOW,
    updated_at=NOW, title="Standup",
)  # fmt: skip
MEDIA = MediaFile(
    id=7000, recording_id=700, type="audio", format="wav", content_type="audio/wav",
    storage_backend="local", storage_key="recordings/7/700/s-700.wav", file_size_bytes=44, created_at=NOW,
    updated_at=NOW,
)  # fmt: skip


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    index = Index(tmp_path / "index.sqlite")
    index.insert_user(User(id=USER, email="a@example.com", created_at=NOW))
    index.insert_api_key(KEY)
    index.insert_recording(RECORDING, [MEDIA])
    yield index
    index.close()


@pytest.fixture
def selects(index: Index) -> list[str]:
    """The SELECT statements SQLite runs from here on."""
    ran: list[str] = []
    index.db.conn.set_trace_callback(
        lambda sql: ran.append(sql) if sql.lstrip().startswith("SELECT") else None
    )
    return ran


def test_a_key_read_twice_is_read_from_sqlite_once(index: Index, selects: list[str]) -> None:
    assert index.api_key_by_hash(KEY.key_hash) == KEY
    assert index.api_key_by_hash(KEY.key_hash) == KEY
    assert len(selects) == 1


def test_a_key_a_playback_token_names_is_read_from_sqlite_once(index: Index, selects: list[str]) -> None:
    assert index.get_api_key(KEY.id) == KEY
    assert index.get_api_key(KEY.id) == KEY
    assert len(selects) == 1


def test_a_media_file_and_its_recording_come_from_one_query_then_from_memory(
    index: Index, selects: list[str]
) -> None:
    assert index.media_with_recording(USER, RECORDING.id, MEDIA.id) == (RECORDING, MEDIA)
    assert index.media_with_recording(USER, RECORDING.id, MEDIA.id) == (RECORDING, MEDIA)
    assert len(selects) == 1


def test_a_revoked_key_is_gone_at_the_next_read(index: Index) -> None:
    assert index.api_key_by_hash(KEY.key_hash) is not None
    assert index.get_api_key(KEY.id) is not None
    index.delete_api_key(KEY.id)
    assert index.api_key_by_hash(KEY.key_hash) is None
    assert index.get_api_key(KEY.id) is None


def test_a_key_added_after_a_miss_is_found(index: Index) -> None:
    other = ApiKey(id=71, user_id=USER, key_hash="k" * 64, created_at=NOW)
    assert index.api_key_by_hash(other.key_hash) is None
    index.insert_api_key(other)
    assert index.api_key_by_hash(other.key_hash) == other


def test_a_key_another_process_adds_after_a_miss_is_found(index: Index, tmp_path: Path) -> None:
    """`python -m lite issue-key` may run beside the server: its write moves no count here."""
    other = ApiKey(id=73, user_id=USER, key_hash="p" * 64, created_at=NOW)
    assert index.api_key_by_hash(other.key_hash) is None
    beside = Index(tmp_path / "index.sqlite")
    beside.insert_api_key(other)
    beside.close()
    assert index.api_key_by_hash(other.key_hash) == other


def test_a_renamed_recording_reads_with_its_new_title(index: Index) -> None:
    index.media_with_recording(USER, RECORDING.id, MEDIA.id)
    index.set_title(RECORDING.id, "Retro")
    found = index.media_with_recording(USER, RECORDING.id, MEDIA.id)
    assert found is not None and found[0].title == "Retro"


def test_a_deleted_recording_is_not_found(index: Index) -> None:
    index.media_with_recording(USER, RECORDING.id, MEDIA.id)
    index.delete_recording(RECORDING.id)
    assert index.media_with_recording(USER, RECORDING.id, MEDIA.id) is None


def test_another_users_media_file_is_not_found(index: Index) -> None:
    assert index.media_with_recording(USER + 1, RECORDING.id, MEDIA.id) is None


def test_what_a_rolled_back_write_showed_is_not_kept(index: Index) -> None:
    other = ApiKey(id=72, user_id=USER, key_hash="r" * 64, created_at=NOW)
    index.db.conn.execute("BEGIN")
    index.insert_api_key(other)
    assert index.api_key_by_hash(other.key_hash) == other  # the writer's own connection sees it
    index.db.conn.execute("ROLLBACK")
    assert index.api_key_by_hash(other.key_hash) is None


def test_answers_kept_are_bounded(index: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "HOT_READS", 3)
    for n in range(10):
        index.api_key_by_hash(f"{n:064d}")  # misses: never kept
    assert index._hot_answers == {}
    for key_id in range(100, 110):
        index.insert_api_key(ApiKey(id=key_id, user_id=USER, key_hash=f"{key_id:064d}", created_at=NOW))
    for key_id in range(100, 110):
        index.api_key_by_hash(f"{key_id:064d}")
    assert len(index._hot_answers) == 3
    assert index.api_key_by_hash(KEY.key_hash) == KEY  # past the bound: answered, not kept
