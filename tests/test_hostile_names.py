"""Hostile names: traversal and injection strings wherever a name enters reach nothing they name.

Upload fields, the file name in the multipart headers, the bot's metadata JSON and flat fields, ids
in paths, literal dot segments, query parameters: each is refused with a clear 4xx or kept inside
the user's own prefix, nothing is stored outside the storage root (checked after every test), and
`Content-Disposition` cannot be broken.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests import rawhttp
from tests.hostilekit import (
    Target,
    assert_clear,
    chunk,
    fixture_stays_contained_and_healthy,  # noqa: F401 - a fixture, autouse
    fixture_target,  # noqa: F401 - a fixture
    upload,
)

CORPUS = [
    "../../../../outside/evil",
    "..",
    "../",
    "./.",
    "/etc/passwd",
    "/tmp/lite-hostile-evil",
    "..\\..\\windows\\win.ini",
    "a/../../b",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%2F..%2Fetc",
    "....//....//etc",
    "recordings/1/2/x",
    "x\x00y",
    "x\r\nX-Injected: 1",
    'x";filename="evil.html',
    "x'; DROP TABLE recordings; --",
    "' OR '1'='1",
    "$(touch /tmp/lite-hostile-pwned)",
    "`touch /tmp/lite-hostile-pwned`",
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "\u202egnp.exe",
    "\u00e4" * 10,
    "A" * 300,
    " ",
    "-rf",
    ".hidden",
    "~root",
    "wav/../../x",
    "audio\x00video",
]


# One quoted ASCII name (no quote, backslash, slash or control character can end or bend it), and for
# a non-ASCII title its RFC 6266 `filename*` form, percent-encoded.
SAFE_DISPOSITION = re.compile(
    r'inline; filename="[^"\\/\x00-\x1f\x7f-\uffff]+"'
    r"(; filename\*=UTF-8''[A-Za-z0-9%._~!$&'()*+,;=:@-]+)?"
)


@pytest.mark.parametrize("field", ["session_uid", "format", "media_type", "meeting_id"])
def test_hostile_upload_fields_are_refused_or_kept_inside_the_users_prefix(
    target: Target, field: str
) -> None:
    for value in CORPUS:
        assert_clear(upload(target.a, {field: value}), {201, 415, 422})


def test_hostile_file_names_in_the_multipart_header_never_name_a_stored_file(target: Target) -> None:
    for value in CORPUS:
        for filename in (value, value + ".wav", f"{value}/x.wav"):
            assert_clear(upload(target.a, {}, filename=filename.replace('"', "%22")), {201, 415, 422})
    stored = [p.name for p in target.storage.rglob("*")]
    assert not any(word in name for name in stored for word in ("evil", "passwd", "win.ini", "script"))


@pytest.mark.parametrize("field", ["session_uid", "format", "media_type", "meeting_id"])
def test_hostile_bot_metadata_is_refused_or_kept_inside_the_users_prefix(target: Target, field: str) -> None:
    base: dict[str, object] = {
        "session_uid": "bot-hostile",
        "format": "wav",
        "media_type": "audio",
        "chunk_seq": 0,
    }
    for value in CORPUS:
        assert_clear(chunk(target.a, base | {field: value}), {201, 409, 415, 422})
        flat = {k: str(v) for k, v in (base | {field: value}).items()}
        assert_clear(chunk(target.a, {}, flat), {201, 409, 415, 422})


def test_hostile_ids_in_paths_answer_a_json_4xx(target: Target) -> None:
    paths = ["/recordings/{}", "/recordings/1/media/{}/raw", "/recordings/{}/media/1/download"]
    for template in paths:
        for value in [*CORPUS, "-1", "0", "1e3", "9" * 40, "0x10", "1.5"]:
            path = template.format(quote(value, safe="").replace(".", "%2E"))  # no client-side ".."
            for method in ("GET", "DELETE"):
                answer = target.a.request(method, path)
                assert 400 <= answer.status_code < 500, (method, path, answer.status_code)
                assert answer.json()["detail"], (method, path)


def test_literal_dot_segments_in_the_request_line_reach_nothing(target: Target) -> None:
    key = target.users[next(iter(target.users))]
    for path in (
        "/recordings/1/media/1/raw/../../../../etc/passwd",
        "/../../etc/passwd",
        "/static/../lite.db",
    ):
        status, _, payload = rawhttp.send(
            target.server.url, f"GET {path} HTTP/1.1\nHost: x\nX-API-Key: {key}\nConnection: close"
        )
        assert 400 <= status < 500, (path, status)
        assert b"root:" not in payload and b"SQLite" not in payload


def test_hostile_query_parameters_match_nothing_and_inject_nothing(target: Target) -> None:
    for name in ("session_uid", "meeting_id", "status"):
        for value in CORPUS:
            answer = target.a.get("/recordings", params={name: value, "limit": 200})
            assert_clear(answer, {200, 422})
            if answer.status_code == 200:  # only exact matches (earlier tests stored some values)
                assert all(str(r[name]) == value for r in answer.json()["recordings"]), (name, value)
    for value in ("1; DROP TABLE recordings", "-1", "abc", "9" * 40):
        assert_clear(target.a.get("/recordings", params={"limit": value}), {400, 422})
        assert_clear(target.a.get("/recordings", params={"offset": value}), {200, 400, 422})
    assert target.a.get("/recordings").json()["total"] >= 1  # the table is still there


def test_the_content_disposition_filename_cannot_break_the_header(target: Target) -> None:
    for filename in ('a"; filename=evil.html; x=".wav', 'x\\"\r\nX-Injected: 1\r\n.wav', "\u202egnp.wav"):
        upload(target.a, {"session_uid": "cd-" + str(len(filename))}, filename=filename.replace("\r\n", " "))
    for recording in target.a.get("/recordings", params={"limit": 200}).json()["recordings"]:
        for media in recording["media_files"]:
            raw = target.a.head(f"/recordings/{recording['id']}/media/{media['id']}/raw")
            assert SAFE_DISPOSITION.fullmatch(raw.headers["content-disposition"]), raw.headers
            assert "x-injected" not in raw.headers
            link = target.a.get(f"/recordings/{recording['id']}/media/{media['id']}/download").json()
            assert re.fullmatch(r'[^"\\/\x00-\x1f\x7f]+', link["filename"]), link
