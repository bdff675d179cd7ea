"""Process plumbing for the benchmark: free ports, the Lite server, nginx and moto as real
subprocesses, RSS sampling from /proc, and the external tools (curl, wrk, ffmpeg).

Every process started here is registered and ended by `stop_all()` (the run's finally block), by
its own process group id, so nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMIN_TOKEN = "bench-admin-token"
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


def ensure_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log("installing matplotlib with pip (the 'bench' extra of pyproject.toml)")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "matplotlib>=3.8"], check=True, timeout=600
        )


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


# the Lite server


@dataclass
class LiteServer:
    repo: Path
    data_dir: Path
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> LiteServer:
        """`python app.py` from the checkout, configured only through the environment."""
        self.port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("STORAGE_", "MINIO_", "S3_", "LOCAL_STORAGE", "WORKERS"))
        }
        env |= {
            "DATA_DIR": str(self.data_dir),
            "ADMIN_API_TOKEN": ADMIN_TOKEN,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "warning",
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.extra_env,
        }
        self.proc = spawn([sys.executable, "app.py"], self.log_path, cwd=self.repo, env=env)
        wait_for_port(self.port, self.proc, timeout)
        deadline = time.monotonic() + timeout
        while True:  # ready: index open and storage reachable (an empty index is rebuilt first)
            status, _ = http_json("GET", f"{self.url}/readyz", timeout=10)
            if status == 200:
                return self
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not become ready (readyz {status})")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=30)
            self.proc = None

    def new_user_key(self, email: str) -> tuple[int, str]:
        admin = {"X-Admin-API-Key": ADMIN_TOKEN}
        status, user = http_json("POST", f"{self.url}/admin/users", admin, {"email": email, "name": "Bench"})
        if status != 201:
            raise RuntimeError(f"POST /admin/users answered {status}: {user}")
        status, token = http_json("POST", f"{self.url}/admin/users/{user['id']}/tokens", admin)
        if status != 201:
            raise RuntimeError(f"POST /admin/users/{{id}}/tokens answered {status}: {token}")
        return int(user["id"]), str(token["token"])


# nginx, the reference


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /put/ {{
            root {tmp};
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    root: Path
    tmp: Path
    workers: str = "auto"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workers=self.workers, tmp=self.tmp, port=self.port, root=self.root))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = spawn([nginx, "-p", str(self.tmp), "-c", str(conf)], self.tmp / "stdout.log")
        wait_for_port(self.port, self.proc)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


# moto, the S3 endpoint for minio mode


@dataclass
class Moto:
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Moto:
        self.port = free_port()
        args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(args, self.log_path)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


# memory


def _tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn workers, if the server runs several)."""
    pids, frontier = [pid], [pid]
    while frontier:
        current = frontier.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
                pids.extend(children)
                frontier.extend(children)
    return pids


def status_kib(pid: int, field_name: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), summed over the process tree."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
                    break
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far (all threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def wait_idle(pid: int, busy_below: float = 0.1, timeout: float = 30.0) -> float:
    """Wait until the process tree uses less than `busy_below` of a core over 1 s (a backlog left by
    an overload has drained); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < busy_below:
            break
    return time.monotonic() - started


class RssSampler:
    """Samples the server's VmRSS every `interval` seconds in a thread; marks label phases."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, KiB)
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._t0, status_kib(self.pid, "VmRSS")))
            self._stop.wait(self.interval)

    def mark(self, label: str) -> None:
        self.marks.append((time.monotonic() - self._t0, label))

    def __enter__(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak_between(self, start: float, end: float) -> int:
        return max((kib for t, kib in self.samples if start <= t <= end), default=0)
