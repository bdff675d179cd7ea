"""Bad input gets a clear JSON detail and the right status, and leaves nothing behind."""

from __future__ import annotations

import httpx
import pytest

from tests import rawhttp
from tests.conftest import LiveServer
from tests.mediakit import wav_bytes
from tests.test_api_recordings import upload

WAV = wav_bytes(0.5)


def assert_nothing_stored(api: httpx.Client, server: LiveServer) -> None:
    assert api.get("/recordings").json()["total"] == 0
    if server.settings.storage_backend == "local":
        leftovers = [p for p in (server.settings.local_storage_dir / "recordings").rglob("*") if p.is_file()]
        assert leftovers == []


@pytest.mark.parametrize(
    ("data", "name", "fields", "status", "words"),
    [
        (WAV, "a.wav", {"format": "flac"}, 422, "unknown format"),
        (WAV, "a.wav", {"format": "webm"}, 415, "content is WAV"),
        (b"hello world, not audio", "a.wav", {}, 415, "not a recognised"),
        (b"", "a.wav", {}, 422, "empty"),
        (WAV, "a.wav", {"session_uid": "../../etc"}, 422, "session_uid"),
        (WAV, "a.wav", {"media_type": "text"}, 422, "media_type"),
        (WAV, "a.wav", {"meeting_id": "x" * 200}, 422, "meeting_id"),
        (WAV, "noext", {}, 201, ""),
    ],
    ids=[
        "unknown-format",
        "content-does-not-match-format",
        "not-media",
        "empty-file",
        "traversal-in-session-uid",
        "unknown-media-type",
        "meeting-id-too-long",
        "control-no-extension-sniffed",
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_detail(
    api: httpx.Client,
    server: LiveServer,
    data: bytes,
    name: str,
    fields: dict[str, str],
    status: int,
    words: str,
) -> None:
    answer = upload(api, data, name, **fields)
    assert answer.status_code == status, answer.text
    if status == 201:
        return
    assert words in answer.json()["detail"]
    assert_nothing_stored(api, server)


def test_an_upload_over_the_size_limit_is_refused_and_leaves_nothing(
    api: httpx.Client, server: LiveServer
) -> None:
    limit = server.settings.max_upload_bytes
    object.__setattr__(server.settings, "max_upload_bytes", 1000)
    try:
        answer = upload(api, wav_bytes(1.0))
    finally:
        object.__setattr__(server.settings, "max_upload_bytes", limit)
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"]
    assert_nothing_stored(api, server)


def test_a_declared_body_over_the_limit_is_refused_before_reading(
    api: httpx.Client, server: LiveServer
) -> None:
    key = api.headers["X-API-Key"]
    status, _, payload = rawhttp.send(
        server.url,
        f"POST /recordings HTTP/1.1\nHost: x\nX-API-Key: {key}\nConnection: close\n"
        f"Content-Type: multipart/form-data; boundary=b\nContent-Length: {2**40}",
        b"--b\r\n",
        half_close=False,
    )
    assert status == 413
    assert "limited" in rawhttp.detail(payload)


def test_a_form_without_a_file_is_refused(api: httpx.Client) -> None:
    answer = api.post("/recordings", data={"session_uid": "x"}, files={"other": ("a", b"b")})
    assert answer.status_code == 422
    assert "field `file`" in answer.json()["detail"]


def test_a_body_that_is_not_multipart_is_refused(api: httpx.Client) -> None:
    answer = api.post("/recordings", content=WAV, headers={"content-type": "audio/wav"})
    assert answer.status_code == 415
    assert "multipart/form-data" in answer.json()["detail"]


def test_a_truncated_multipart_body_is_refused_and_leaves_nothing(
    api: httpx.Client, server: LiveServer
) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n' + WAV[:2000]
    answer = api.post(
        "/recordings", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"]
    assert_nothing_stored(api, server)


def test_a_key_field_after_the_file_that_contradicts_it_is_refused(
    api: httpx.Client, server: LiveServer
) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        + WAV
        + b'\r\n--b\r\nContent-Disposition: form-data; name="session_uid"\r\n\r\nlate\r\n--b--\r\n'
    )
    answer = api.post(
        "/recordings", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code == 422
    assert "before the file" in answer.json()["detail"]
    assert_nothing_stored(api, server)


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}])
def test_requests_without_a_valid_key_get_401(server: LiveServer, headers: dict[str, str]) -> None:
    answer = httpx.get(f"{server.url}/recordings", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_a_bearer_token_is_accepted_as_an_api_key(api: httpx.Client, server: LiveServer) -> None:
    key = api.headers["X-API-Key"]
    answer = httpx.get(f"{server.url}/recordings", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200


def test_another_users_recording_looks_like_a_missing_one(api: httpx.Client, other_api: httpx.Client) -> None:
    recording = upload(api).json()
    media = recording["media_files"][0]
    for path in (
        f"/recordings/{recording['id']}",
        f"/recordings/{recording['id']}/media/{media['id']}/raw",
        f"/recordings/{recording['id']}/media/{media['id']}/download",
    ):
        theirs, missing = other_api.get(path), other_api.get(path.replace(str(recording["id"]), "1"))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
    assert other_api.delete(f"/recordings/{recording['id']}").status_code == 404
    assert api.get(f"/recordings/{recording['id']}").status_code == 200


def test_unknown_paths_answer_json_404(api: httpx.Client) -> None:
    answer = api.get("/nope")
    assert answer.status_code == 404
    assert answer.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [{"limit": "9" * 20_000}, {"offset": "x" * 20_000}],
    ids=["huge-number", "huge-garbage"],
)
def test_an_error_answer_stays_small_whatever_the_input_was(api: httpx.Client, query: dict[str, str]) -> None:
    answer = api.get("/recordings", params=query)
    assert 400 <= answer.status_code < 500
    assert "detail" in answer.json()
    assert len(answer.content) < 4096
