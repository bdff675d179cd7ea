"""Rebuild at scale (issue 19, item 6): how long a stateless Lite on an S3 bucket holding 10,000
recordings takes from its process start until it is ready and lists a user's recordings in full.

    python bench/rebuild_scale.py                      # 10,000 recordings of 100 users, on moto
    python bench/rebuild_scale.py --server s3rver      # the same on s3rver (Node.js, on disk)
    python bench/rebuild_scale.py --recordings 1000    # a smoke run
    python bench/run.py --only rebuild                 # as a phase of the benchmark (--quick: 1,000)

1. An S3 server on 127.0.0.1: moto (`python -m moto.server`, as bench/phase_minio.py) or s3rver
   (tests/s3rver, which verifies signatures and keeps objects on disk).
2. A first Lite (`STORAGE_BACKEND=s3`) makes the users and their API keys through the admin API, so
   `users/` and `api-keys/` are Lite's own; it is stopped before the recordings are written.
3. The recordings are written straight into the bucket with boto3 from a thread pool, laid out by
   Lite's own code (lite.catalog.keys.media_key, lite.catalog.layout.manifest_bytes): per recording
   one small WAV object, then its manifest (Lite's write order), spread round-robin over the users.
4. A second Lite with an EMPTY data directory (stateless: the index is rebuilt from the bucket) is
   started; the clock runs from its spawn until /readyz answers 200 and `GET /recordings` of a
   user gives that user's full count (then every user's count is checked). Its CPU seconds and
   peak RSS (process tree, /proc), the storage operations it counted (`GET /metrics`), the S3
   requests the server logged (moto only) and the S3 server's own CPU over the same interval are
   recorded; then the reconcile pass that follows a start (lite.catalog.reconcile) is waited for.
5. For comparison, the same reads straight from the S3 server with boto3 (list everything, GET
   every user, key and manifest with 32 threads): what any client pays the test server, so whether
   Lite or the test server is the bottleneck shows.

Results: bench/results/rebuild.json and rebuild.md. Everything started is stopped when the script
ends, fails, is interrupted or reaches --time-limit; the temporary data is deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

import harness
from harness import free_port, http_json, log, spawn, wait_for_port
from procstats import RssSampler, cpu_seconds, status_kib
from servers import ADMIN_TOKEN, LiteServer, Moto, Service

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
S3RVER_DIR = REPO / "tests" / "s3rver"
BUCKET = "bench-rebuild"
ACCESS_KEY = SECRET_KEY = "testing"  # what moto and tests/s3rver/serve.js accept
TARGET_SECONDS = 60.0
WRITE_THREADS = 16
DIRECT_THREADS = 32  # as lite.catalog.manifests.PARALLEL_READS
POLL_SECONDS = 0.2  # /readyz asks the store too (a HEAD): not too often
MEDIA_BYTES = 4096  # each recording's media object: a WAV header and silence
# werkzeug's access log line of each request moto answers
MOTO_REQUEST = re.compile(rb'"(GET|PUT|POST|HEAD|DELETE) [^"]*" \d{3} ')


# the S3 servers


@dataclass
class S3rver(Service):
    """tests/s3rver (the 20minutes fork of s3rver): Node.js, objects on disk, SigV4 verified."""

    log_path: Path
    directory: Path
    stop_timeout: ClassVar[float] = 10.0

    def start(self) -> S3rver:
        bundled = next(iter(S3RVER_DIR.glob("node_modules/node-linux-*/bin/node")), None)
        node = str(bundled) if bundled else "node"
        if not (S3RVER_DIR / "node_modules" / "@20minutes" / "s3rver").is_dir():
            raise RuntimeError(
                "s3rver is not installed: ./scripts/test.sh installs it (npm ci in tests/s3rver)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        args = [node, "serve.js", str(self.directory), str(self.port), ACCESS_KEY, SECRET_KEY]
        self.proc = spawn(args, self.log_path, cwd=S3RVER_DIR)
        wait_for_port(self.port, self.proc)
        return self


class DelayProxy:
    """A TCP relay to the S3 server that holds each request `delay` seconds before passing it on:
    the round trip of a store over a network (10-50 ms), which moto on loopback does not have. Only
    for moto (its signatures are not checked: the Host header names the relay's port)."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port, self.delay, self.port = target_port, delay, 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("the delay relay did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
            try:
                while data := await src.read(65536):
                    if delay:
                        await asyncio.sleep(delay)
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, self.delay), pump(up_reader, writer, 0.0))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def s3_client(url: str, threads: int) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        max_pool_connections=threads,
        retries={"total_max_attempts": 5, "mode": "standard"},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=config,
    )


def moto_requests(log_path: Path, since: int = 0) -> int:
    """Requests moto logged after byte `since` of its log (0 when it is not moto's log)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(since)
            return len(MOTO_REQUEST.findall(f.read()))
    except OSError:
        return 0


# the recordings, laid out by Lite's own code


def _lite_modules(repo: Path) -> tuple[Any, Any, Any]:
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from lite.catalog import keys, layout
    from lite.ids import new_id

    return keys, layout, new_id


def wav_bytes(size: int) -> bytes:
    """A 16 kHz mono 16-bit WAV of silence, `size` bytes in all."""
    data = size - 44
    header = b"RIFF" + struct.pack("<I", 36 + data) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data)
    return header + bytes(data)


def write_recordings(client: Any, repo: Path, users: list[int], count: int) -> dict[int, int]:
    """`count` recordings (media object, then manifest) round-robin over `users`; per user count."""
    keys, layout, new_id = _lite_modules(repo)
    body = wav_bytes(MEDIA_BYTES)
    digest = hashlib.sha256(body).hexdigest()
    base = time.time() - count  # a second apart, the newest a second ago
    per_user: dict[int, int] = dict.fromkeys(users, 0)

    def one(i: int) -> None:
        user_id = users[i % len(users)]
        recording_id, media_id = new_id(), new_id()
        session_uid = f"rebuild-{i:06d}"
        key = keys.media_key(user_id, recording_id, session_uid, "audio", "wav")
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i)) + ".000000+00:00"
        recording = {
            "id": recording_id,
            "user_id": user_id,
            "session_uid": session_uid,
            "meeting_id": None,
            "source": "upload",
            "status": "completed",
            "created_at": at,
            "completed_at": at,
            "updated_at": at,
            "title": f"Rebuild bench {i}",
        }
        media = {
            "id": media_id,
            "recording_id": recording_id,
            "type": "audio",
            "format": "wav",
            "content_type": "audio/wav",
            "storage_backend": "s3",
            "storage_key": key,
            "file_size_bytes": len(body),
            "duration_seconds": (len(body) - 44) / 32000,
            "sha256": digest,
            "created_at": at,
            "updated_at": at,
            "extra": json.dumps({"sample_rate": 16000}),
            "state": "complete",
            "final_seq": None,
        }
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        manifest = layout.manifest_bytes(recording, [media])
        client.put_object(Bucket=BUCKET, Key=layout.manifest_key(user_id, recording_id), Body=manifest)

    for i in range(count):
        per_user[users[i % len(users)]] += 1
    done = 0
    with concurrent.futures.ThreadPoolExecutor(WRITE_THREADS) as pool:
        for future in concurrent.futures.as_completed(pool.submit(one, i) for i in range(count)):
            future.result()
            done += 1
            if done % 2000 == 0:
                log(f"rebuild: {done:,} of {count:,} recordings written")
    return per_user


# the measured start


def lite_env(port: int, data_dir: Path, s3_url: str, extra: dict[str, str]) -> dict[str, str]:
    """As servers.LiteServer.start, for STORAGE_BACKEND=s3 on the test server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STORAGE_", "MINIO_", "S3_", "LOCAL_STORAGE", "WORKERS", "AWS_"))
    }
    return env | {
        "DATA_DIR": str(data_dir),
        "ADMIN_API_TOKEN": ADMIN_TOKEN,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "info",  # the reconcile pass's summary is an info line
        "AWS_EC2_METADATA_DISABLED": "true",
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT": s3_url,
        "S3_BUCKET": BUCKET,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        **extra,
    }


def quick_get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    try:
        return http_json("GET", url, headers, timeout=timeout)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, None


def storage_operations(url: str) -> dict[str, int]:
    """lite_storage_operations_total by operation, from GET /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    counts: dict[str, int] = {}
    for match in re.finditer(r"^lite_storage_operations_total\{([^}]*)\} ([0-9.e+]+)$", text, re.M):
        operation = re.search(r'operation="([^"]+)"', match[1])
        if operation and float(match[2]):
            counts[operation[1]] = int(float(match[2]))
    return counts


def measure_start(
    ctx: Any,
    repo: Path,
    name: str,
    s3: Service,
    endpoint: str,
    s3_log: Path,
    per_user: dict[int, int],
    api_keys: dict[int, str],
    budget: float,
) -> dict[str, Any]:
    data_dir = ctx.tmp / f"data-rebuild-{name}"  # does not exist: an empty index
    log_path = ctx.tmp / f"lite-rebuild-{name}.log"
    port = free_port()
    env = lite_env(port, data_dir, endpoint, ctx.server_env)
    url = f"http://127.0.0.1:{port}"
    probe_user = next(iter(per_user))
    probe_headers = {"X-API-Key": api_keys[probe_user]}
    moto_since = s3_log.stat().st_size if s3_log.exists() else 0
    s3_cpu_before = cpu_seconds(s3.pid)

    started = time.monotonic()
    proc = spawn([sys.executable, "app.py"], log_path, cwd=repo, env=env)
    profiler = None
    if ctx.args.profile and name.endswith("-1"):
        from profiling import Profiler

        profiler = Profiler(proc.pid, ctx.out / f"profile-rebuild-{name}.txt", rate=100)
    result: dict[str, Any] = {"progress": []}
    with RssSampler(proc.pid, interval=0.05) as rss:
        wait_for_port(port, proc, timeout=budget)
        result["listening_s"] = time.monotonic() - started
        last_note = 0.0
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Lite exited with {proc.returncode} during the rebuild ({log_path})")
            status, body = quick_get(f"{url}/readyz")
            now = time.monotonic() - started
            if status == 200:
                result["ready_s"] = now
                break
            if now > budget:
                raise TimeoutError(f"not ready after {budget:.0f} s: {body}")
            if isinstance(body, dict) and (body.get("rebuild") or {}).get("error"):
                raise RuntimeError(
                    f"the rebuild failed (Lite tries again; this run stops): {body['rebuild']['error']}"
                )
            if isinstance(body, dict) and body.get("rebuild") and now - last_note >= 5:
                result["progress"].append({"s": round(now, 1), **body["rebuild"]})
                log(f"rebuild: {now:5.1f} s {body['rebuild']}")
                last_note = now
            time.sleep(POLL_SECONDS)
        while True:  # the acceptance: a user's listing has all of that user's recordings
            status, body = quick_get(f"{url}/recordings/?limit=1", probe_headers, timeout=60)
            now = time.monotonic() - started
            if status == 200 and body["total"] == per_user[probe_user]:
                result["full_count_s"] = now
                break
            if now > budget:
                raise TimeoutError(f"GET /recordings answered {status}: total {body and body.get('total')}")
            time.sleep(0.05)
        result["server_cpu_s"] = cpu_seconds(proc.pid)
        result["s3_server_cpu_s"] = cpu_seconds(s3.pid) - s3_cpu_before
        result["peak_rss_mib"] = max(status_kib(proc.pid, "VmHWM"), max(k for _, k in rss.samples)) / 1024
        result["storage_operations"] = storage_operations(url)
        result["s3_requests"] = moto_requests(s3_log, moto_since) if isinstance(s3, Moto) else None
    if profiler is not None:
        ctx.profiles[f"rebuild-{name}"] = profiler.finish()
        log(f"profile rebuild-{name}:\n{ctx.profiles[f'rebuild-{name}']}")

    # Every user's count (a few hundred ms), then the reconcile pass a start runs in the background.
    listed = 0
    for user_id, count in per_user.items():
        status, body = quick_get(f"{url}/recordings/?limit=1", {"X-API-Key": api_keys[user_id]}, 60)
        if status != 200 or body["total"] != count:
            raise RuntimeError(f"user {user_id}: GET /recordings answered {status}, {body}, wanted {count}")
        listed += count
    result["all_users_listed"] = listed
    t0, cpu0 = time.monotonic(), cpu_seconds(proc.pid)
    deadline = t0 + max(budget - (t0 - started), 30)
    line = None
    while time.monotonic() < deadline and line is None:
        line = next(
            (x for x in log_path.read_text(errors="replace").splitlines() if "reconciled storage" in x), None
        )
        time.sleep(0.2)
    result["reconcile"] = {
        "waited_s": time.monotonic() - t0,
        "server_cpu_s": cpu_seconds(proc.pid) - cpu0,
        "log": line.split("reconciled", 1)[-1].strip() if line else "not done in time",
    }
    result["storage_operations_after_reconcile"] = storage_operations(url)
    harness.stop(proc, timeout=30)
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


def direct_reads(s3_url: str, s3_pid: int, threads: int = DIRECT_THREADS) -> dict[str, Any]:
    """What a rebuild asks of the store, straight from boto3: list everything, then GET users, keys
    and manifests with `threads` threads; with the S3 server's CPU seconds for each part. The test
    server's own floor for Lite's rebuild, and whether the test server is saturated."""
    client = s3_client(s3_url, threads)
    started, cpu0 = time.monotonic(), cpu_seconds(s3_pid)
    keys: list[str] = []
    listed = 0
    for prefix in ("users/", "api-keys/", "recordings/"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for item in page.get("Contents", []):
                listed += 1
                if prefix != "recordings/" or item["Key"].endswith("/manifest.json"):
                    keys.append(item["Key"])
    list_s, list_cpu = time.monotonic() - started, cpu_seconds(s3_pid) - cpu0

    def get(key: str) -> int:
        return len(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    t0, cpu1 = time.monotonic(), cpu_seconds(s3_pid)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        read = sum(pool.map(get, keys))
    return {
        "objects_listed": listed,
        "list_s": list_s,
        "list_s3_cpu_s": list_cpu,
        "gets": len(keys),
        "bytes": read,
        "get_s": time.monotonic() - t0,
        "get_s3_cpu_s": cpu_seconds(s3_pid) - cpu1,
        "seconds": time.monotonic() - started,
    }


# the phase


def run(ctx: Any) -> None:
    """bench/run.py's phase `rebuild` (and this script's body)."""
    args = ctx.args
    count = getattr(args, "recordings", None) or (1000 if args.quick else 10_000)
    n_users = getattr(args, "users", None) or 100
    which = getattr(args, "server", None) or "moto"
    budget = float(getattr(args, "ready_limit", None) or 600)
    ctx.out.mkdir(parents=True, exist_ok=True)
    s3_log = ctx.tmp / f"{which}.log"
    s3: Service = (
        Moto(s3_log).start()
        if which == "moto"
        else S3rver(log_path=s3_log, directory=ctx.tmp / "s3rver").start()
    )
    client = s3_client(s3.url, WRITE_THREADS)
    client.create_bucket(Bucket=BUCKET)

    log(f"rebuild: {n_users} users and API keys through a first Lite on {which}")
    s3_env = {
        k: v for k, v in lite_env(0, Path(), s3.url, {}).items() if k.startswith(("STORAGE_", "S3_", "AWS_"))
    }
    seed = LiteServer(
        ctx.repo,
        ctx.tmp / "data-rebuild-seed",
        ctx.tmp / "lite-rebuild-seed.log",
        {**s3_env, **ctx.server_env},
    )
    seed.start()
    api_keys: dict[int, str] = {}
    for i in range(n_users):
        user_id, key = seed.new_user_key(f"rebuild-{i}@bench.example")
        api_keys[user_id] = key
    seed.stop()

    log(f"rebuild: writing {count:,} recordings ({MEDIA_BYTES} B media + manifest each) straight to {which}")
    t0 = time.monotonic()
    per_user = write_recordings(client, ctx.repo, list(api_keys), count)
    write_s = time.monotonic() - t0
    log(
        f"rebuild: written in {write_s:.1f} s ({2 * count / write_s:.0f} PUT/s);"
        " starting Lite on an empty data dir"
    )

    # Alternately with --compare's checkout, if any, on the same bucket: a burst of other load on a
    # shared machine then hits both sides.
    latency = float(getattr(args, "latency_ms", 0) or 0) / 1000
    proxy = DelayProxy(s3.port, latency) if latency else None
    endpoint = proxy.url if proxy else s3.url
    repos = {"main": ctx.repo} | (
        {"compare": compare.resolve()} if (compare := getattr(args, "compare", None)) else {}
    )
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in repos}
    for round_no in range(1, (getattr(args, "rounds", None) or 1) + 1):
        for side, repo in repos.items():
            m = measure_start(
                ctx, repo, f"{side}-{round_no}", s3, endpoint, s3_log, per_user, api_keys, budget
            )
            m["recordings_per_s"] = count / m["full_count_s"]
            runs[side].append(m)
            log(
                f"rebuild: {side} ({repo}) round {round_no}: ready {m['ready_s']:.1f} s,"
                f" full count {m['full_count_s']:.1f} s, CPU {m['server_cpu_s']:.1f} s"
            )
    log("rebuild: the same reads straight from the S3 server (boto3)")
    direct = direct_reads(endpoint, s3.pid)
    if proxy is not None:
        proxy.close()
    s3.stop()
    headline = sorted(runs["main"], key=lambda m: m["full_count_s"])[(len(runs["main"]) - 1) // 2]  # median
    result = {
        "server": which,
        "latency_ms": latency * 1000,
        "recordings": count,
        "users": n_users,
        "objects": 2 * count + 3 * n_users,
        "write_s": write_s,
        **headline,
        "direct": direct,
        "target_s": TARGET_SECONDS,
        "met": headline["full_count_s"] < TARGET_SECONDS,
        "repos": {side: str(repo) for side, repo in repos.items()},
        "runs": runs,
    }
    ctx.results["rebuild"] = result
    (ctx.out / "rebuild.json").write_text(json.dumps(result, indent=2, default=str))
    (ctx.out / "rebuild.md").write_text(markdown(result))
    log("rebuild:\n" + markdown(result))


def markdown(r: dict[str, Any]) -> str:
    ops = r["storage_operations"]
    d = r["direct"]
    rows = [
        ("seconds from process start to /readyz 200", f"{r['ready_s']:.1f}"),
        ("… to GET /recordings with the user's full count", f"{r['full_count_s']:.1f}"),
        ("recordings/s", f"{r['recordings_per_s']:,.0f}"),
        ("server CPU seconds (process tree, start to ready)", f"{r['server_cpu_s']:.1f}"),
        ("peak RSS, MiB", f"{r['peak_rss_mib']:.0f}"),
        ("storage operations (Lite's /metrics)", ", ".join(f"{k} {v:,}" for k, v in sorted(ops.items()))),
        ("S3 requests (moto's log)", "n/a" if r["s3_requests"] is None else f"{r['s3_requests']:,}"),
        (f"{r['server']} CPU seconds over the same time", f"{r['s3_server_cpu_s']:.1f}"),
        (
            f"direct: boto3 list + {d['gets']:,} GETs ({DIRECT_THREADS} threads), s",
            f"{d['seconds']:.1f} (listing {d['objects_listed']:,} objects: {d['list_s']:.1f})",
        ),
        (
            f"… {r['server']} CPU seconds: listing, GETs",
            f"{d['list_s3_cpu_s']:.1f} of {d['list_s']:.1f} s, {d['get_s3_cpu_s']:.1f} of {d['get_s']:.1f} s",
        ),
        (
            "reconcile pass after ready: s, server CPU s",
            f"{r['reconcile']['waited_s']:.1f}, "
            f"{r['reconcile']['server_cpu_s']:.1f} ({r['reconcile']['log']})",
        ),
    ]
    head = (
        f"## Rebuild at scale: {r['recordings']:,} recordings of {r['users']} users on {r['server']}"
        + (f" behind a {r['latency_ms']:.0f} ms relay" if r.get("latency_ms") else "")
        + f" (target < {r['target_s']:.0f} s: {'met' if r['met'] else 'missed'})\n\n"
        + (f"Median of {len(r['runs']['main'])} starts. " if len(r["runs"]["main"]) > 1 else "")
        + f"Storage writes: {r['objects']:,} objects in {r['write_s']:.0f} s.\n\n"
        + "| measurement | value |\n|---|---:|\n"
    )
    text = head + "".join(f"| {a} | {b} |\n" for a, b in rows)
    if len(r["runs"]) > 1 or len(r["runs"]["main"]) > 1:
        text += "\nEvery start (seconds to the full count / to ready, server CPU s, peak RSS MiB):\n\n"
        for side, runs in r["runs"].items():
            cells = ", ".join(
                f"{m['full_count_s']:.1f} / {m['ready_s']:.1f}, {m['server_cpu_s']:.1f}, "
                f"{m['peak_rss_mib']:.0f}"
                for m in runs
            )
            text += f"- {side} (`{r['repos'][side]}`): {cells}\n"
    return text


# standalone


class Deadline(BaseException):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGALRM:
        raise Deadline("--time-limit reached")
    raise SystemExit(128 + signum)


@dataclass
class Context:
    """What run() uses of bench/run.py's RunContext."""

    args: argparse.Namespace
    repo: Path
    out: Path
    tmp: Path
    server_env: dict[str, str]
    results: dict[str, Any]
    profiles: dict[str, str]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--server", choices=("moto", "s3rver"), default="moto")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--tmp", default=None, help="parent of the temporary directory")
    parser.add_argument("--keep-tmp", action="store_true")
    parser.add_argument("--profile", action="store_true", help="py-spy the server from its start until ready")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--rounds", type=int, default=1, help="starts measured (the median is reported)")
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="another checkout, started alternately with --repo on the same bucket",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="moto behind a relay that holds each request this long (a networked store)",
    )
    parser.add_argument("--ready-limit", type=float, default=600, help="seconds the start may take")
    parser.add_argument("--time-limit", type=int, default=1200, help="seconds for everything")
    args = parser.parse_args()
    args.quick = False
    ctx = Context(
        args,
        args.repo.resolve(),
        args.out.resolve(),
        Path(tempfile.mkdtemp(prefix="lite-rebuild-", dir=args.tmp)),
        dict(kv.split("=", 1) for kv in args.server_env),
        {},
        {},
    )
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    signal.alarm(args.time_limit)
    code = 1
    try:
        run(ctx)
        code = 0
    except Deadline as exc:
        log(str(exc))
    except Exception as exc:
        log(f"rebuild failed: {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        harness.stop_all()
        if args.keep_tmp:
            log(f"kept {ctx.tmp}")
        else:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
