"""4xx answers say what to do, in one shape ({"detail": ..., "code": ...}): the supported formats,
the right multipart field, how to send the key, the range of a parameter; `code` is stable for
programs, `detail` is the sentence for people."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.mediakit import wav_bytes
from tests.test_api_recordings import upload

WAV = wav_bytes(0.2)
FORMATS = "wav, webm, ogg, opus, mp3, m4a, mp4"


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"just some text\n", "notes.txt"), (b"just some text\n", "notes"), (b"\0" * 64, "x.flac")],
)
def test_an_unsupported_upload_lists_the_supported_formats(api: httpx.Client, data: bytes, name: str) -> None:
    answer = upload(api, data, name)
    assert answer.status_code == 415
    assert answer.json()["code"] == "unsupported_media"
    assert FORMATS in answer.json()["detail"]


@pytest.mark.parametrize("size", [1000, 200_000], ids=["small", "over-the-field-limit"])
def test_a_file_in_another_field_is_told_to_use_the_field_file(api: httpx.Client, size: int) -> None:
    answer = api.post("/recordings", files={"audio": ("x.wav", wav_bytes(size / 32000))})
    assert answer.status_code == 422
    assert "put the file in the field `file`" in answer.json()["detail"]
    assert api.get("/recordings").json()["total"] == 0


def test_a_text_file_in_another_field_is_told_where_the_file_goes(api: httpx.Client) -> None:
    answer = api.post("/recordings", files={"upload": ("a.txt", b"hello")})
    assert answer.status_code == 422
    assert "field `file`" in answer.json()["detail"] and "'upload'" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["/recordings", "/user", "/recordings/1/media/1/raw"])
def test_a_key_without_bearer_is_told_how_to_send_it(server: LiveServer, path: str) -> None:
    answer = httpx.get(server.url + path, headers={"Authorization": "lite_abcdef"})
    assert answer.status_code == 401
    assert answer.json() == {
        "detail": "the Authorization header has no Bearer key: send `Authorization: Bearer <key>` "
        "or `X-API-Key: <key>`",
        "code": "unauthorized",
    }


def test_a_bearer_key_still_works(server: LiveServer, api: httpx.Client) -> None:
    key = api.headers["X-API-Key"]
    assert (
        httpx.get(f"{server.url}/recordings", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": "1000"}, "limit must be between 1 and 200 (got 1000)"),
        ({"limit": "0"}, "limit must be between 1 and 200 (got 0)"),
        ({"offset": "-1"}, "offset must be between 0 and 4611686018427387904 (got -1)"),
    ],
)
def test_a_list_parameter_out_of_range_names_itself_and_its_range(
    api: httpx.Client, params: dict[str, str], detail: str
) -> None:
    answer = api.get("/recordings", params=params)
    assert answer.status_code == 422
    assert answer.json() == {"detail": detail, "code": "invalid_input"}


def test_user_shows_whose_key_it_is(server: LiveServer, admin: httpx.Client) -> None:
    user = admin.post("/admin/users", json={"email": "me@example.com", "name": "Me"}).json()
    key = admin.post(f"/admin/users/{user['id']}/tokens").json()["token"]
    answer = httpx.get(f"{server.url}/user", headers={"X-API-Key": key})
    assert answer.status_code == 200
    assert answer.json() == {"id": user["id"], "email": "me@example.com", "name": "Me"}


def test_user_needs_a_key_that_may_read(server: LiveServer, admin: httpx.Client) -> None:
    user = admin.post("/admin/users", json={"email": "bot@example.com"}).json()
    bot_key = admin.post(f"/admin/users/{user['id']}/tokens", params={"scopes": "bot"}).json()["token"]
    assert httpx.get(f"{server.url}/user", headers={"X-API-Key": bot_key}).status_code == 403
    assert httpx.get(f"{server.url}/user").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/recordings/1", {}, 404, "not_found"),
        ("GET", "/recordings/1/media/1/raw", {}, 404, "not_found"),  # the fast path's answer
        ("GET", "/recordings", {"params": {"limit": "x"}}, 400, "invalid_input"),
        ("GET", "/recordings", {"params": {"q": "x" * 201}}, 422, "invalid_input"),
        ("DELETE", "/user", {}, 405, "method_not_allowed"),
        ("GET", "/no/such/route", {}, 404, "not_found"),
    ],
)
def test_every_error_carries_a_machine_readable_code(
    api: httpx.Client, method: str, path: str, kwargs: dict, status: int, code: str
) -> None:
    answer = api.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert answer.json()["detail"]


def test_a_range_outside_the_file_says_so_in_code_too(api: httpx.Client) -> None:
    recording = upload(api, WAV, "a.wav").json()
    media = recording["media_files"][0]
    answer = api.get(
        f"/recordings/{recording['id']}/media/{media['id']}/raw", headers={"Range": "bytes=999999-"}
    )
    assert answer.status_code == 416
    assert answer.json()["code"] == "range_not_satisfiable"
