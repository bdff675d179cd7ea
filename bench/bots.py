"""Simulated meeting bots: N bots, each POSTing one chunk to /internal/recordings/upload every
`interval` seconds (Vexa's bot contract: multipart `file` + `metadata` JSON).

Run as its own process by run.py (so its event loop competes with nobody in the orchestrator):
    python bench/bots.py --port P --key K --bots N --rounds R --pieces DIR --prefix S
Prints one JSON line: latency percentiles of the acknowledgements, errors, and how late the client
itself started requests (a client that falls behind would inflate the latencies it reports).

Bot i starts at i/N of the interval, so requests arrive evenly; each request uses a new connection
(a bot idle for 10 s has lost its keep-alive connection anyway). Latency is from connect to the
last byte of the answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import time
from pathlib import Path

BOUNDARY = "lite-bench-7d1f0c"


def request_bytes(port: int, key: str, session_uid: str, seq: int, chunk: bytes) -> bytes:
    metadata = json.dumps(
        {
            "session_uid": session_uid,
            "media_type": "audio",
            "format": "webm",
            "chunk_seq": seq,
            "is_final": False,
        }
    )
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{metadata}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="chunk.webm"\r\n'
            f"Content-Type: audio/webm\r\n\r\n"
        ).encode()
        + chunk
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST /internal/recordings/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    return head + body


async def one_request(port: int, payload: bytes, timeout: float) -> tuple[int, str]:
    """Send one request on a new connection; (status, body excerpt)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(payload)
        await asyncio.wait_for(writer.drain(), timeout)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, body[:200].decode(errors="replace")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def run(args: argparse.Namespace) -> dict[str, object]:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--bots", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=2, help="chunks per bot")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a bot's chunks")
    parser.add_argument(
        "--pieces", required=True, help="directory of chunk files; the first is a WebM header"
    )
    parser.add_argument("--prefix", default="bench", help="session_uid prefix (one per step)")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args))
    else:
        result = uvloop.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
