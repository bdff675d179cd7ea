"""The README's examples have the shapes the API answers with: the upload answer in "## The API"
has exactly the keys of a real upload's answer (and its media file's), and the table's key lists of
`GET /recordings` and the download call are those the API returns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mediakit import wav_bytes

README = Path(__file__).resolve().parent.parent / "README.md"


def api_section() -> str:
    text = README.read_text()
    start = text.index("\n## The API")
    return text[start : text.index("\n## ", start + 1)]


def upload_example() -> dict[str, Any]:
    """The commented JSON after the upload's curl, with `…` placeholders read as null."""
    lines = api_section().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("# {"))
    body = []
    for line in lines[first:]:
        if not line.startswith("#"):
            break
        body.append(line[1:].strip())
    return dict(json.loads(re.sub(r":…", ":null", "".join(body))))


def table_keys(route: str) -> list[str]:
    """The `{"a","b",…}` key list in the table row of `route`."""
    row = next(line for line in api_section().splitlines() if line.startswith(f"| `{route}`"))
    listed = re.search(r"`\{(\"[^`]*)\}`", row)
    assert listed, row
    return re.findall(r'"([a-z_]+)"', listed.group(1))


@pytest.fixture
def uploaded(api: httpx.Client) -> dict[str, Any]:
    answer = api.post(
        "/recordings",
        files={"file": ("standup.wav", wav_bytes(0.3), "audio/wav")},
        data={"session_uid": "standup-0412", "meeting_id": "42"},
    )
    assert answer.status_code == 201
    return dict(answer.json())


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_the_upload_example_has_the_keys_of_a_real_upload(uploaded: dict[str, Any]) -> None:
    example = upload_example()
    assert sorted(example) == sorted(uploaded)
    assert sorted(example["media_files"][0]) == sorted(uploaded["media_files"][0])
    assert sorted(example["playback_url"]) == sorted(uploaded["playback_url"])


@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_the_list_and_download_key_lists_are_the_apis(api: httpx.Client, uploaded: dict[str, Any]) -> None:
    listed = api.get("/recordings").json()
    assert sorted(table_keys("GET /recordings")) == sorted(listed)
    media = uploaded["media_files"][0]
    download = api.get(f"/recordings/{uploaded['id']}/media/{media['id']}/download").json()
    assert sorted(table_keys("GET /recordings/{id}/media/{mid}/download")) == sorted(download)
