"""Helpers for the playback-token tests: a token with one character changed, and a media file uploaded
through the API with its path and the token-carrying raw_url its /download gives."""

from __future__ import annotations

import httpx

from tests.test_api_recordings import WAV, upload


def tampered(token: str, position: int) -> str:
    position %= len(token)
    swapped = "B" if token[position] == "A" else "A"
    return token[:position] + swapped + token[position + 1 :]


def media_paths(api: httpx.Client, data: bytes = WAV) -> tuple[int, int, str]:
    recording = upload(api, data).json()
    media_id = recording["media_files"][0]["id"]
    return recording["id"], media_id, f"/recordings/{recording['id']}/media/{media_id}"


def raw_url(api: httpx.Client, base: str) -> str:
    return str(api.get(f"{base}/download").json()["raw_url"])
