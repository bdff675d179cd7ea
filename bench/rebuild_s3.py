"""The S3 servers the rebuild benchmark runs on, on 127.0.0.1: moto (servers.Moto) or s3rver
(tests/s3rver, which verifies signatures and keeps objects on disk), optionally behind a relay that
adds a network's round trip; a boto3 client for them, the requests moto logged, and the rebuild's
reads made straight from the server (what any client pays it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from harness import free_port, spawn, wait_for_port
from procstats import cpu_seconds
from servers import Service

REPO = Path(__file__).resolve().parent.parent
S3RVER_DIR = REPO / "tests" / "s3rver"
BUCKET = "bench-rebuild"
ACCESS_KEY = SECRET_KEY = "testing"  # what moto and tests/s3rver/serve.js accept
DIRECT_THREADS = 32  # as lite.catalog.manifests.PARALLEL_READS
# werkzeug's access log line of each request moto answers
MOTO_REQUEST = re.compile(rb'"(GET|PUT|POST|HEAD|DELETE) [^"]*" \d{3} ')


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
