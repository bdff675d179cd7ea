"""Simulated meeting bots: N bots, each POSTing one chunk to /internal/recordings/upload every
`interval` seconds (Vexa's bot contract: multipart `file` + `metadata` JSON).

Run as its own process by run.py (so its event loop competes with nobody in the orchestrator):
    python bench/bots.py --port P --key K --bots N --rounds R --pieces DIR --prefix S
Prints one JSON line: latency percentiles of the acknowledgements, errors, and how late the client
itself started requests (a client that falls behind would inflate the latencies it reports).

Bot i starts at i/N of the interval, so requests arrive evenly; each request uses a new connection
(a bot idle for 10 s has lost its keep-alive connection anyway). Latency is from connect to the
last byte of the answer.

Session mode (`--session-chunks 3-4`, issue 19): each bot is one meeting session of 3 to 4 chunks
of 16-160 KB (`--chunk-kb`), consecutive cuts of the real WebM stream (chunk 0 starts at byte 0,
so it carries the header, and the session's chunks assemble into a playable file), 10 s apart,
the last with `is_final: true`. A 503 or 429 with `Retry-After` is honoured: the bot waits that
long plus up to `--jitter` s and sends the same chunk again (a retry); anything else but a 201
(a timeout, a reset, a refused connection, another status) is an error, after which the chunk is
sent again up to twice (then the session is abandoned). After the load it polls /metrics until
`lite_finalize_queue` is 0 and lists `GET /recordings` until every session is one completed
recording with all its chunks (at most `--settle` s): the rest are lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import statistics
import time
from collections import Counter
from pathlib import Path

BOUNDARY = "lite-bench-7d1f0c"


def request_bytes(
    port: int, key: str, session_uid: str, seq: int, chunk: bytes, is_final: bool = False
) -> bytes:
    metadata = json.dumps(
        {
            "session_uid": session_uid,
            "media_type": "audio",
            "format": "webm",
            "chunk_seq": seq,
            "is_final": is_final,
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


# Session mode (issue 19): whole sessions that end with a final chunk, Retry-After honoured.


class Stage:
    """Where an exchange is, so a failure can say where it happened."""

    def __init__(self) -> None:
        self.name = "connect"
        self.send_failed = False  # the server answered (and closed) before taking the whole body


async def exchange(
    port: int, payload: bytes, timeout: float, stage: Stage
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers lower-cased, body). The answer is read even
    when sending failed: a server may answer (503) before reading the body, then close."""
    async with asyncio.timeout(timeout):
        stage.name = "connect"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            stage.name = "send"
            send_error: OSError | None = None
            try:
                writer.write(payload)
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError) as exc:
                send_error = exc
                stage.send_failed = True
            stage.name = "answer"
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError):
                if send_error is not None:
                    stage.name = "send"
                    raise send_error from None
                raise
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            return status, headers, body
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def error_kind(exc: BaseException, stage: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"timeout ({stage})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
        return f"reset ({stage})"
    if isinstance(exc, OSError):
        return f"OSError errno {exc.errno} ({stage})"
    return f"{type(exc).__name__} ({stage})"


async def http_get(port: int, path: str, key: str, timeout: float = 30.0) -> tuple[int, bytes]:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"
    status, _, body = await exchange(port, head.encode(), timeout, Stage())
    return status, body


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text: `name{labels}` -> value (labels kept as written)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


async def read_metrics(port: int, key: str) -> dict[str, float]:
    status, body = await http_get(port, "/metrics", key, timeout=10)
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}")
    return parse_metrics(body.decode())


def pct_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def histogram_quantile(metrics: dict[str, float], name: str, q: float) -> float:
    """Upper bound (s) of the bucket holding quantile q of a histogram, all labels summed."""
    buckets: dict[float, float] = {}
    for key, value in metrics.items():
        if key.startswith(name + "_bucket{"):
            le = key.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets or buckets.get(float("inf"), 0) == 0:
        return float("nan")
    total = buckets[float("inf")]
    for bound in sorted(buckets):
        if buckets[bound] >= q * total:
            return bound
    return float("inf")


async def run_sessions(args: argparse.Namespace) -> dict[str, object]:
    stream = b"".join(p.read_bytes() for p in sorted(Path(args.pieces).iterdir()))
    k_low, _, k_high = args.session_chunks.partition("-")
    k_min, k_max = int(k_low), int(k_high or k_low)
    lo_kb, _, hi_kb = args.chunk_kb.partition("-")
    size_min, size_max = int(lo_kb) * 1000, int(hi_kb or lo_kb) * 1000
    if k_max * size_max > len(stream):
        raise SystemExit(f"the stream ({len(stream)} bytes) is shorter than {k_max} chunks of {size_max}")
    n = args.bots
    accepted: list[float] = []  # seconds, the attempt that got its 201
    accepted_final: list[float] = []
    accepted_by_seq: dict[int, list[float]] = {}  # round 0 has no finalizing beside it; 2 and 3 do
    end_to_end: list[float] = []  # from the chunk's first attempt to its 201, Retry-After waits included
    refusal_latency: list[float] = []
    lags: list[float] = []
    refused: Counter[int] = Counter()
    no_retry_after: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    samples: dict[str, str] = {}
    retries_per_chunk: Counter[int] = Counter()
    late_starts = 0
    answered_before_body = 0  # an answer read although sending the body failed (an early 503)
    sessions: dict[str, dict[str, object]] = {}
    t0 = time.monotonic() + 1.0

    async def bot(i: int) -> None:
        nonlocal late_starts, answered_before_body
        rng = random.Random(f"{args.prefix}-{i}")
        k = rng.randint(k_min, k_max)
        sizes = [rng.randint(size_min, size_max) for _ in range(k)]
        uid = f"{args.prefix}-{i}"
        state: dict[str, object] = {"chunks": k, "bytes": sum(sizes), "ids": set(), "abandoned": False}
        sessions[uid] = state
        offset = 0
        start = t0 + (i / n) * args.interval
        for seq, size in enumerate(sizes):
            chunk, offset = stream[offset : offset + size], offset + size
            final = seq == k - 1
            payload = request_bytes(args.port, args.key, uid, seq, chunk, is_final=final)
            scheduled = start + seq * args.interval
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                lags.append(time.monotonic() - scheduled)
            else:
                late_starts += 1  # Retry-After waits of the chunk before pushed this one past its time
            first_try = time.monotonic()
            retries = failures = 0
            while True:
                stage = Stage()
                started = time.monotonic()
                try:
                    status, headers, body = await exchange(args.port, payload, args.timeout, stage)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    kind = error_kind(exc, stage.name)
                    errors[kind] += 1
                    samples.setdefault(kind, f"{type(exc).__name__}: {exc}"[:200])
                    failures += 1
                    if failures > 2:
                        state["abandoned"] = True
                        return
                    await asyncio.sleep(1.0 + rng.uniform(0, args.jitter))
                    continue
                elapsed = time.monotonic() - started
                answered_before_body += stage.send_failed
                if status == 201:
                    accepted.append(elapsed)
                    accepted_by_seq.setdefault(seq, []).append(elapsed)
                    if final:
                        accepted_final.append(elapsed)
                    end_to_end.append(time.monotonic() - first_try)
                    retries_per_chunk[retries] += 1
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        state["ids"].add(json.loads(body)["recording_id"])  # type: ignore[attr-defined]
                    break
                retry_after = headers.get("retry-after", "")
                if status in (503, 429) and retry_after.replace(".", "", 1).isdigit():
                    refused[status] += 1
                    refusal_latency.append(elapsed)
                    retries += 1
                    if retries > args.max_retries:
                        errors[f"gave up after {args.max_retries} retries"] += 1
                        state["abandoned"] = True
                        return
                    await asyncio.sleep(float(retry_after) + rng.uniform(0, args.jitter))
                    continue
                if status in (503, 429):
                    no_retry_after[status] += 1
                kind = f"HTTP {status}" + (" without Retry-After" if status in (503, 429) else "")
                errors[kind] += 1
                samples.setdefault(kind, body[:200].decode(errors="replace"))
                failures += 1
                if failures > 2:
                    state["abandoned"] = True
                    return
                await asyncio.sleep(1.0 + rng.uniform(0, args.jitter))

    queue_depth: list[tuple[float, float]] = []  # (s since t0, lite_finalize_queue)
    in_flight_max = 0.0
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        nonlocal in_flight_max
        while not stop_sampling.is_set():
            with contextlib.suppress(Exception):
                m = await read_metrics(args.port, args.key)
                queue_depth.append((time.monotonic() - t0, m.get("lite_finalize_queue", float("nan"))))
                in_flight_max = max(in_flight_max, m.get("lite_bot_chunks_in_flight", 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_sampling.wait(), 1.0)

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(bot(i) for i in range(n)))
    load_end = time.monotonic()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    stop_sampling.set()
    await sampler

    # After the load: the finalize queue drains, every session must be one completed recording.
    drained_s: float | None = None
    settled_s: float | None = None
    verdicts: dict[str, str] = {}
    deadline = load_end + args.settle
    while True:
        now = time.monotonic()
        if drained_s is None:
            with contextlib.suppress(Exception):
                m = await read_metrics(args.port, args.key)
                queue_depth.append((now - t0, m.get("lite_finalize_queue", float("nan"))))
                if m.get("lite_finalize_queue") == 0:
                    drained_s = now - load_end
        if drained_s is not None:
            verdicts = await check_sessions(args, sessions)
            if all(v in ("completed", "abandoned") for v in verdicts.values()):
                settled_s = time.monotonic() - load_end
                break
        if time.monotonic() > deadline:
            if drained_s is None or not verdicts:
                verdicts = await check_sessions(args, sessions)
            break
        await asyncio.sleep(1.0)
    end_metrics: dict[str, float] = {}
    with contextlib.suppress(Exception):
        end_metrics = await read_metrics(args.port, args.key)
    outcome = Counter(verdicts.values())
    completed = outcome.pop("completed", 0)
    finalize_count = sum(
        v for k_, v in end_metrics.items() if k_.startswith("lite_finalize_duration_seconds_count")
    )
    finalize_sum = sum(
        v for k_, v in end_metrics.items() if k_.startswith("lite_finalize_duration_seconds_sum")
    )
    chunks_planned = sum(int(s["chunks"]) for s in sessions.values())  # type: ignore[call-overload]
    return {
        "mode": "sessions",
        "bots": n,
        "sessions": n,
        "chunks_per_session": args.session_chunks,
        "chunk_kb": args.chunk_kb,
        "interval_s": args.interval,
        "chunks": chunks_planned,
        "requests": len(accepted) + sum(refused.values()) + sum(errors.values()),
        "accepted": len(accepted),
        "accepted_final": len(accepted_final),
        "p50_ms": pct_ms(accepted, 0.50),
        "p95_ms": pct_ms(accepted, 0.95),
        "p99_ms": pct_ms(accepted, 0.99),
        "max_ms": max(accepted) * 1000 if accepted else float("nan"),
        "final_p50_ms": pct_ms(accepted_final, 0.50),
        "final_p95_ms": pct_ms(accepted_final, 0.95),
        "final_p99_ms": pct_ms(accepted_final, 0.99),
        "p99_by_seq_ms": {seq: pct_ms(v, 0.99) for seq, v in sorted(accepted_by_seq.items())},
        "end_to_end_p99_ms": pct_ms(end_to_end, 0.99),
        "end_to_end_max_ms": max(end_to_end) * 1000 if end_to_end else float("nan"),
        "refused_503": refused[503],
        "refused_429": refused[429],
        "refusal_p99_ms": pct_ms(refusal_latency, 0.99),
        "answered_before_body": answered_before_body,
        "retries": sum(refused.values()),
        "chunks_retried": sum(v for r, v in retries_per_chunk.items() if r),
        "max_retries_one_chunk": max(retries_per_chunk, default=0),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "error_samples": [f"{kind}: {text}" for kind, text in samples.items()][:8],
        "abandoned": outcome.get("abandoned", 0),
        "completed": completed,
        "lost": n - completed,
        "lost_reasons": dict(outcome),
        "queue_max": max((q for _, q in queue_depth if q == q), default=float("nan")),
        "queue_drain_s": drained_s,
        "all_completed_s": settled_s,
        "in_flight_max": in_flight_max,
        "finalized": finalize_count,
        "finalize_mean_ms": finalize_sum / finalize_count * 1000 if finalize_count else float("nan"),
        "finalize_p99_bucket_s": histogram_quantile(end_metrics, "lite_finalize_duration_seconds", 0.99),
        "refused_total_metric": end_metrics.get("lite_bot_chunks_refused_total"),
        "load_s": load_end - t0,
        "late_starts": late_starts,
        "client_lag_p99_ms": pct_ms(lags, 0.99),
        "client_cpu_s": (cpu_after.ru_utime - cpu_before.ru_utime)
        + (cpu_after.ru_stime - cpu_before.ru_stime),
        "queue_depth": [(round(t, 1), q) for t, q in queue_depth],
    }


async def check_sessions(args: argparse.Namespace, sessions: dict[str, dict[str, object]]) -> dict[str, str]:
    """Each session's fate from GET /recordings (all pages): 'completed' when it is exactly one
    completed recording, the one its answers named, whose media has all the session's chunks."""
    found: dict[str, list[dict[str, object]]] = {}
    offset = 0
    while True:
        status, body = await http_get(args.port, f"/recordings/?limit=200&offset={offset}", args.key)
        if status != 200:
            raise RuntimeError(f"GET /recordings answered {status}: {body[:200]!r}")
        page = json.loads(body)
        for rec in page["recordings"]:
            if rec.get("session_uid") in sessions:
                found.setdefault(rec["session_uid"], []).append(rec)
        offset += len(page["recordings"])
        if not page["recordings"] or offset >= page["total"]:
            break
    verdicts = {}
    for uid, state in sessions.items():
        recs = found.get(uid, [])
        if state["abandoned"]:
            verdicts[uid] = "abandoned"
        elif not recs:
            verdicts[uid] = "no recording"
        elif len(recs) > 1:
            verdicts[uid] = "several recordings"
        elif recs[0]["status"] != "completed":
            verdicts[uid] = f"recording {recs[0]['status']}"
        elif state["ids"] != {recs[0]["id"]}:
            verdicts[uid] = "answers named another recording"
        else:
            media = [m for m in recs[0].get("media_files", []) if m.get("type") == "audio"]
            count = media[0].get("chunk_count") if media else None
            if not media:
                verdicts[uid] = "no audio media"
            elif count is not None and count != state["chunks"]:
                verdicts[uid] = "chunks missing"
            else:
                verdicts[uid] = "completed"
    return verdicts


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
    parser.add_argument(
        "--session-chunks", default="", help="session mode: chunks per session, N or MIN-MAX (e.g. 3-4)"
    )
    parser.add_argument("--chunk-kb", default="16-160", help="session mode: chunk sizes in KB, MIN-MAX")
    parser.add_argument(
        "--jitter", type=float, default=0.5, help="session mode: up to this much added to Retry-After"
    )
    parser.add_argument("--max-retries", type=int, default=60, help="session mode: Retry-Afters per chunk")
    parser.add_argument("--settle", type=float, default=120.0, help="session mode: wait for completion, s")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run_sessions(args) if args.session_chunks else run(args))
    else:
        result = uvloop.run(run_sessions(args) if args.session_chunks else run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
