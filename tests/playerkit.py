"""The player page in Debian's headless Chromium (Playwright): the browser, a page object, test media.

A test module registers the fixtures by importing them: ``fixture_browser`` (one Chromium per
module), ``fixture_page`` (a fresh context, so a fresh sessionStorage, on a fresh server per test),
``fixture_key`` (a new user's API key), ``fixture_api_for`` (API clients by key) and
``fixture_backend`` (the local backend unless a test asks for another). Screenshots go to
test-artifacts/ (gitignored).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from tests.chromiumkit import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import LiveServer, new_user_key
from tests.mediakit import wav_bytes

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


@pytest.fixture(name="backend")
def fixture_backend(request: pytest.FixtureRequest) -> str:
    """The local backend, unless a test parametrizes it indirectly."""
    return getattr(request, "param", "local")


@pytest.fixture(name="browser", scope="module")
def fixture_browser() -> Iterator[Any]:
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


@pytest.fixture(name="page")
def fixture_page(browser: Any, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    try:
        yield Page(context.new_page(), server.url)
    finally:
        context.close()


@pytest.fixture(name="key")
def fixture_key(admin: httpx.Client) -> str:
    return new_user_key(admin)[1]


@pytest.fixture(name="api_for")
def fixture_api_for(server: LiveServer) -> Iterator[Any]:
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


def download_first(page: Page) -> tuple[str, bytes]:
    """Click the first media file's download button: the name the browser saves it under, and the bytes."""
    with page.pw.expect_download() as caught:
        page.pw.click("#recording-list .media .download")
    download = caught.value
    return download.suggested_filename, Path(download.path()).read_bytes()


@contextmanager
def signed_in_page(browser: Any, server: LiveServer, key: str, **context_options: Any) -> Iterator[Page]:
    """A page in a browser context of its own (a viewport, a colour scheme…), signed in, its list shown."""
    context = browser.new_context(device_scale_factor=1, **context_options)
    try:
        page = Page(context.new_page(), server.url)
        page.sign_in(key)
        page.pw.wait_for_selector("#recording-list .recording")
        yield page
    finally:
        context.close()
