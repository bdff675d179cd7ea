"""bots.py's session mode (issue 19): each bot is one meeting session of a few chunks, consecutive
cuts of the real WebM stream (chunk 0 starts at byte 0, so it carries the header, and the session's
chunks assemble into a playable file), `interval` s apart, the last with `is_final: true`.

A 503 or 429 with `Retry-After` is honoured: the bot waits that long plus up to `--jitter` s and
sends the same chunk again (a retry); anything else but a 201 (a timeout, a reset, a refused
connection, another status) is an error, after which the chunk is sent again up to twice (then the
session is abandoned). /metrics is sampled every second during the load; after it,
session_settle.py waits for every session to be one completed recording."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot_http import Stage, error_kind, exchange, read_metrics, request_bytes
from session_settle import SessionState, wait_until_settled
from session_summary import summary

FAILURES_BEFORE_ABANDON = 2  # a chunk that failed (not a Retry-After) is sent again this many times


@dataclass
class SessionLoad:
    """What the bots and the /metrics sampler saw during the load."""

    accepted: list[float] = field(default_factory=list)  # seconds, the attempt that got its 201
    accepted_final: list[float] = field(default_factory=list)
    accepted_by_seq: dict[int, list[float]] = field(default_factory=dict)  # round 0: no finalizing beside it
    end_to_end: list[float] = field(default_factory=list)  # first attempt to 201, Retry-After waits included
    refusal_latency: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    no_retry_after: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    retries_per_chunk: Counter[int] = field(default_factory=Counter)
    late_starts: int = 0
    answered_before_body: int = 0  # an answer read although sending the body failed (an early 503)
    sessions: dict[str, SessionState] = field(default_factory=dict)
    queue_depth: list[tuple[float, float]] = field(default_factory=list)  # (s since t0, finalize queue)
    in_flight_max: float = 0.0

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        self.samples.setdefault(kind, sample)


def span(text: str, unit: int) -> tuple[int, int]:
    """N or MIN-MAX (text) -> (min, max), times unit."""
    low, _, high = text.partition("-")
    return int(low) * unit, int(high or low) * unit


async def run_sessions(args: argparse.Namespace) -> dict[str, object]:
    stream = b"".join(p.read_bytes() for p in sorted(Path(args.pieces).iterdir()))
    chunks = span(args.session_chunks, 1)
    sizes = span(args.chunk_kb, 1000)
    if chunks[1] * sizes[1] > len(stream):
        raise SystemExit(f"the stream ({len(stream)} bytes) is shorter than {chunks[1]} chunks of {sizes[1]}")
    load = SessionLoad()
    t0 = time.monotonic() + 1.0
    stop_sampling = asyncio.Event()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler = asyncio.create_task(sample_metrics(args, load, t0, stop_sampling))
    await asyncio.gather(*(session_bot(args, load, stream, i, t0, chunks, sizes) for i in range(args.bots)))
    load_end = time.monotonic()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    stop_sampling.set()
    await sampler
    settled = await wait_until_settled(args, load.sessions, t0, load_end, load.queue_depth)
    end_metrics: dict[str, float] = {}
    with contextlib.suppress(Exception):
        end_metrics = await read_metrics(args.port, args.key)
    client_cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return summary(args, load, settled, end_metrics, load_end - t0, client_cpu_s)


async def session_bot(
    args: argparse.Namespace,
    load: SessionLoad,
    stream: bytes,
    i: int,
    t0: float,
    chunks: tuple[int, int],
    sizes: tuple[int, int],
) -> None:
    """Bot i: one session, its chunks `interval` s apart from i/N of the interval on."""
    rng = random.Random(f"{args.prefix}-{i}")
    k = rng.randint(*chunks)
    chunk_sizes = [rng.randint(*sizes) for _ in range(k)]
    uid = f"{args.prefix}-{i}"
    state: SessionState = {"chunks": k, "bytes": sum(chunk_sizes), "ids": set(), "abandoned": False}
    load.sessions[uid] = state
    offset = 0
    start = t0 + (i / args.bots) * args.interval
    for seq, size in enumerate(chunk_sizes):
        chunk, offset = stream[offset : offset + size], offset + size
        final = seq == k - 1
        payload = request_bytes(args.port, args.key, uid, seq, chunk, is_final=final)
        scheduled = start + seq * args.interval
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            load.lags.append(time.monotonic() - scheduled)
        else:
            load.late_starts += 1  # Retry-After waits of the chunk before pushed this one past its time
        if not await send_chunk(args, load, rng, state, seq, payload, final):
            state["abandoned"] = True
            return


async def send_chunk(
    args: argparse.Namespace,
    load: SessionLoad,
    rng: random.Random,
    state: SessionState,
    seq: int,
    payload: bytes,
    final: bool,
) -> bool:
    """Send one chunk until it gets its 201 (True), honouring Retry-After; False: give the session up."""
    first_try = time.monotonic()
    retries = failures = 0
    while True:
        stage = Stage()
        started = time.monotonic()
        try:
            status, headers, body = await exchange(args.port, payload, args.timeout, stage)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            load.error(error_kind(exc, stage.name), f"{type(exc).__name__}: {exc}"[:200])
        else:
            elapsed = time.monotonic() - started
            load.answered_before_body += stage.send_failed
            if status == 201:
                load.accepted.append(elapsed)
                load.accepted_by_seq.setdefault(seq, []).append(elapsed)
                if final:
                    load.accepted_final.append(elapsed)
                load.end_to_end.append(time.monotonic() - first_try)
                load.retries_per_chunk[retries] += 1
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    state["ids"].add(json.loads(body)["recording_id"])
                return True
            retry_after = headers.get("retry-after", "")
            if status in (503, 429) and retry_after.replace(".", "", 1).isdigit():
                load.refused[status] += 1
                load.refusal_latency.append(elapsed)
                retries += 1
                if retries > args.max_retries:
                    load.errors[f"gave up after {args.max_retries} retries"] += 1
                    return False
                await asyncio.sleep(float(retry_after) + rng.uniform(0, args.jitter))
                continue
            if status in (503, 429):
                load.no_retry_after[status] += 1
            kind = f"HTTP {status}" + (" without Retry-After" if status in (503, 429) else "")
            load.error(kind, body[:200].decode(errors="replace"))
        failures += 1
        if failures > FAILURES_BEFORE_ABANDON:
            return False
        await asyncio.sleep(1.0 + rng.uniform(0, args.jitter))


async def sample_metrics(args: argparse.Namespace, load: SessionLoad, t0: float, stop: asyncio.Event) -> None:
    """Every second until `stop`: the finalize queue's depth and the most bot chunks in flight."""
    while not stop.is_set():
        with contextlib.suppress(Exception):
            m = await read_metrics(args.port, args.key)
            load.queue_depth.append((time.monotonic() - t0, m.get("lite_finalize_queue", float("nan"))))
            load.in_flight_max = max(load.in_flight_max, m.get("lite_bot_chunks_in_flight", 0.0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
