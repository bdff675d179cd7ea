"""Tenant isolation, as a matrix over the app's own route table (so a new endpoint cannot be missed):
user B, with B's valid API key, against user A's recordings, media files, user id, API key id and
playback token, on every route and method, on every backend. Always 404 (or 401/403), never A's
data; and nothing of A's changes. Revoked keys are refused everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import LiveServer
from tests.faultkit import random_wav
from tests.test_bot_upload import UPLOAD

# Path parameters that name something a user owns, and the ones that name public things.
OWNED = {"recording_id", "media_id", "user_id", "token_id"}
PUBLIC = {
    "file_path": "app.js",
    "path": "openapi.json",
    "email": "nobody@example.com",
    "meeting_id": "1",
    "platform": "google_meet",
    "native_meeting_id": "abc-defg-hij",
}
REFUSED = {401, 403, 404}


@dataclass
class Tenant:
    user_id: int
    email: str
    key: str
    key_id: int
    client: httpx.Client
    recordings: list[dict[str, Any]] = field(default_factory=list)
    raw_token: str = ""

    def media(self) -> list[tuple[int, int]]:
        return [(r["id"], m["id"]) for r in self.recordings for m in r["media_files"]]

    def secrets_and_ids(self) -> list[str]:
        """What must never appear in an answer to someone else."""
        found = [self.email, self.key, self.raw_token]
        for recording in self.recordings:
            found += [str(recording["id"]), recording["session_uid"]]
            found += [str(m["id"]) for m in recording["media_files"]]
        return [value for value in found if value]


def _tenant(server: LiveServer, admin: httpx.Client, name: str) -> Tenant:
    email = f"{name}-{id(server)}@example.com"
    user = admin.post("/admin/users", json={"email": email, "name": name}).json()
    token = admin.post(f"/admin/users/{user['id']}/tokens").json()
    client = httpx.Client(base_url=server.url, headers={"X-API-Key": token["token"]}, timeout=30)
    return Tenant(user["id"], email, token["token"], token["id"], client)


def _bot_chunk(client: httpx.Client, session: str, seq: int = 0) -> httpx.Response:
    meta = {"session_uid": session, "media_type": "audio", "format": "wav", "chunk_seq": seq}
    return client.post(
        UPLOAD, files={"file": ("c.wav", random_wav(8000))}, data={"metadata": json.dumps(meta)}
    )


@pytest.fixture
def tenants(server: LiveServer, admin: httpx.Client) -> Iterator[tuple[Tenant, Tenant]]:
    a, b = _tenant(server, admin, "alice"), _tenant(server, admin, "bob")
    for tenant, tag in ((a, "a"), (b, "b")):
        upload = tenant.client.post(
            "/recordings",
            files={"file": ("x.wav", random_wav(20_000))},
            data={"session_uid": f"{tag}-meeting-upload-7f3c"},
        )
        assert upload.status_code == 201, upload.text
        chunk = _bot_chunk(tenant.client, f"{tag}-meeting-bot-9d1e")
        assert chunk.status_code == 201, chunk.text
        tenant.recordings = [
            upload.json(),
            tenant.client.get(f"/recordings/{chunk.json()['recording_id']}").json(),
        ]
        rid, mid = tenant.media()[0]
        raw_url = tenant.client.get(f"/recordings/{rid}/media/{mid}/download").json()["raw_url"]
        tenant.raw_token = parse_qs(urlsplit(raw_url).query).get("token", [""])[0]
    yield a, b
    a.client.close()
    b.client.close()


def _routes(server: LiveServer) -> list[tuple[str, str, set[str]]]:
    """(method, path template, parameter names) for every route of the running app."""
    found = []
    for route in server.routes:
        params = set(getattr(route, "path_parameters", {}) or {})
        unknown = params - OWNED - set(PUBLIC)
        assert not unknown, f"{route.path}: add {unknown} to the tenant matrix (OWNED or PUBLIC)"
        for method in sorted(getattr(route, "methods", set()) - {"OPTIONS"}):
            found.append((method, route.path, params))
    assert len(found) >= 15, found
    return found


def _fill(template: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: str(values[m[1]]), template)


def _owned_values(a: Tenant, b: Tenant) -> Iterator[dict[str, Any]]:
    """A's ids, and mixes of B's recording with A's media and A's recording with B's media."""
    for (rid, mid), (brid, bmid) in product(a.media(), b.media()):
        common = {"user_id": a.user_id, "token_id": a.key_id} | PUBLIC
        yield common | {"recording_id": rid, "media_id": mid}
        yield common | {"recording_id": brid, "media_id": mid}
        yield common | {"recording_id": rid, "media_id": bmid}


def _body_for(method: str, path: str, a: Tenant) -> dict[str, Any]:
    if method != "POST":
        return {}
    if path == "/recordings":
        return {
            "files": {"file": ("x.wav", random_wav(4000))},
            "data": {"session_uid": "mallory-upload"},
        }
    if path == UPLOAD:
        meta = {"session_uid": a.recordings[1]["session_uid"], "format": "wav", "chunk_seq": 1}
        return {"files": {"file": ("c.wav", random_wav(4000))}, "data": {"metadata": json.dumps(meta)}}
    return {"json": {"email": "mallory@example.com", "name": "m"}}


def _leaks(answer: httpx.Response, a: Tenant, echoed: tuple[str, ...] = ()) -> list[str]:
    """A's values in the answer; `echoed`: what the caller sent itself (B's own chunk naming the
    session_uid it chose is answered with its own chunk's key, which holds that name)."""
    text = (
        answer.text if "json" in answer.headers.get("content-type", "") else answer.content.decode("latin-1")
    )
    return [value for value in a.secrets_and_ids() if value in text and value not in echoed]


def _assert_a_unchanged(a: Tenant) -> None:
    for recording in a.recordings:
        now = a.client.get(f"/recordings/{recording['id']}")
        assert now.status_code == 200, now.text
        assert [m["file_size_bytes"] for m in now.json()["media_files"]] == [
            m["file_size_bytes"] for m in recording["media_files"]
        ]
    assert a.client.get("/recordings").json()["total"] == len(a.recordings)


def test_user_b_gets_404_or_401_on_every_route_that_names_user_as_things(
    server: LiveServer, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    problems = []
    for method, template, params in _routes(server):
        if not params & OWNED:
            continue
        paths = {_fill(template, values) for values in _owned_values(a, b)}
        a_ids = {str(i) for pair in a.media() for i in pair} | {str(a.user_id), str(a.key_id)}
        for path in sorted(p for p in paths if a_ids & set(p.split("/"))):  # naming at least one of A's
            for extra in ({}, {"params": {"token": a.raw_token}}):  # B's key wins over A's token
                answer = b.client.request(method, path, **extra, **_body_for(method, template, a))
                if answer.status_code not in REFUSED:
                    problems.append(f"{method} {path} {extra}: {answer.status_code} {answer.text[:120]}")
                elif leaked := _leaks(answer, a):
                    problems.append(f"{method} {path}: the answer shows {leaked}")
    assert problems == []
    _assert_a_unchanged(a)


def test_routes_without_ids_never_show_user_b_anything_of_user_as(
    server: LiveServer, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    problems = []
    for method, template, params in _routes(server):
        if params & OWNED:
            continue
        answer = b.client.request(method, _fill(template, PUBLIC), **_body_for(method, template, a))
        if answer.status_code >= 500:
            problems.append(f"{method} {template}: {answer.status_code}")
        echoed = (a.recordings[1]["session_uid"],) if template == UPLOAD else ()
        if leaked := _leaks(answer, a, echoed):
            problems.append(f"{method} {template}: {answer.status_code}, the answer shows {leaked}")
    assert problems == []
    _assert_a_unchanged(a)


def test_the_same_session_uid_from_user_b_starts_user_bs_own_recording(
    tenants: tuple[Tenant, Tenant],
) -> None:
    a, b = tenants
    a_bot = a.recordings[1]
    answer = _bot_chunk(b.client, a_bot["session_uid"], seq=0)
    assert answer.status_code == 201, answer.text
    assert answer.json()["recording_id"] != a_bot["id"]
    assert b.client.get(f"/recordings/{answer.json()['recording_id']}").json()["user_id"] == b.user_id
    _assert_a_unchanged(a)


def test_user_as_playback_token_opens_none_of_user_bs_media(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    for rid, mid in b.media():
        answer = httpx.get(
            f"{b.client.base_url}/recordings/{rid}/media/{mid}/raw", params={"token": a.raw_token}
        )
        assert answer.status_code in REFUSED, answer.status_code
        assert answer.json()["detail"]


def test_a_revoked_key_is_refused_on_every_route(
    server: LiveServer, admin: httpx.Client, tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = tenants
    assert admin.delete(f"/admin/tokens/{a.key_id}").status_code == 204
    problems = []
    for method, template, params in _routes(server):
        if (
            not params & OWNED
            and method in ("GET", "HEAD")
            and not template.startswith(("/recordings", "/admin"))
        ):
            continue  # public: the page, its files, health, docs
        for rid, mid in a.media():
            values = {
                "recording_id": rid,
                "media_id": mid,
                "user_id": a.user_id,
                "token_id": a.key_id,
            } | PUBLIC
            path = _fill(template, values)
            answer = a.client.request(method, path, **_body_for(method, template, a))
            if answer.status_code not in {401, 403}:
                problems.append(f"{method} {path}: {answer.status_code}")
    rid, mid = a.media()[0]
    token_answer = httpx.get(f"{server.url}/recordings/{rid}/media/{mid}/raw", params={"token": a.raw_token})
    if token_answer.status_code not in {401, 403}:
        problems.append(f"a playback token of the revoked key: {token_answer.status_code}")
    assert problems == []
