"""Hostile request bodies: oversized, truncated, mistyped and non-UTF-8 bodies get a clear 4xx.

A body over the limit is refused whether declared or streamed, and leaves nothing stored; a wrong
content type or a malformed body is a 4xx with a reason; the server stays healthy (checked after
every test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests import rawhttp
from tests.conftest import ADMIN_TOKEN
from tests.faultkit import TEMP_MARK, random_wav
from tests.hostilekit import (
    CHUNK_LIMIT,
    FORM,
    UPLOAD_LIMIT,
    Target,
    assert_clear,
    chunk,
    fixture_stays_contained_and_healthy,  # noqa: F401 - a fixture, autouse
    fixture_target,  # noqa: F401 - a fixture
    form,
    upload,
)
from tests.test_bot_upload import UPLOAD


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/recordings", "multipart/form-data; boundary=b"),
        (UPLOAD, "multipart/form-data; boundary=b"),
        ("/admin/users", "application/json"),
    ],
)
def test_a_declared_body_over_the_limit_is_refused_unread(
    target: Target, path: str, content_type: str
) -> None:
    key = target.users[next(iter(target.users))]
    status, _, payload = rawhttp.send(
        target.server.url,
        f"POST {path} HTTP/1.1\nHost: x\nX-API-Key: {key}\nX-Admin-API-Key: {ADMIN_TOKEN}\n"
        f"Connection: close\nContent-Type: {content_type}\nContent-Length: {2**40}",
        b"--b\r\n",
    )
    assert status == 413, payload
    assert rawhttp.detail(payload)


def test_a_streamed_chunk_over_the_limit_is_refused_and_leaves_nothing(target: Target) -> None:
    before = target.a.get("/recordings").json()["total"]
    meta = {"session_uid": "too-big", "format": "wav", "chunk_seq": 0}
    body = form({"metadata": json.dumps(meta)}, random_wav(CHUNK_LIMIT + 100_000))

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    answer = target.a.post(UPLOAD, content=chunked(), headers=FORM)
    assert_clear(answer, {413})
    assert target.a.get("/recordings").json()["total"] == before


def test_a_streamed_upload_over_the_limit_is_refused_and_leaves_nothing(target: Target) -> None:
    before = target.a.get("/recordings").json()["total"]
    body = form({"session_uid": "too-big"}, random_wav(UPLOAD_LIMIT + 100_000))
    answer = target.a.post("/recordings", content=iter([body]), headers=FORM)
    assert_clear(answer, {413})
    assert target.a.get("/recordings").json()["total"] == before
    assert not [p for p in target.storage.rglob("*") if "too-big" in p.name or TEMP_MARK in p.name]


def test_a_truncated_bot_multipart_body_is_refused(target: Target) -> None:
    meta = json.dumps({"session_uid": "truncated", "format": "wav", "chunk_seq": 0})
    body = form({"metadata": meta}, random_wav(20_000))
    assert_clear(target.a.post(UPLOAD, content=body[: len(body) - 3000], headers=FORM), {422})
    assert target.a.get("/recordings", params={"session_uid": "truncated"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/recordings", "application/json", b'{"file": "x"}'),
        ("/recordings", "application/x-www-form-urlencoded", b"file=abc"),
        ("/recordings", "multipart/form-data", b"--x\r\n"),  # no boundary
        ("/recordings", "text/plain", b"hello"),
        (UPLOAD, "application/json", b'{"metadata": {}}'),
        (UPLOAD, "multipart/mixed; boundary=hb", b"--hb--\r\n"),
        ("/admin/users", "text/plain", b"email=x@example.com"),
        ("/admin/users", "multipart/form-data; boundary=hb", b"--hb--\r\n"),
        ("/admin/users", "application/json", b'{"email": '),
        ("/admin/users", "application/json", b"[1, 2, 3]"),
    ],
)
def test_a_wrong_content_type_or_body_gets_a_clear_4xx(
    target: Target, path: str, content_type: str, body: bytes
) -> None:
    answer = target.a.post(
        path, content=body, headers={"Content-Type": content_type, "X-Admin-API-Key": ADMIN_TOKEN}
    )
    assert_clear(answer, set(range(400, 500)))


def test_non_utf8_form_values_and_metadata_are_refused(target: Target) -> None:
    assert_clear(upload(target.a, {"session_uid": b"\xff\xfe-bad"}), {422})
    assert_clear(upload(target.a, {"meeting_id": b"\xc3\x28"}), {422})
    assert_clear(chunk(target.a, {}, {"metadata": b'{"session_uid": "\xff"}'}), {422})
    assert_clear(upload(target.a, {}, filename=b"\xff\xfe.wav"), {201, 415, 422})
