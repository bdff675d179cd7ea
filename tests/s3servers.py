"""S3 HTTP servers for the tests, each in its own process on loopback: moto (Python) and s3rver
(Node.js; the 20minutes fork, which verifies SigV4 signatures of headers and presigned URLs, as
real stores do: moto accepts any signature). And a loopback proxy that makes a store behave like
those that send the whole object's checksum with a ranged answer.
"""

from __future__ import annotations

import base64
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

S3RVER_DIR = Path(__file__).resolve().parent / "s3rver"
KEY_ID = SECRET = "testing"  # the credentials both servers accept


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@contextmanager
def serving(command: list[str], port: int, cwd: Path | None = None) -> Iterator[str]:
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def moto() -> Iterator[str]:
    port = free_port()
    with serving([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port) as url:
        yield url


def node() -> str:
    """Node.js 20 or newer: the system's, or the one tests/s3rver holds where the system's is older."""
    bundled = next(iter(S3RVER_DIR.glob("node_modules/node-linux-*/bin/node")), None)
    found = str(bundled) if bundled else shutil.which("node")
    if not found or not (S3RVER_DIR / "node_modules" / "@20minutes" / "s3rver").is_dir():
        raise RuntimeError("s3rver is not installed: run ./scripts/test.sh, which installs it (npm ci)")
    return found


def s3rver() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="s3rver-") as directory:
        command = [node(), "serve.js", directory, str(port), KEY_ID, SECRET]
        with serving(command, port, cwd=S3RVER_DIR) as url:
            yield url


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}


class PassThrough:
    """A pass-through proxy to a store, for stores that answer differently. Requests pass unchanged
    (the Host header included), so signatures hold; subclasses change the answers."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
                headers.append(("Host", self.headers["Host"]))
                answer = httpx.request(self.command, proxy.upstream + self.path, headers=headers,
                                       content=body, timeout=30)  # fmt: skip
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP | {"content-length", "content-encoding"}:
                        self.send_header(name, value)
                for name, value in proxy.extra_headers(self.command, answer):
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    sent = proxy.body(self.command, answer)
                    self.wfile.write(sent)
                    self.close_connection = self.close_connection or len(sent) < len(answer.content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def extra_headers(self, command: str, answer: httpx.Response) -> list[tuple[str, str]]:
        return []

    def body(self, command: str, answer: httpx.Response) -> bytes:
        return answer.content

    def close(self) -> None:
        self.httpd.shutdown()


class ChecksumOnRanges(PassThrough):
    """Adds, to every ranged GET's answer, the CRC32 of `whole_object` (set by the test), as some
    S3-compatible stores send the full object's checksum with a part of it."""

    whole_object = b""

    def extra_headers(self, command: str, answer: httpx.Response) -> list[tuple[str, str]]:
        if command != "GET" or answer.status_code != 206:
            return []
        crc = zlib.crc32(self.whole_object).to_bytes(4, "big")
        return [("x-amz-checksum-crc32", base64.b64encode(crc).decode())]


class BreaksOffLongAnswers(PassThrough):
    """Sends only the first `cut_after` bytes of a longer GET answer (its head still promises them
    all), then closes the connection: a store that fails in the middle of a download."""

    def __init__(self, upstream: str, cut_after: int) -> None:
        super().__init__(upstream)
        self.cut_after = cut_after

    def body(self, command: str, answer: httpx.Response) -> bytes:
        return answer.content[: self.cut_after] if command == "GET" else answer.content


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
