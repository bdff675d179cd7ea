"""Process plumbing for the benchmark: the external tools (curl, wrk, nginx, ffmpeg, matplotlib),
free ports, child processes and stdlib-only JSON requests. The servers themselves are in
servers.py, what they use from /proc in procstats.py.

Every process started here is registered and ended by `stop_all()` (the run's finally block), by
its own process group id, so nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

_STARTED: list[subprocess.Popen[bytes]] = []


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# tools


def ensure_tools(tools: dict[str, str]) -> None:
    """Install missing command-line tools (command -> Debian package) with apt-get."""
    missing = sorted({package for command, package in tools.items() if shutil.which(command) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"missing {', '.join(missing)}: install them (apt-get install {' '.join(missing)})")
    log(f"installing {', '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, timeout=600)


BENCH_PACKAGES = {"matplotlib": "matplotlib>=3.8", "uvloop": "uvloop>=0.19"}  # pyproject's 'bench' extra


def ensure_bench_packages() -> None:
    missing = [spec for module, spec in BENCH_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        log(f"installing with pip (the 'bench' extra of pyproject.toml): {' '.join(missing)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True, timeout=600)


# ports and processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def spawn(args: list[str], log_path: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child in its own process group (so it and its children can be ended together)."""
    out = open(log_path, "ab")  # noqa: SIM115 - owned by the child from here on
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
    out.close()
    _STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the child's process group, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    # Workers left in the group after the leader exited (nginx, uvicorn workers).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc in _STARTED:
        _STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(reversed(_STARTED)):
        with contextlib.suppress(Exception):
            stop(proc, timeout=5)


# HTTP control requests (stdlib only, so nothing here depends on the server's own client libraries)


def http_json(
    method: str, url: str, headers: dict[str, str] | None = None, body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")
