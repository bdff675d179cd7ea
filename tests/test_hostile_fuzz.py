"""Fuzz the HTTP API from its own OpenAPI document (schemathesis), with valid credentials and without:
no answer is a 5xx, and every error is JSON with a `detail`.

Positive and negative cases (values the schema forbids) for every operation, MAX_EXAMPLES each
(LITE_LONG_TESTS=1: more). Valid credentials are both an API key and the admin token, so every
operation gets past authentication; without them, whatever schemathesis makes up is sent.

The two upload endpoints read their multipart body as a stream, so the OpenAPI document has no body
schema for schemathesis to work from: random multipart forms for them come from hypothesis below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lite.config import load_settings
from tests.conftest import ADMIN_TOKEN, LiveServer, backend_env, new_user_key, start_server
from tests.faultkit import LONG, random_wav

MAX_EXAMPLES = 200 if LONG else 50


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    live = start_server(load_settings(backend_env("local", tmp_path, None)))
    with httpx.Client(base_url=live.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        _, key = new_user_key(admin)
    # Something to find: a recording (random ids will rarely hit it, but listing shows it).
    httpx.post(
        f"{live.url}/recordings", headers={"X-API-Key": key}, files={"file": ("a.wav", random_wav(4000))}
    )
    yield live, key
    live.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[LiveServer, str]) -> Any:
    live, _ = fuzz_target
    loaded = schemathesis.openapi.from_url(f"{live.url}/docs/openapi.json")
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
    )
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=False,
    print_blob=True,
)


def _header(response: Any, name: str) -> str:
    values = {k.lower(): v for k, v in response.headers.items()}.get(name, [""])
    return values[0] if isinstance(values, list) else str(values)


def _assert_sane(case: Any, response: Any) -> None:
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}"
    if response.status_code >= 400 and case.method.upper() != "HEAD":
        assert _header(response, "content-type").startswith("application/json"), where
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], where


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_5xx_and_json_errors_with_valid_credentials(
    case: Any, fuzz_target: tuple[LiveServer, str]
) -> None:
    live, key = fuzz_target
    # Generated values for the security headers (negative cases make them malformed) are replaced.
    case.headers = {**(case.headers or {}), "X-API-Key": key, "X-Admin-API-Key": ADMIN_TOKEN}
    response = case.call(base_url=live.url)
    _assert_sane(case, response)
    assert response.status_code != 401, f"{case.method} {case.formatted_path}: {response.text[:200]}"


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_5xx_and_json_errors_without_valid_credentials(
    case: Any, fuzz_target: tuple[LiveServer, str]
) -> None:
    live, _ = fuzz_target
    response = case.call(base_url=live.url)
    _assert_sane(case, response)
    if case.formatted_path not in ("/healthz", "/readyz") and case.method.upper() != "OPTIONS":
        assert response.status_code not in range(200, 300), f"{case.method} {case.formatted_path}"


NAMES = ["session_uid", "media_type", "format", "meeting_id", "duration_seconds", "metadata", "file",
         "chunk_seq", "is_final", "sample_rate"]  # fmt: skip
WAV_HEAD = random_wav(2000)[:44]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
metadata = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.sampled_from(["wav", "webm", "audio", "video", "0", "../x"]) for name in NAMES
    },
).map(lambda d: json.dumps(d).encode())
field_values = st.binary(max_size=60) | st.text(max_size=60).map(str.encode) | metadata
parts = st.lists(
    st.tuples(st.sampled_from(NAMES) | st.text(max_size=12), field_values, st.none() | st.text(max_size=30)),
    max_size=6,
)
file_bytes = st.binary(max_size=3000) | st.binary(max_size=3000).map(lambda b: WAV_HEAD + b)


def _form(fields: list[tuple[str, bytes, str | None]], data: bytes, filename: str | None) -> bytes:
    out = b""
    for name, value, part_filename in [*fields, ("file", data, filename)]:
        disposition = f'form-data; name="{name}"' + (f'; filename="{part_filename}"' if part_filename else "")
        out += b"--fuzz\r\nContent-Disposition: " + disposition.encode("utf-8", "surrogatepass")
        out += b"\r\n\r\n" + value + b"\r\n"
    return out + b"--fuzz--\r\n"


@pytest.mark.parametrize("path", ["/recordings", "/internal/recordings/upload"])
@given(fields=parts, data=file_bytes, filename=st.none() | st.text(max_size=40))
@settings(max_examples=MAX_EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_multipart_uploads_never_answer_5xx(
    fuzz_target: tuple[LiveServer, str],
    path: str,
    fields: list[tuple[str, bytes, str | None]],
    data: bytes,
    filename: str | None,
) -> None:
    live, key = fuzz_target
    answer = httpx.post(
        f"{live.url}{path}",
        content=_form(fields, data, filename),
        headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=fuzz"},
        timeout=30,
    )
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["detail"], answer.text
    else:
        recording_id = answer.json().get("recording_id") or answer.json()["id"]
        assert (
            httpx.get(f"{live.url}/recordings/{recording_id}", headers={"X-API-Key": key}).status_code == 200
        )
