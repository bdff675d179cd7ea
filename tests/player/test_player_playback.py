"""The player page plays: audio and video play and seek, the level overview, keys, speed, renewal.

An uploaded recording (on local and on MinIO) plays through same-origin /raw links and seeks to
three quarters; video plays in a video element; the level overview is drawn and seeks on click;
arrow keys skip, k pauses, the speed menu sets the rate; playback outlives its link's token by
renewing the link in place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.config import load_settings
from tests.conftest import LiveServer, backend_env, new_user_key, start_server
from tests.playerkit import (
    DESKTOP,
    SPEECHY_SECONDS,
    Page,
    speechy_wav,
    upload,
    video_webm,
)

pytestmark = pytest.mark.browser


SEEK_AND_PLAY = """
async (fraction) => {
  const el = document.querySelector('audio:not([hidden]), video:not([hidden])');
  const target = el.duration * fraction;
  const seeked = new Promise((resolve) => el.addEventListener('seeked', resolve, {once: true}));
  el.currentTime = target;
  await seeked;
  const afterSeek = el.currentTime;
  await new Promise((resolve) => setTimeout(resolve, 700));
  return {target, afterSeek, afterPlay: el.currentTime, paused: el.paused, error: el.error && el.error.code};
}
"""


def assert_seeks_and_keeps_playing(page: Page, fraction: float = 0.75) -> None:
    result = page.js(SEEK_AND_PLAY, fraction)
    assert result["afterSeek"] == pytest.approx(result["target"], abs=0.25)
    assert result["afterPlay"] > result["afterSeek"] + 0.2, result  # playback went on from there
    assert not result["paused"]
    assert result["error"] is None


@pytest.mark.parametrize("backend", ["local", "minio"], indirect=True)
def test_an_uploaded_recording_plays_and_seeks_to_three_quarters(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "standup.wav", meeting_id="1234")
    page.sign_in(key)
    page.pw.wait_for_selector("text=standup")
    page.play_first()
    assert page.media("duration") == pytest.approx(SPEECHY_SECONDS, abs=0.1)
    assert_seeks_and_keeps_playing(page)
    # Same-origin /raw with a token on every backend: no storage host reaches the browser.
    assert page.media("src").startswith(page.base_url + "/recordings/")
    assert "token=" in page.media("src")
    assert all(status in (200, 206) for _, status in page.raw_statuses)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_a_video_recording_plays_in_a_video_element_and_seeks(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), video_webm(), "demo.webm", media_type="video")
    page.sign_in(key)
    page.pw.click("#recording-list .media .play")
    page.wait("() => document.querySelector('#player-video').currentTime > 0.2")
    assert page.js("() => document.querySelector('#player-audio').hidden") is True
    assert page.media("videoWidth") == 160
    assert_seeks_and_keeps_playing(page)


def test_the_level_overview_is_drawn_for_audio(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    page.pw.wait_for_selector("#waveform-box:not([hidden])")
    # Some columns of the canvas are drawn taller than others: quiet and loud parts differ.
    heights = page.js(
        """() => {
      const c = document.querySelector('#waveform');
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const cols = [];
      for (let x = 0; x < c.width; x += 8) {
        let n = 0;
        for (let y = 0; y < c.height; y++) if (data[(y * c.width + x) * 4 + 3] > 0) n++;
        cols.push(n);
      }
      return cols;
    }"""
    )
    assert max(heights) > 3 * max(1, min(heights))


def test_clicking_the_level_overview_seeks_there(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    canvas = page.pw.wait_for_selector("#waveform-box:not([hidden]) canvas")
    box = canvas.bounding_box()
    page.pw.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    assert page.media("currentTime") == pytest.approx(SPEECHY_SECONDS / 2, abs=0.5)


def test_keyboard_arrows_skip_ten_seconds_and_k_pauses(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    start = page.media("currentTime")
    page.pw.keyboard.press("ArrowRight")
    assert page.media("currentTime") == pytest.approx(start + 10, abs=0.6)
    page.pw.keyboard.press("ArrowLeft")
    assert page.media("currentTime") == pytest.approx(start, abs=0.6)
    page.pw.keyboard.press("k")
    page.pw.wait_for_selector("#play-pause[aria-label=Play]")
    assert page.media("paused") is True


def test_the_speed_menu_sets_the_playback_rate(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    page.pw.select_option("#speed", "1.5")
    assert page.media("playbackRate") == 1.5


# renewing the playback link


@pytest.fixture
def short_token_server(tmp_path: Path) -> Iterator[LiveServer]:
    env = backend_env("local", tmp_path, None) | {"PLAYBACK_TOKEN_SECONDS": "10"}
    live = start_server(load_settings(env))
    yield live
    live.stop()


def test_playback_outlives_its_token_by_renewing_the_link_in_place(
    browser: Any, short_token_server: LiveServer
) -> None:
    server = short_token_server
    with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": "test-admin-token"}) as admin:
        key = new_user_key(admin)[1]
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as api:
        upload(api, speechy_wav(30.0), "long.wav")
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = Page(context.new_page(), server.url)
        page.sign_in(key)
        page.play_first()
        first_src = page.media("src")
        issued = time.monotonic()
        # The page renews at 80 % of the 10 s lifetime, then puts the position back.
        renewed = f"() => document.querySelector('#player-audio').src !== {json.dumps(first_src)}"
        page.wait(renewed, timeout=12)
        page.wait("() => !document.querySelector('#player-audio').paused", timeout=5)
        assert page.media("currentTime") > 6  # not restarted from 0
        time.sleep(max(0.0, 10.5 - (time.monotonic() - issued)))
        # The first link is dead now; the page still seeks and plays on the renewed one.
        assert httpx.get(first_src).status_code == 403
        assert_seeks_and_keeps_playing(page)
        assert page.media("error") is None
        assert (first_src, 403) not in page.raw_statuses
        assert all(status in (200, 206) for _, status in page.raw_statuses)
    finally:
        context.close()
