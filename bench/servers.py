"""The servers a run starts as real subprocesses: Lite under test (`python app.py`), nginx as the
reference, and moto as the S3 endpoint for minio mode. Each listens on a free port of 127.0.0.1
and is ended through harness.stop(), so stop_all() catches any a failing phase leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import loads
from harness import free_port, http_json, spawn, stop, wait_for_port
from loads import Transfer

ADMIN_TOKEN = "bench-admin-token"


@dataclass
class Service:
    """What the three servers share once started: their port, process, URL and how they stop."""

    _: KW_ONLY  # so subclasses can add fields without defaults
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    stop_timeout: ClassVar[float] = 15.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=self.stop_timeout)
            self.proc = None


# the Lite server


@dataclass
class LiteServer(Service):
    repo: Path
    data_dir: Path
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    stop_timeout: ClassVar[float] = 30.0

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

    def new_user_key(self, email: str) -> tuple[int, str]:
        admin = {"X-Admin-API-Key": ADMIN_TOKEN}
        status, user = http_json("POST", f"{self.url}/admin/users", admin, {"email": email, "name": "Bench"})
        if status != 201:
            raise RuntimeError(f"POST /admin/users answered {status}: {user}")
        status, token = http_json("POST", f"{self.url}/admin/users/{user['id']}/tokens", admin)
        if status != 201:
            raise RuntimeError(f"POST /admin/users/{{id}}/tokens answered {status}: {token}")
        return int(user["id"]), str(token["token"])

    def upload(self, key: str, path: Path, session_uid: str) -> tuple[Transfer, Any]:
        """POST /recordings of one file, as a client uploads a recording; (transfer, the answer)."""
        transfer, answer = loads.curl_upload_form(
            f"{self.url}/recordings/", path, {"session_uid": session_uid}, {"X-API-Key": key}
        )
        if transfer.status != 201:
            raise RuntimeError(f"POST /recordings answered {transfer.status}: {answer}")
        return transfer, answer


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
class Nginx(Service):
    root: Path
    tmp: Path
    workers: str = "auto"

    def start(self) -> Nginx:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workers=self.workers, tmp=self.tmp, port=self.port, root=self.root))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = spawn([nginx, "-p", str(self.tmp), "-c", str(conf)], self.tmp / "stdout.log")
        wait_for_port(self.port, self.proc)
        return self


# moto, the S3 endpoint for minio mode


@dataclass
class Moto(Service):
    log_path: Path

    def start(self) -> Moto:
        self.port = free_port()
        args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(args, self.log_path)
        wait_for_port(self.port, self.proc)
        return self
