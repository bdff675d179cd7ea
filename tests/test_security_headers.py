"""Security headers on media responses, and no wildcard CORS anywhere (preflights included).

The player page's own headers (CSP, framing, referrer) are tested in test_page.py.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import LiveServer
from tests.faultkit import random_wav

EVIL = "https://evil.example"
SAFE_DISPOSITION = re.compile(r'inline; filename="[A-Za-z0-9][A-Za-z0-9_.-]*"')


@pytest.fixture
def media(api: httpx.Client) -> str:
    recording = api.post("/recordings", files={"file": ("a.wav", random_wav(20_000))}).json()
    return f"/recordings/{recording['id']}/media/{recording['media_files'][0]['id']}/raw"


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"Range": "bytes=0-99"}),
        ("GET", {"Range": "bytes=999999-"}),  # 416
    ],
    ids=["200", "head", "206", "416"],
)
def test_media_responses_forbid_sniffing_and_shared_caching(
    api: httpx.Client, media: str, method: str, headers: dict[str, str]
) -> None:
    answer = api.request(method, media, headers=headers)
    assert answer.status_code in (200, 206, 416)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "private" in answer.headers["cache-control"]
    assert "access-control-allow-origin" not in answer.headers
    if answer.status_code != 416:
        assert answer.headers["content-type"] == "audio/wav"
        assert SAFE_DISPOSITION.fullmatch(answer.headers["content-disposition"])


def test_a_not_modified_media_response_keeps_its_headers(api: httpx.Client, media: str) -> None:
    etag = api.head(media).headers["etag"]
    answer = api.get(media, headers={"If-None-Match": etag})
    assert answer.status_code == 304
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "private" in answer.headers["cache-control"]


def _routes(server: LiveServer) -> list[tuple[str, str]]:
    paths = []
    for route in server.routes:
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: "app.js" if m[1] == "file_path" else "1", route.path)
        paths += [(method, path) for method in sorted(route.methods - {"OPTIONS"})]
    return paths


@pytest.mark.parametrize("backend", ["local"])
def test_no_preflight_is_ever_answered_with_a_wildcard_or_a_foreign_origin(
    server: LiveServer, api: httpx.Client
) -> None:
    problems = []
    for method, path in _routes(server):
        answer = httpx.options(
            f"{server.url}{path}",
            headers={
                "Origin": EVIL,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "x-api-key, authorization",
            },
        )
        allowed = answer.headers.get("access-control-allow-origin")
        if allowed is not None or "access-control-allow-credentials" in answer.headers:
            problems.append(f"OPTIONS {path} ({method}): {allowed}")
    assert problems == []


@pytest.mark.parametrize("backend", ["local"])
def test_no_response_carries_a_wildcard_or_a_foreign_origin(
    server: LiveServer, api: httpx.Client, media: str
) -> None:
    problems = []
    for method, path in [*_routes(server), ("GET", media), ("GET", "/recordings")]:
        answer = api.request(method, path, headers={"Origin": EVIL})
        allowed = answer.headers.get("access-control-allow-origin")
        if allowed is not None:
            problems.append(f"{method} {path}: {allowed}")
    assert problems == []
