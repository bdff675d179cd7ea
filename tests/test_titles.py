"""Recordings have a title: the uploaded file's name, a form field, a bot's metadata, or a rename
(PATCH); it names downloads and survives a rebuild of the index and other replicas."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from lite.config import load_settings
from tests.conftest import LiveServer, new_user_key, start_server
from tests.mediakit import wav_bytes
from tests.test_api_recordings import upload
from tests.test_bot_upload import send_chunk
from tests.test_stateless import forget_everything_but_storage

WAV = wav_bytes(0.3)


def rename(api: httpx.Client, recording_id: int, body: object) -> httpx.Response:
    return api.patch(f"/recordings/{recording_id}", json=body)


def download_name(api: httpx.Client, recording: dict) -> str:
    media = recording["media_files"][0]
    return str(api.get(f"/recordings/{recording['id']}/media/{media['id']}/download").json()["filename"])


def disposition(api: httpx.Client, recording: dict) -> str:
    media = recording["media_files"][0]
    return api.get(f"/recordings/{recording['id']}/media/{media['id']}/raw").headers["content-disposition"]


def test_an_upload_is_titled_after_its_file_name_without_the_extension(api: httpx.Client) -> None:
    recording = upload(api, WAV, "Team sync 2024.04.12.wav").json()
    assert recording["title"] == "Team sync 2024.04.12"


def test_a_title_field_wins_over_the_file_name(api: httpx.Client) -> None:
    recording = upload(api, WAV, "rec-001.wav", title="  Board   meeting ").json()
    assert recording["title"] == "Board meeting"


def test_a_file_name_title_loses_control_characters_and_is_bounded(api: httpx.Client) -> None:
    recording = upload(api, WAV, "a\u202eb\u200b" + "x" * 400 + ".wav").json()
    assert recording["title"] == "a b " + "x" * 196


def test_an_upload_without_a_file_name_has_no_title(api: httpx.Client) -> None:
    answer = api.post("/recordings", files={"file": ("", WAV, "audio/wav")}, data={"format": "wav"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["title"] is None


def test_a_rename_shows_in_get_and_list(api: httpx.Client) -> None:
    recording = upload(api, WAV, "old.wav").json()
    answer = rename(api, recording["id"], {"title": "  Quarterly review  "})
    assert answer.status_code == 200, answer.text
    assert answer.json()["title"] == "Quarterly review"
    assert api.get(f"/recordings/{recording['id']}").json()["title"] == "Quarterly review"
    assert [r["title"] for r in api.get("/recordings").json()["recordings"]] == ["Quarterly review"]


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": 5}, {"name": "x"}, ["x"], "x"],
    ids=["empty", "blank", "too-long", "not-text", "no-title", "a-list", "a-string"],
)
def test_a_rename_outside_1_to_200_characters_is_refused(api: httpx.Client, body: object) -> None:
    recording = upload(api, WAV, "kept.wav").json()
    answer = rename(api, recording["id"], body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_input" and "title" in answer.json()["detail"]
    assert api.get(f"/recordings/{recording['id']}").json()["title"] == "kept"


def test_another_users_recording_cannot_be_renamed(api: httpx.Client, other_api: httpx.Client) -> None:
    recording = upload(api, WAV, "mine.wav").json()
    assert rename(other_api, recording["id"], {"title": "theirs"}).status_code == 404
    assert api.get(f"/recordings/{recording['id']}").json()["title"] == "mine"


def test_a_bot_scoped_key_cannot_rename(api: httpx.Client, admin: httpx.Client, server: LiveServer) -> None:
    recording = upload(api, WAV, "mine.wav").json()
    user = api.get("/user").json()
    bot_key = admin.post(f"/admin/users/{user['id']}/tokens", params={"scopes": "bot"}).json()["token"]
    answer = httpx.patch(
        f"{server.url}/recordings/{recording['id']}", json={"title": "x"}, headers={"X-API-Key": bot_key}
    )
    assert answer.status_code == 403


def test_downloads_are_named_after_the_title(api: httpx.Client) -> None:
    recording = upload(api, WAV, "Weekly sync.wav").json()
    assert download_name(api, recording) == "Weekly sync.wav"
    assert disposition(api, recording) == 'inline; filename="Weekly sync.wav"'


def test_a_non_ascii_title_gets_an_rfc_6266_filename_star(api: httpx.Client) -> None:
    recording = upload(api, WAV, "x.wav", title="Réunion 会议").json()
    assert download_name(api, recording) == "Réunion 会议.wav"
    assert disposition(api, recording) == (
        f"inline; filename=\"Reunion __.wav\"; filename*=UTF-8''{quote('Réunion 会议.wav', safe='')}"
    )


def test_quotes_and_slashes_never_reach_the_download_name(api: httpx.Client) -> None:
    recording = upload(api, WAV, "x.wav", title='a "b" / c\\d').json()
    assert download_name(api, recording) == "a b c d.wav"
    assert disposition(api, recording) == 'inline; filename="a b c d.wav"'


def test_a_bot_session_takes_the_title_of_its_first_chunk(api: httpx.Client) -> None:
    assert send_chunk(api, WAV, 0, session="titled", title="Daily standup").status_code == 201
    assert send_chunk(api, WAV, 1, session="titled", title="Something else", final=True).status_code == 201
    [recording] = api.get("/recordings", params={"session_uid": "titled"}).json()["recordings"]
    assert recording["title"] == "Daily standup"


def test_a_bot_session_without_a_title_has_none(api: httpx.Client) -> None:
    assert send_chunk(api, WAV, 0, session="untitled", final=True).status_code == 201
    [recording] = api.get("/recordings", params={"session_uid": "untitled"}).json()["recordings"]
    assert recording["title"] is None


def test_a_rename_survives_a_rebuild_of_the_index_from_storage(
    server: LiveServer, admin: httpx.Client, env: dict[str, str]
) -> None:
    _, key = new_user_key(admin)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as api:
        recording = upload(api, WAV, "before.wav").json()
        assert rename(api, recording["id"], {"title": "after"}).status_code == 200
    server.stop()
    forget_everything_but_storage(env)
    fresh = start_server(load_settings(env))
    try:
        with httpx.Client(base_url=fresh.url, headers={"X-API-Key": key}, timeout=60) as api:
            assert api.get(f"/recordings/{recording['id']}").json()["title"] == "after"
            assert api.get("/recordings", params={"q": "after"}).json()["total"] == 1
    finally:
        fresh.stop()


def test_a_rename_on_one_replica_shows_on_another(
    api: httpx.Client, env: dict[str, str], backend: str, tmp_path: Path
) -> None:
    if backend == "local":
        pytest.skip("replicas share object storage")
    recording = upload(api, WAV, "before.wav").json()
    other = start_server(load_settings(env | {"DATA_DIR": os.fspath(tmp_path / "replica-2")}))
    try:
        with httpx.Client(base_url=other.url, headers=dict(api.headers), timeout=60) as replica:
            assert replica.get(f"/recordings/{recording['id']}").json()["title"] == "before"
            assert rename(api, recording["id"], {"title": "after"}).status_code == 200
            assert replica.get(f"/recordings/{recording['id']}").json()["title"] == "after"
    finally:
        other.stop()
