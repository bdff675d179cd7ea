"""bots.py's original mode: N bots, each POSTing one chunk every `interval` seconds for `rounds`
rounds. Bot i starts at i/N of the interval, so requests arrive evenly; each request uses a new
connection (a bot idle for 10 s has lost its keep-alive connection anyway). Latency is from connect
to the last byte of the answer."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bot_http import one_request, request_bytes


async def run_rounds(args: argparse.Namespace) -> dict[str, object]:
    pieces = [p.read_bytes() for p in sorted(Path(args.pieces).iterdir())]
    latencies: list[float] = []
    lags: list[float] = []
    errors: list[str] = []
    t0 = time.monotonic() + 0.5

    async def bot(i: int) -> None:
        session = f"{args.prefix}-bot-{i}"
        for seq in range(args.rounds):
            scheduled = t0 + (i / args.bots + seq) * args.interval
            payload = request_bytes(args.port, args.key, session, seq, pieces[seq % len(pieces)])
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.monotonic()
            lags.append(started - scheduled)
            try:
                status, body = await one_request(args.port, payload, args.timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            latencies.append(time.monotonic() - started)
            if status != 201:
                errors.append(f"HTTP {status}: {body}")

    await asyncio.gather(*(bot(i) for i in range(args.bots)))
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "bots": args.bots,
        "requests": args.bots * args.rounds,
        "answered": len(latencies),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
        "client_lag_p99_ms": sorted(lags)[int(0.99 * (len(lags) - 1))] * 1000 if lags else float("nan"),
    }
