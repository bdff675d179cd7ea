"""A level overview of a media file's audio, so the player can show where people talk.

Computed on the server with PyAV because the browser cannot: decoding a two-hour meeting with Web
Audio needs the whole file in memory (over a gigabyte of samples). Here the file is read as a stream
and decoded frame by frame in a worker thread; only one peak per 50 ms window is kept (144,000
floats for two hours), then folded into the requested number of buckets. Results are cached in
memory by media id and content hash, and one decode runs at a time so playback never starves.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import numpy as np
from anyio import to_thread

from lite.errors import Conflict, LiteError
from lite.index import Row
from lite.storage import Storage

WINDOW_SECONDS = 0.05
MAX_BUCKETS = 4000
CACHE_ENTRIES = 256


class NoAudioLevels(LiteError):
    status_code = 422


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


def window_peaks(reader: BinaryIO, window_seconds: float = WINDOW_SECONDS) -> tuple[np.ndarray, float]:
    """Peak |sample| of each window of the first audio stream, and the audio's duration in seconds."""
    try:
        container = av.open(reader, mode="r")
    except (av.FFmpegError, ValueError) as exc:
        raise NoAudioLevels(f"the file cannot be decoded ({_reason(exc)})") from None
    with container:
        if not container.streams.audio:
            raise NoAudioLevels("the file has no audio track")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate or 48000
        window = max(1, round(rate * window_seconds))
        # Mono float at the source rate: no resampling filter that would hide the speech band.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts: list[np.ndarray] = []
        carry = np.zeros(0, dtype=np.float32)
        samples = 0

        def take(frame: av.AudioFrame | None) -> None:
            nonlocal carry, samples
            for out in resampler.resample(frame):
                data = np.abs(out.to_ndarray().reshape(-1))
                samples += data.size
                data = np.concatenate((carry, data)) if carry.size else data
                full = data.size // window * window
                if full:
                    parts.append(data[:full].reshape(-1, window).max(axis=1))
                carry = data[full:]

        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    take(frame)
            take(None)  # flush the resampler
        except av.FFmpegError as exc:
            if not parts:
                raise NoAudioLevels(f"the audio cannot be decoded ({_reason(exc)})") from None
            # A damaged tail (a recording cut off mid-frame) still has a useful overview before it.
        if carry.size:
            parts.append(np.array([carry.max()], dtype=np.float32))
    peaks = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return peaks, samples / rate


def fold(peaks: np.ndarray, buckets: int) -> list[float]:
    """At most `buckets` values, each the maximum of a run of windows, rounded for a small answer."""
    if peaks.size == 0:
        return []
    edges = np.linspace(0, peaks.size, num=min(buckets, peaks.size) + 1).astype(int)
    folded = np.maximum.reduceat(peaks, edges[:-1])
    return [round(float(v), 3) for v in np.clip(folded, 0.0, 1.0)]


class Waveforms:
    def __init__(self, storage: Storage, cache_entries: int = CACHE_ENTRIES) -> None:
        self.storage = storage
        self._cache: OrderedDict[tuple[int, str, int], Levels] = OrderedDict()
        self._cache_entries = cache_entries
        self._running: dict[tuple[int, str, int], asyncio.Future[Levels]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)

    async def levels(self, media_row: Row, buckets: int) -> Levels:
        if media_row.get("state") == "receiving":
            raise Conflict("the level overview is computed once the recording is complete")
        key = (int(media_row["id"]), str(media_row.get("sha256") or media_row["updated_at"]), buckets)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if key in self._running:  # the same overview asked for twice at once: decode once
            return await asyncio.shield(self._running[key])
        future: asyncio.Future[Levels] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            async with self._one_at_a_time:
                result = await to_thread.run_sync(self._compute, media_row["storage_key"], buckets)
            future.set_result(result)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked as retrieved: any waiter re-raises it, nobody else needs it
            raise
        except BaseException:  # cancelled: a waiter retries rather than inherit the cancellation
            future.cancel()
            raise
        finally:
            del self._running[key]
        self._cache[key] = result
        if len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)
        return result

    def _compute(self, storage_key: str, buckets: int) -> Levels:
        reader = self.storage.open_sync(storage_key)
        try:
            peaks, duration = window_peaks(reader)
        finally:
            reader.close()
        return Levels(duration, fold(peaks, buckets))
