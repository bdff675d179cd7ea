"""The rebuild benchmark's measured start: a Lite with an empty data directory on the bucket, timed
from its spawn until /readyz answers 200 and a user's listing has that user's full count; its CPU
seconds, peak RSS, storage operations and the S3 server's work over the same time; then every
user's count and the reconcile pass that follows a start."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import harness
from harness import free_port, http_json, log, spawn, wait_for_port
from procstats import RssSampler, cpu_seconds, status_kib
from rebuild_s3 import ACCESS_KEY, BUCKET, SECRET_KEY, moto_requests
from servers import ADMIN_TOKEN, Moto, Service

POLL_SECONDS = 0.2  # /readyz asks the store too (a HEAD): not too often


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
