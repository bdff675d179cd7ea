"""The playback signing key: when none is set, a generated one is kept private in the data dir, tokens
survive a restart with it, and rotating the key invalidates the tokens signed with the old one.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from lite.config import Settings, load_settings
from tests.conftest import ADMIN_TOKEN, LiveServer, new_user_key, start_server
from tests.playbackkit import media_paths, raw_url


@pytest.fixture
def generated_key_settings(tmp_path: Path) -> Settings:
    env = {
        "STORAGE_BACKEND": "local",
        "DATA_DIR": str(tmp_path / "data"),
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "LOCAL_STORAGE_FSYNC": "false",
    }
    return load_settings(env)


def signed_url_from(live: LiveServer) -> str:
    with httpx.Client(base_url=live.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
        _, key = new_user_key(admin)
    with httpx.Client(base_url=live.url, headers={"X-API-Key": key}) as api:
        _, _, base = media_paths(api)
        return raw_url(api, base)


def test_a_generated_signing_key_is_kept_private_in_the_data_dir(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    live.stop()
    path = generated_key_settings.data_dir / "playback-signing-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 40


def test_tokens_survive_a_restart_with_a_generated_key(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    try:
        url = signed_url_from(live)
    finally:
        live.stop()
    again = start_server(generated_key_settings)
    try:
        assert httpx.get(again.url + url).status_code == 200
    finally:
        again.stop()


def test_rotating_the_signing_key_invalidates_old_tokens(generated_key_settings: Settings) -> None:
    live = start_server(generated_key_settings)
    try:
        url = signed_url_from(live)
    finally:
        live.stop()
    rotated = Settings(**{**generated_key_settings.__dict__, "playback_signing_key": "rotated-key"})
    again = start_server(rotated)
    try:
        assert httpx.get(again.url + url).status_code == 403
    finally:
        again.stop()
