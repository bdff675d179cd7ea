"""A level overview of a media file's audio, so the player can show where people talk.

Computed on the server with PyAV because the browser cannot: decoding a two-hour meeting with Web
Audio needs the whole file in memory (over a gigabyte of samples). Here the file is read as a stream
and decoded frame by frame in a worker thread; only one peak per 50 ms window is kept (144,000
floats, 576 KB, for two hours), then folded into the requested number of buckets.

Uploads come from strangers, so the decode is bounded (lite.media.opening opens it by rule):
- decoded audio at most MAX_DECODED_SECONDS (12 h), and at most one second per SECONDS_PER_BYTE
  bytes of file (a 2 MB WAV declaring 1 Hz is 23 days, a window a sample: it grew the server by
  583 MiB over 70 s); a declared rate outside MIN_RATE..MAX_RATE or more than MAX_CHANNELS, and a
  frame of more than MAX_FRAME_SAMPLES samples, are refused; past any: 422;
- a decode that runs longer than MAX_DECODE_WALL_SECONDS stops: 422;
- decodes run in their own pool of DECODE_WORKERS threads (never the one /raw and uploads use) with
  at most MAX_WAITING jobs waiting; past that: 503 with Retry-After;
- the window peaks are cached per file (id and content hash), so any bucket count is a cheap fold
  of one decode: a client cannot multiply the work by varying `buckets`. The cache is bounded in
  bytes (CACHE_BYTES).
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import numpy as np
from anyio import CapacityLimiter, to_thread

from lite.catalog.records import MediaFile
from lite.errors import Busy, Conflict, LiteError
from lite.media.opening import open_media
from lite.storage import Storage

WINDOW_SECONDS = 0.05
MAX_BUCKETS = 4000
MAX_DECODED_SECONDS = 12 * 3600.0
SECONDS_PER_BYTE = 0.05  # 20 bytes a second of audio: below any real codec's bitrate (Opus: 750+)
MIN_DECODED_ALLOWANCE = 600.0  # a small file may still be ten minutes of silence
MAX_FRAME_SAMPLES = 1 << 20  # real frames hold a few thousand
MIN_RATE, MAX_RATE, MAX_CHANNELS = 1000, 768_000, 64
MAX_DECODE_WALL_SECONDS = 120.0
DECODE_WORKERS = 1
MAX_WAITING = 8
CACHE_BYTES = 64 * 1024 * 1024


class NoAudioLevels(LiteError):
    status_code, code = 422, "no_audio_levels"


@dataclass(frozen=True)
class Levels:
    duration_seconds: float
    peaks: list[float]  # 0..1, the loudest sample of each bucket

    def as_json(self) -> dict[str, Any]:
        n = len(self.peaks)
        return {
            "duration_seconds": round(self.duration_seconds, 3),
            "bucket_seconds": round(self.duration_seconds / n, 4) if n else None,
            "peaks": self.peaks,
        }


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc)


def window_peaks(
    reader: BinaryIO, size: int | None = None, window_seconds: float = WINDOW_SECONDS
) -> tuple[np.ndarray, float]:
    """Peak |sample| of each window of the first audio stream, and the audio's duration in seconds.
    `size` (the file's bytes, when known) bounds how much audio the file may decode to."""
    allowed = MAX_DECODED_SECONDS
    if size is not None:
        allowed = min(allowed, max(MIN_DECODED_ALLOWANCE, size * SECONDS_PER_BYTE))
    deadline = time.monotonic() + MAX_DECODE_WALL_SECONDS
    try:
        container = open_media(reader)
    except (av.FFmpegError, ValueError) as exc:
        raise NoAudioLevels(f"the file cannot be decoded ({_reason(exc)})") from None
    with container:
        if not container.streams.audio:
            raise NoAudioLevels("the file has no audio track")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate or 48000
        channels = stream.codec_context.channels or 1
        if not MIN_RATE <= rate <= MAX_RATE or channels > MAX_CHANNELS:
            # A lying header: a window of a billion-sample rate would be held whole in memory.
            raise NoAudioLevels(
                f"the audio declares {rate} Hz and {channels} channels; a recording has"
                f" {MIN_RATE}-{MAX_RATE} Hz and at most {MAX_CHANNELS} channels"
            )
        window = max(1, round(rate * window_seconds))
        # Mono float at the source rate: no resampling filter that would hide the speech band.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        found = array("f")  # 4 bytes a window, in one buffer (not one object per frame)
        carry = np.zeros(0, dtype=np.float32)
        samples = 0

        def take(frame: av.AudioFrame | None) -> None:
            nonlocal carry, samples
            if frame is not None and frame.samples * max(1, len(frame.layout.channels)) > MAX_FRAME_SAMPLES:
                raise NoAudioLevels("the audio has frames far larger than any recording's")
            for out in resampler.resample(frame):
                data = np.abs(out.to_ndarray().reshape(-1))
                samples += data.size
                if samples / rate > allowed:
                    raise NoAudioLevels(
                        f"the audio decodes to more than {allowed:.0f} s, more than a file of this size holds"
                    )
                data = np.concatenate((carry, data)) if carry.size else data
                full = data.size // window * window
                if full:
                    found.frombytes(data[:full].reshape(-1, window).max(axis=1).astype(np.float32).tobytes())
                carry = data[full:]
            if time.monotonic() > deadline:
                raise NoAudioLevels(f"the audio takes more than {MAX_DECODE_WALL_SECONDS:.0f} s to decode")

        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    take(frame)
            take(None)  # flush the resampler
        except av.FFmpegError as exc:
            if not found:
                raise NoAudioLevels(f"the audio cannot be decoded ({_reason(exc)})") from None
            # A damaged tail (a recording cut off mid-frame) still has a useful overview before it.
        if carry.size:
            found.append(float(carry.max()))
    return np.frombuffer(found, dtype=np.float32).copy(), samples / rate


def fold(peaks: np.ndarray, buckets: int) -> list[float]:
    """At most `buckets` values, each the maximum of a run of windows, rounded for a small answer."""
    if peaks.size == 0:
        return []
    edges = np.linspace(0, peaks.size, num=min(buckets, peaks.size) + 1).astype(int)
    folded = np.maximum.reduceat(peaks, edges[:-1])
    return [round(float(v), 3) for v in np.clip(folded, 0.0, 1.0)]


@dataclass(frozen=True)
class _Peaks:
    duration_seconds: float
    peaks: np.ndarray


class Waveforms:
    def __init__(self, storage: Storage, cache_bytes: int = CACHE_BYTES) -> None:
        self.storage = storage
        self._cache: OrderedDict[tuple[int, str], _Peaks] = OrderedDict()
        self._cache_bytes, self._cached_bytes = cache_bytes, 0
        self._running: dict[tuple[int, str], asyncio.Future[_Peaks]] = {}
        self._pool = CapacityLimiter(DECODE_WORKERS)  # its own threads: /raw and uploads never wait
        self._waiting = 0

    async def levels(self, media: MediaFile, buckets: int) -> Levels:
        if media.state == "receiving":
            raise Conflict("the level overview is computed once the recording is complete")
        found = await self._peaks(media)
        return Levels(found.duration_seconds, fold(found.peaks, min(buckets, MAX_BUCKETS)))

    async def _peaks(self, media: MediaFile) -> _Peaks:
        key = (media.id, media.sha256 or media.updated_at)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if key in self._running:  # the same file asked for twice at once: decode once
            return await asyncio.shield(self._running[key])
        if self._waiting >= DECODE_WORKERS + MAX_WAITING:
            raise Busy("the server is computing other level overviews; try again shortly", retry_after=5)
        future: asyncio.Future[_Peaks] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        self._waiting += 1
        try:
            args = (media.storage_key, media.file_size_bytes)
            result = await to_thread.run_sync(self._compute, *args, limiter=self._pool)
            future.set_result(result)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked as retrieved: any waiter re-raises it, nobody else needs it
            raise
        except BaseException:  # cancelled: a waiter retries rather than inherit the cancellation
            future.cancel()
            raise
        finally:
            self._waiting -= 1
            del self._running[key]
        self._remember(key, result)
        return result

    def _remember(self, key: tuple[int, str], result: _Peaks) -> None:
        self._cache[key] = result
        self._cached_bytes += result.peaks.nbytes
        while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= dropped.peaks.nbytes

    def _compute(self, storage_key: str, size: int) -> _Peaks:
        reader = self.storage.open_sync(storage_key)
        try:
            peaks, duration = window_peaks(reader, size)
        finally:
            reader.close()
        return _Peaks(duration, peaks)
