"""Headless Chromium for tests: launching Debian's Chromium through Playwright, serving a directory over
HTTP with byte-range support (as browsers expect for media), and loading a media file in an <audio> or
<video> element to read its duration, seek into it and play it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--autoplay-policy=no-user-gesture-required",
]


@contextlib.contextmanager
def chromium_page() -> Iterator[object]:
    """A Playwright page in headless Debian Chromium (never downloads a browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><html><head><title>lite test</title></head><body></body></html>")
            yield page
        finally:
            browser.close()


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves files from ``server.root`` with single byte-range support, as browsers expect for media."""

    server: _FileServer
    protocol_version = "HTTP/1.1"
    _TYPES = {".webm": "video/webm", ".wav": "audio/wav", ".html": "text/html"}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        path = (self.server.root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if self.server.root not in path.parents or not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and (match[1] or match[2]):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:
                start = max(0, size - int(match[2]))
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", self._TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        with path.open("rb") as f:
            f.seek(start)
            left = end - start + 1
            try:
                while left > 0 and (block := f.read(min(left, 1 << 16))):
                    self.wfile.write(block)
                    left -= len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser had what it wanted


class _FileServer(ThreadingHTTPServer):
    daemon_threads = True
    root: Path


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 with Range support; yields its base URL."""
    server = _FileServer(("127.0.0.1", 0), _RangeHandler)
    server.root = Path(root).resolve()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_PLAY_JS = """
async ({url, tag, fraction, playMs}) => {
  const el = document.createElement(tag);
  el.muted = true;
  el.preload = 'auto';
  document.body.appendChild(el);
  const wait = (name, ms) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
    el.addEventListener(name, () => { clearTimeout(timer); resolve(); }, {once: true});
    el.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`media error ${el.error && el.error.code}: ${el.error && el.error.message}`));
    }, {once: true});
  });
  el.src = url;
  await wait('loadedmetadata', 10000);
  const result = {duration: el.duration, seekTarget: null, afterSeek: null, afterPlay: null, error: null};
  if (fraction !== null && Number.isFinite(el.duration)) {
    result.seekTarget = el.duration * fraction;
    el.currentTime = result.seekTarget;
    await wait('seeked', 10000);
    result.afterSeek = el.currentTime;
    await el.play();
    await new Promise((resolve) => setTimeout(resolve, playMs));
    result.afterPlay = el.currentTime;
    el.pause();
  }
  result.error = el.error ? el.error.code : null;
  el.remove();
  return result;
}
"""


def play_in_chromium(
    page: object, url: str, tag: str, fraction: float | None = 0.75, play_ms: int = 600
) -> dict:
    """Load ``url`` in an <audio>/<video> element; if its duration is finite, seek to ``fraction`` of it
    and play ``play_ms``. Returns {"duration", "seekTarget", "afterSeek", "afterPlay", "error"}
    (duration may be ``math.inf``)."""
    return page.evaluate(_PLAY_JS, {"url": url, "tag": tag, "fraction": fraction, "playMs": play_ms})
