"""The player page in Debian's headless Chromium (Playwright): sign in, list, play, seek, renew links.

One browser for the module; a fresh context (so a fresh sessionStorage) and server per test.
Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from lite.config import load_settings
from tests.conftest import LiveServer, backend_env, new_user_key, start_server
from tests.mediarecorder import CHROMIUM, CHROMIUM_ARGS, wav_bytes

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SPEECHY_SECONDS = 24.0


def speechy_wav(seconds: float = SPEECHY_SECONDS, rate: int = 16000) -> bytes:
    """A WAV with talk-like bursts and pauses, so the level overview has something to show."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 0.23 * t) > -0.2) * (0.35 + 0.3 * np.abs(np.sin(2 * np.pi * 1.7 * t)))
    signal = (envelope * np.sin(2 * np.pi * 220 * t) * 32000).astype("<i2")
    header = bytearray(wav_bytes(0.0, rate=rate))
    header[4:8] = (36 + signal.nbytes).to_bytes(4, "little")
    header[40:44] = signal.nbytes.to_bytes(4, "little")
    return bytes(header) + signal.tobytes()


def video_webm(seconds: int = 6) -> bytes:
    """A small VP8 + Opus WebM with a moving square, written by PyAV (which adds cues and a duration)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        video = container.add_stream("libvpx", rate=15)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        for i in range(seconds * 15):
            pixels = np.zeros((120, 160, 3), dtype=np.uint8)
            pixels[40:80, (i * 4) % 120 : (i * 4) % 120 + 40] = (250, 200, 40)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        samples = 960
        for i in range(seconds * 48000 // samples):
            t = (np.arange(samples) + i * samples) / 48000
            tone = (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, i * samples, Fraction(1, 48000)
            container.mux(audio.encode(frame))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return out.getvalue()


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Page:
    """A Playwright page plus what went wrong in it: console errors (CSP violations among them)
    and every /raw response status."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.pw = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.raw_statuses: list[tuple[str, int]] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on(
            "response", lambda r: self.raw_statuses.append((r.url, r.status)) if "/raw" in r.url else None
        )

    def sign_in(self, key: str) -> None:
        self.pw.goto(self.base_url + "/")
        self.pw.fill("#api-key", key)
        self.pw.click("#sign-in-form button[type=submit]")

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.pw.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None, timeout: float = 10.0) -> None:
        self.pw.wait_for_function(expression, arg=arg, timeout=timeout * 1000)

    def media(self, prop: str) -> Any:
        return self.js(f"() => document.querySelector('audio:not([hidden]), video:not([hidden])').{prop}")

    def play_first(self) -> None:
        self.pw.click("#recording-list .media .play")
        self.wait(
            "() => { const el = document.querySelector('#player-audio'); return el.currentTime > 0.2; }"
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.pw.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    try:
        yield Page(context.new_page(), server.url)
    finally:
        context.close()


@pytest.fixture
def key(admin: httpx.Client) -> str:
    return new_user_key(admin)[1]


@pytest.fixture
def api_for(server: LiveServer) -> Iterator[Any]:
    clients: list[httpx.Client] = []

    def make(key: str) -> httpx.Client:
        clients.append(httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def upload(api: httpx.Client, data: bytes, name: str, **fields: str) -> dict[str, Any]:
    answer = api.post("/recordings", files={"file": (name, data)}, data=fields)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


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


# ---- playing -------------------------------------------------------------------------------


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "local")


@pytest.mark.parametrize("backend", ["local", "minio"], indirect=True)
def test_an_uploaded_recording_plays_and_seeks_to_three_quarters(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), speechy_wav(), "standup.wav", meeting_id="1234")
    page.sign_in(key)
    page.pw.wait_for_selector("text=Meeting 1234")
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


# ---- renewing the playback link ------------------------------------------------------------


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


# ---- the list, states and actions ----------------------------------------------------------


def test_a_wrong_key_is_refused_in_words(page: Page) -> None:
    page.sign_in("lite_not-a-real-key")
    message = page.pw.wait_for_selector("#sign-in-message:not([hidden])")
    assert "not accepted" in message.inner_text()
    assert page.pw.is_hidden("#app")
    page.screenshot("sign-in-bad-key.png")
    assert page.js("() => sessionStorage.getItem('lite.apiKey')") is None


def test_a_new_user_sees_the_empty_state(page: Page, key: str) -> None:
    page.sign_in(key)
    message = page.pw.wait_for_selector("#list-message:not([hidden])")
    assert "No recordings yet" in message.inner_text()


def test_an_unreachable_server_is_said_in_words(page: Page, key: str) -> None:
    page.pw.goto(page.base_url + "/")
    page.pw.route("**/recordings?*", lambda route: route.abort("connectionrefused"))
    page.pw.fill("#api-key", key)
    page.pw.click("#sign-in-form button[type=submit]")
    message = page.pw.wait_for_selector("#sign-in-message:not([hidden])")
    assert "Cannot reach the server" in message.inner_text()


def test_sign_out_forgets_the_key(page: Page, key: str) -> None:
    page.sign_in(key)
    page.pw.wait_for_selector("#sign-out:not([hidden])").click()
    page.pw.wait_for_selector("#sign-in:not([hidden])")
    assert page.js("() => sessionStorage.getItem('lite.apiKey')") is None


def test_the_list_is_newest_first_with_pages_of_twenty(page: Page, key: str, api_for: Any) -> None:
    api = api_for(key)
    for i in range(21):
        upload(api, wav_bytes(0.2), f"m{i}.wav", meeting_id=f"m{i}")
    page.sign_in(key)
    page.pw.wait_for_selector("text=1\N{EN DASH}20 of 21")
    titles = page.pw.locator("#recording-list .recording-title").all_inner_texts()
    assert titles[0] == "Meeting m20" and len(titles) == 20
    page.pw.click("#older")
    page.pw.wait_for_selector("text=21\N{EN DASH}21 of 21")
    assert page.pw.locator("#recording-list .recording-title").all_inner_texts() == ["Meeting m0"]


def test_uploading_from_the_page_shows_progress_and_lists_it(page: Page, key: str, tmp_path: Path) -> None:
    path = tmp_path / "from-page.wav"
    path.write_bytes(speechy_wav(60.0))  # ~2 MB: several progress events
    page.sign_in(key)
    page.pw.wait_for_selector("#list-message:not([hidden])")
    page.js(
        """() => {
      window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(document.querySelector('#upload-progress').value))
        .observe(document.querySelector('#upload-progress'), {attributes: true});
    }"""
    )
    page.pw.set_input_files("#upload-file", str(path))
    page.pw.wait_for_selector("text=Uploaded “from-page.wav”.")
    assert page.js("() => window.progressSeen")[-1] == 100
    assert page.pw.locator("#recording-list .recording").count() == 1
    assert "1:00" in page.pw.inner_text("#recording-list .media-meta")


def test_delete_asks_first_and_keeps_the_recording_when_declined(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "keep.wav", meeting_id="keep")
    page.sign_in(key)
    page.pw.click("#recording-list .delete")
    page.pw.wait_for_selector("#confirm-delete[open]")
    page.pw.click("#confirm-delete >> text=Keep it")
    assert page.pw.locator("#recording-list .recording").count() == 1
    assert api_for(key).get("/recordings").json()["total"] == 1


def test_delete_confirmed_removes_the_recording(page: Page, key: str, api_for: Any) -> None:
    upload(api_for(key), wav_bytes(0.5), "gone.wav", meeting_id="gone")
    page.sign_in(key)
    page.pw.click("#recording-list .delete")
    page.pw.click("#confirm-yes")
    page.pw.wait_for_selector("text=No recordings yet")
    assert api_for(key).get("/recordings").json()["total"] == 0


def test_download_saves_the_file(page: Page, key: str, api_for: Any) -> None:
    data = wav_bytes(0.5)
    upload(api_for(key), data, "take.wav", session_uid="take-1")
    page.sign_in(key)
    with page.pw.expect_download() as caught:
        page.pw.click("#recording-list .media .download")
    download = caught.value
    assert download.suggested_filename == "take-1.wav"
    assert Path(download.path()).read_bytes() == data


# ---- how it looks --------------------------------------------------------------------------


def fill_for_screenshot(api: httpx.Client) -> None:
    upload(api, wav_bytes(1.0), "intro.wav", meeting_id="4711")
    upload(api, video_webm(4), "demo.webm", media_type="video", meeting_id="design-review")
    metadata = {"session_uid": "live-call", "media_type": "audio", "format": "wav", "chunk_seq": 0}
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
