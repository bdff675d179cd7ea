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
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import log
from rebuild_recordings import MEDIA_BYTES, WRITE_THREADS, write_recordings
from rebuild_report import markdown
from rebuild_s3 import BUCKET, DelayProxy, S3rver, direct_reads, s3_client
from rebuild_start import lite_env, measure_start
from servers import LiteServer, Moto, Service
from standalone import run_standalone

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TARGET_SECONDS = 60.0


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

    def body() -> int:
        run(ctx)
        return 0

    def failed(exc: Exception) -> None:
        log(f"rebuild failed: {type(exc).__name__}: {exc}")

    run_standalone(body, time_limit=args.time_limit, tmp=ctx.tmp, keep_tmp=args.keep_tmp, on_error=failed)


if __name__ == "__main__":
    main()
