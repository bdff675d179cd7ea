"""Media for tests: real MediaRecorder chunks from headless Chromium, and small WAV files.

``record_chunks("audio", 6)`` drives Debian's Chromium through Playwright: a Web Audio oscillator (a
tone that changes pitch every second, silent for the last 0.3 s of each second) feeds a
MediaStreamDestination, and for video a canvas.captureStream() with a moving box and a frame counter
is added. MediaRecorder records with a timeslice, exactly as a meeting bot does, and the blobs come
back in order. Results are cached under the system temp dir per (kind, seconds, timeslice), so only
the first test session on a machine pays for the recording. ``wav_bytes`` and ``pcm_samples`` make
deterministic 16-bit PCM sine tones.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import shutil
import struct
import tempfile
import wave
from pathlib import Path
from typing import Literal

from tests.chromiumkit import chromium_page

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
