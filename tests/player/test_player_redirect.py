"""The player page with RAW_REDIRECT_TO_STORE on MinIO (moto): the media element follows /raw's
redirect to the store, plays and seeks there (the page's policy lets media come from the store),
and a download still saves the file under its name."""

from __future__ import annotations

from typing import Any

import pytest

from tests.player.test_player_playback import assert_seeks_and_keeps_playing
from tests.playerkit import SPEECHY_SECONDS, Page, download_first, speechy_wav, upload

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["minio"], indirect=True)]


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"RAW_REDIRECT_TO_STORE": "true"}


def test_a_recording_plays_and_seeks_from_the_store(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "standup.wav")
    page.sign_in(key)
    page.play_first()
    assert page.media("duration") == pytest.approx(SPEECHY_SECONDS, abs=0.1)
    assert_seeks_and_keeps_playing(page)
    assert page.raw_statuses and all(status == 302 for _, status in page.raw_statuses)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_download_saves_the_file_under_its_name(page: Page, key: str, api_for: Any) -> None:
    data = speechy_wav(2.0)
    upload(api_for(key), data, "take.wav", session_uid="take-1")
    page.sign_in(key)
    assert download_first(page) == ("take.wav", data)
