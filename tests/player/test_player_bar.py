"""The player bar: one set of controls, sticky while the list scrolls, keys after clicking a recording,
the overview's playhead, hover time and click-to-seek, the remembered place, and the screenshots.

Screenshots (light, dark, phone, playing) go to test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.mediakit import wav_bytes
from tests.playerkit import (
    DESKTOP,
    PHONE,
    SPEECHY_SECONDS,
    Page,
    signed_in_page,
    speechy_wav,
    upload,
    video_webm,
)

pytestmark = pytest.mark.browser

PLAYING = (
    "() => { const el = document.querySelector('#player-audio'); return !el.paused && el.currentTime > 0.2; }"
)


def test_there_is_one_set_of_controls(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    upload(api, video_webm(), "demo.webm", media_type="video")
    upload(api, speechy_wav(), "talk.wav")  # the newest: first in the list
    page.sign_in(key)
    page.pw.wait_for_selector("#recording-list .recording")
    for media in ("#player-audio", "#player-video"):
        assert page.js(f"() => document.querySelector('{media}').hasAttribute('controls')") is False
    page.play_first()
    assert page.js("() => document.querySelector('#player-audio').controls") is False
    assert page.js("() => document.querySelector('#player-audio').getBoundingClientRect().height") == 0
    assert page.pw.locator("#player [aria-label=Pause], #player [aria-label=Play]").count() == 1


def test_the_player_stays_in_view_while_a_long_list_scrolls(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    for i in range(20):
        upload(api, wav_bytes(0.3) if i else speechy_wav(), f"m{i}.wav", meeting_id=f"m{i}")
    page.pw.set_viewport_size({"width": 1280, "height": 700})
    page.sign_in(key)
    page.pw.wait_for_selector("text=1\N{EN DASH}20 of 20")
    page.pw.click("#recording-list .recording:last-child .media .play")  # the oldest: the 24 s one
    page.wait(PLAYING)
    page.js("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.pw.wait_for_timeout(200)
    assert page.js("() => window.scrollY") > 500  # the list did scroll
    rect = "document.querySelector('#player').getBoundingClientRect()"
    box = page.js(f"() => {{ const r = {rect}; return [r.top, r.bottom]; }}")
    assert box[0] >= 0 and box[1] <= 700, box
    # Its controls still work from there.
    page.pw.click("#play-pause")
    page.pw.wait_for_selector("#play-pause[aria-label=Play]")
    assert page.media("paused") is True


def test_keys_work_after_clicking_a_recording(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav", meeting_id="keys")
    page.sign_in(key)
    page.pw.click("#recording-list .recording-title")  # the row itself, not its Play button
    page.wait(PLAYING)
    page.pw.keyboard.press("Space")
    page.pw.wait_for_selector("#play-pause[aria-label=Play]")
    assert page.media("paused") is True
    start = page.media("currentTime")
    page.pw.keyboard.press("ArrowRight")
    assert page.media("currentTime") == pytest.approx(start + 10, abs=0.6)
    page.pw.keyboard.press("ArrowLeft")
    assert page.media("currentTime") == pytest.approx(start, abs=0.6)
    page.pw.keyboard.press("k")
    page.pw.wait_for_selector("#play-pause[aria-label=Pause]")
    # Still so when focus is back on the page itself.
    page.js("() => document.activeElement.blur()")
    page.pw.keyboard.press("Space")
    page.pw.wait_for_selector("#play-pause[aria-label=Play]")


def test_the_overview_has_a_playhead_hover_time_and_click_to_seek(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    area = page.pw.wait_for_selector("#waveform-box:not([hidden]) #wave-area")
    box = area.bounding_box()
    y = box["y"] + box["height"] / 2
    page.pw.mouse.move(box["x"] + box["width"] * 0.25, y)
    hover = page.pw.wait_for_selector("#hover-time:not([hidden])")
    assert hover.inner_text() == "0:06"  # a quarter of 24 s
    page.pw.mouse.click(box["x"] + box["width"] * 0.75, y)
    assert page.media("currentTime") == pytest.approx(SPEECHY_SECONDS * 0.75, abs=1.0)
    # The playhead moves with playback.
    left = page.js("() => parseFloat(document.querySelector('#playhead').style.left)")
    assert left == pytest.approx(75, abs=5)
    page.wait("() => parseFloat(document.querySelector('#playhead').style.left) > 78", timeout=5)
    # A time axis under the overview.
    labels = page.pw.locator("#wave-axis span").all_inner_texts()
    assert labels[0] == "0:00" and len(labels) >= 3


def test_the_place_in_each_recording_is_remembered(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "talk.wav")
    page.sign_in(key)
    page.play_first()
    page.js("() => { const el = document.querySelector('#player-audio'); el.currentTime = 15; el.pause(); }")
    page.wait("() => document.querySelector('#player-audio').paused")
    page.pw.reload()
    page.pw.wait_for_selector("#recording-list .media .play")
    page.pw.click("#recording-list .media .play")
    page.wait("() => document.querySelector('#player-audio').currentTime > 14")
    assert page.media("currentTime") == pytest.approx(15, abs=1.5)
    assert "resumed at 0:15" in page.pw.inner_text("#player-subtitle")


def test_the_speed_menu_keeps_its_rate_for_the_next_recording(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    upload(api, speechy_wav(), "a.wav")
    upload(api, speechy_wav(), "b.wav")
    page.sign_in(key)
    page.play_first()
    page.pw.select_option("#speed", "1.5")
    page.pw.click("#recording-list .recording:last-child .media .play")
    page.wait(PLAYING)
    assert page.media("playbackRate") == 1.5


def _luminance(rgb: str) -> float:
    parts = [float(v) for v in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    lin = [(c / 255 / 12.92) if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


COLOURS = """() => {
  const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
  return {
    body: css('body', 'backgroundColor'), text: css('body', 'color'),
    panel: css('.panel', 'backgroundColor'), muted: css('.recording-meta', 'color'),
  };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_both_colour_schemes_are_readable(
    browser: Any, server: LiveServer, key: str, api_for: Any, scheme: str
) -> None:
    api = api_for(key)
    upload(api, speechy_wav(), "weekly.wav", meeting_id="weekly-sync")
    upload(api, wav_bytes(1.0), "intro.wav", meeting_id="4711")
    with signed_in_page(browser, server, key, viewport=DESKTOP, color_scheme=scheme) as page:
        colours = page.js(COLOURS)
        assert contrast(colours["text"], colours["body"]) >= 4.5, colours
        assert contrast(colours["text"], colours["panel"]) >= 4.5, colours
        assert contrast(colours["muted"], colours["panel"]) >= 4.5, colours
        dark = _luminance(colours["body"]) < 0.05
        assert dark is (scheme == "dark"), colours
        page.play_first()
        page.pw.wait_for_selector("#waveform-box:not([hidden])")
        page.js("() => document.querySelector('#player-audio').pause()")
        page.screenshot(f"player-{scheme}.png")
        assert not page.console_errors, page.console_errors


def test_emulating_the_dark_scheme_changes_the_page(page: Page) -> None:
    page.pw.goto(page.base_url + "/")
    light = page.js("() => getComputedStyle(document.body).backgroundColor")
    page.pw.emulate_media(color_scheme="dark")
    dark = page.js("() => getComputedStyle(document.body).backgroundColor")
    assert light != dark and _luminance(dark) < _luminance(light)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_phone_has_no_sideways_scrolling(
    browser: Any, server: LiveServer, key: str, api_for: Any, scheme: str
) -> None:
    api = api_for(key)
    upload(api, speechy_wav(), "a-rather-long-file-name-from-a-phone-recorder-app.wav", meeting_id="phone")
    upload(api, video_webm(3), "demo.webm", media_type="video", meeting_id="video-call")
    with signed_in_page(browser, server, key, viewport=PHONE, color_scheme=scheme, has_touch=True) as page:
        assert page.js("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.pw.click("#recording-list .recording:last-child .media .play")
        page.wait(PLAYING)
        page.pw.wait_for_selector("#waveform-box:not([hidden])")
        assert page.js("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(f"phone-{scheme}.png")


def test_screenshot_while_playing(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    upload(api, wav_bytes(1.0), "intro.wav", meeting_id="4711")
    upload(api, speechy_wav(), "weekly.wav", meeting_id="weekly-sync")
    page.sign_in(key)
    page.play_first()
    area = page.pw.wait_for_selector("#waveform-box:not([hidden]) #wave-area")
    page.wait("() => document.querySelector('#player-audio').currentTime > 1.5")
    box = area.bounding_box()
    page.pw.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.pw.wait_for_selector("#hover-time:not([hidden])")
    assert page.screenshot("player-playing.png").stat().st_size > 10_000
    assert page.media("paused") is False
