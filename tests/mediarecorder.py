"""Real MediaRecorder chunks from headless Chromium, and small WAV files, for tests.

``record_chunks("audio", 6)`` drives Debian's Chromium through Playwright: a Web Audio oscillator (a
tone that changes pitch every second, silent for the last 0.3 s of each second) feeds a
MediaStreamDestination, and for video a canvas.captureStream() with a moving box and a frame counter
is added. MediaRecorder records with a timeslice, exactly as a meeting bot does, and the blobs come
back in order. Results are cached under the system temp dir per (kind, seconds, timeslice), so only
the first test session on a machine pays for the recording.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import re
import shutil
import struct
import tempfile
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--autoplay-policy=no-user-gesture-required",
]
CACHE_DIR = Path(tempfile.gettempdir()) / "lite-mediarecorder-cache-v1"

MIME_TYPES = {"audio": "audio/webm;codecs=opus", "video": "video/webm;codecs=vp8,opus"}

_RECORD_JS = """
async ({kind, seconds, timeslice, mimeType}) => {
  const ctx = new AudioContext({sampleRate: 48000});
  await ctx.resume();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  const dest = ctx.createMediaStreamDestination();
  osc.type = 'sine';
  osc.connect(gain);
  gain.connect(dest);
  const t0 = ctx.currentTime + 0.05;
  const steps = [220, 277, 330, 392, 440, 523, 659, 784];
  for (let i = 0; i < Math.ceil(seconds) + 3; i++) {
    osc.frequency.setValueAtTime(steps[i % steps.length], t0 + i);
    gain.gain.setValueAtTime(0.6, t0 + i);
    gain.gain.setValueAtTime(0.0, t0 + i + 0.7);
  }
  osc.start();

  let stream = dest.stream;
  let timer = null;
  if (kind === 'video') {
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    document.body.appendChild(canvas);
    const g = canvas.getContext('2d');
    let frame = 0;
    const draw = () => {
      frame += 1;
      g.fillStyle = `hsl(${(frame * 3) % 360}, 60%, 40%)`;
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#fff';
      g.fillRect((frame * 4) % 280, 100, 40, 40);
      g.font = '24px sans-serif';
      g.fillText(String(frame), 10, 30);
    };
    draw();
    timer = setInterval(draw, 1000 / 30);
    const video = canvas.captureStream(30);
    stream = new MediaStream([...video.getVideoTracks(), ...dest.stream.getAudioTracks()]);
  }

  const recorder = new MediaRecorder(stream, {mimeType});
  const blobs = [];
  recorder.ondataavailable = (e) => { if (e.data && e.data.size > 0) blobs.push(e.data); };
  const started = new Promise((resolve) => { recorder.onstart = () => resolve(performance.now()); });
  const stopped = new Promise((resolve) => { recorder.onstop = () => resolve(performance.now()); });
  recorder.start(timeslice);
  const startedAt = await started;
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const stopCalledAt = performance.now();
  recorder.stop();
  await stopped;
  if (timer) clearInterval(timer);
  osc.stop();
  await ctx.close();

  const toBase64 = (blob) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      // The data URL's media type itself may contain commas ("codecs=vp8,opus").
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(';base64,') + 8));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  const chunks = [];
  for (const blob of blobs) chunks.push(await toBase64(blob));
  return {chunks, elapsedMs: stopCalledAt - startedAt, userAgent: navigator.userAgent};
}
"""


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


def _cache_path(kind: str, seconds: float, timeslice_ms: int) -> Path:
    return CACHE_DIR / f"{kind}-{seconds:g}s-{timeslice_ms}ms"


def _load_cached(path: Path) -> tuple[list[bytes], dict] | None:
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
        chunks = [(path / f"{i:04d}.webm").read_bytes() for i in range(meta["count"])]
    except (OSError, ValueError, KeyError):
        return None
    return chunks, meta


def record(
    kind: Literal["audio", "video"], seconds: float, timeslice_ms: int = 1000
) -> tuple[list[bytes], dict]:
    """Chunks plus metadata ({"count", "elapsed_ms", "user_agent", "mime_type"}), cached on disk."""
    if kind not in MIME_TYPES:
        raise ValueError(f"kind must be 'audio' or 'video', not {kind!r}")
    path = _cache_path(kind, seconds, timeslice_ms)
    cached = _load_cached(path)
    if cached is not None:
        return cached

    with chromium_page() as page:
        supported = page.evaluate("(m) => MediaRecorder.isTypeSupported(m)", MIME_TYPES[kind])
        if not supported:
            raise RuntimeError(f"this Chromium cannot record {MIME_TYPES[kind]}")
        result = page.evaluate(
            _RECORD_JS,
            {"kind": kind, "seconds": seconds, "timeslice": timeslice_ms, "mimeType": MIME_TYPES[kind]},
        )
    chunks = [base64.b64decode(c) for c in result["chunks"]]
    if not chunks:
        raise RuntimeError("MediaRecorder produced no data")
    meta = {
        "count": len(chunks),
        "elapsed_ms": result["elapsedMs"],
        "user_agent": result["userAgent"],
        "mime_type": MIME_TYPES[kind],
    }

    # Write to a private directory, then rename into place, so parallel sessions never see half a cache.
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=CACHE_DIR))
    for i, chunk in enumerate(chunks):
        (tmp / f"{i:04d}.webm").write_bytes(chunk)
    (tmp / "meta.json").write_text(json.dumps(meta))
    try:
        os.rename(tmp, path)
    except OSError:  # another session got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return chunks, meta


def record_chunks(kind: Literal["audio", "video"], seconds: float, timeslice_ms: int = 1000) -> list[bytes]:
    """The MediaRecorder blobs, in order, of a ``seconds``-long recording with ``timeslice_ms``."""
    return record(kind, seconds, timeslice_ms)[0]


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


def pcm_samples(seconds: float, rate: int = 16000, channels: int = 1, freq: float = 440) -> bytes:
    """Deterministic 16-bit little-endian PCM: a sine at ``freq``, each channel half as loud as the last."""
    frames = round(seconds * rate)
    out = bytearray()
    for n in range(frames):
        s = math.sin(2 * math.pi * freq * n / rate)
        for ch in range(channels):
            out += struct.pack("<h", round(s * 12000 / (1 << ch)))
    return bytes(out)


def wav_bytes(seconds: float, rate: int = 16000, channels: int = 1, freq: float = 440) -> bytes:
    """A complete 16-bit PCM WAV file written by the standard ``wave`` module."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm_samples(seconds, rate, channels, freq))
    return buf.getvalue()
