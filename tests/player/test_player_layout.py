"""How the player page looks: it fits desktop and phone screens, and every control has a name.

Screenshots of a filled player (audio, video, a recording in progress) go to test-artifacts/; on a
phone nothing scrolls sideways and no console error appears.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.mediakit import wav_bytes
from tests.playerkit import (
    DESKTOP,
    PHONE,
    Page,
    speechy_wav,
    upload,
    video_webm,
)

pytestmark = pytest.mark.browser


def fill_for_screenshot(api: httpx.Client) -> None:
    upload(api, wav_bytes(1.0), "intro.wav", meeting_id="4711")
    upload(api, video_webm(4), "demo.webm", media_type="video", meeting_id="design-review")
    metadata = {"session_uid": "live-call", "format": "wav", "chunk_seq": 0, "is_final": False}
    answer = api.post(
        "/internal/recordings/upload",
        files={"file": ("chunk", wav_bytes(2.0))},
        data={"metadata": json.dumps(metadata | {"meeting_id": 99})},
    )
    assert answer.status_code == 201, answer.text
    upload(api, speechy_wav(), "weekly.wav", meeting_id="weekly-sync")


@pytest.mark.parametrize(
    ("viewport", "name"), [(DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"]
)
def test_screenshot_of_the_player_fits_the_screen(
    browser: Any, server: LiveServer, key: str, api_for: Any, viewport: dict[str, int], name: str
) -> None:
    fill_for_screenshot(api_for(key))
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    try:
        page = Page(context.new_page(), server.url)
        page.sign_in(key)
        page.pw.wait_for_selector("text=In progress")
        page.play_first()
        page.pw.wait_for_selector("#waveform-box:not([hidden])")
        page.js("() => document.querySelector('#player-audio').pause()")
        path = page.screenshot(f"player-{name}.png")
        assert path.stat().st_size > 10_000
        # Nothing sticks out sideways: no horizontal scrolling on a phone.
        assert page.js("() => document.documentElement.scrollWidth") <= viewport["width"]
        assert not page.console_errors, page.console_errors
    finally:
        context.close()


def test_every_control_has_an_accessible_name(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "named.wav")
    page.sign_in(key)
    page.play_first()
    unnamed = page.js(
        """() => [...document.querySelectorAll('button, input, select, audio, video, canvas')]
        .filter((el) => el.offsetParent !== null || el.tagName === 'INPUT')
        .filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length)
                          || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
