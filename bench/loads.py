"""Load generators: curl for whole transfers and time to first byte, wrk for concurrent Range
reads and page latency, boto3 for direct object reads. The same client serves both sides of every
comparison."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RANGE_LUA = BENCH_DIR / "range.lua"
MiB = 1024 * 1024
# curl's -w formats for a Transfer: bytes, seconds, HTTP status
DOWNLOAD_STATS = "%{size_download} %{time_total} %{http_code}"
UPLOAD_STATS = "%{size_upload} %{time_total} %{http_code}"


@dataclass
class Transfer:
    bytes: int
    seconds: float
    status: int

    @property
    def mib_s(self) -> float:
        return self.bytes / MiB / self.seconds if self.seconds > 0 else 0.0


def _header_args(headers: dict[str, str] | None) -> list[str]:
    args: list[str] = []
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    return args


def _curl(args: list[str], timeout: float) -> list[str]:
    """curl with the body thrown away; the fields its `-w` format printed."""
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return out.stdout.split()


def _transfer(fields: list[str]) -> Transfer:
    size, seconds, status = fields
    return Transfer(int(size), float(seconds), int(status))


def curl_download(
    url: str, headers: dict[str, str] | None = None, timeout: float = 300, follow: bool = False
) -> Transfer:
    """Fetch `url` to /dev/null; curl reports size and time itself (no process start-up counted).
    `follow`: through redirects, timed from the first request to the last byte."""
    args = ["-w", DOWNLOAD_STATS, *_header_args(headers), *(["-L"] if follow else []), url]
    return _transfer(_curl(args, timeout))


def curl_upload_form(
    url: str, path: Path, fields: dict[str, str], headers: dict[str, str], timeout: float = 600
) -> tuple[Transfer, Any]:
    """POST a multipart form (fields first, then the file), streamed from disk by curl."""
    args = ["curl", "-sS", "-o", "-", "-w", "\n" + UPLOAD_STATS]
    for name, value in fields.items():
        args += ["-F", f"{name}={value}"]
    args += ["-F", f"file=@{path}", *_header_args(headers), url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    body, _, stats = out.stdout.rpartition("\n")
    try:
        answer: Any = json.loads(body)
    except ValueError:
        answer = body
    return _transfer(stats.split()), answer


def curl_put(url: str, path: Path, timeout: float = 600) -> Transfer:
    return _transfer(_curl(["-T", str(path), "-w", UPLOAD_STATS, url], timeout))


def ttfb_ms(url: str, first: int, last: int, headers: dict[str, str] | None, count: int) -> list[float]:
    """Time to first byte of `Range: bytes=first-last`, `count` times, each on a new connection."""
    results: list[float] = []
    for _ in range(count):
        stats = "%{time_starttransfer} %{http_code}"
        seconds, status = _curl(["-r", f"{first}-{last}", "-w", stats, *_header_args(headers), url], 30)
        if status != "206":
            raise RuntimeError(f"Range request to {url} answered {status}")
        results.append(float(seconds) * 1000)
    return results


@dataclass
class WrkResult:
    requests: int
    duration_us: int
    bytes: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    connections: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def mib_s(self) -> float:
        return self.bytes / MiB / (self.duration_us / 1e6) if self.duration_us else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"rps": self.rps, "mib_s": self.mib_s}


def wrk(
    base_url: str,
    path: str,
    size: int,
    block: int,
    connections: int,
    seconds: float,
    threads: int = 2,
    header: tuple[str, str] | None = None,
) -> WrkResult:
    """wrk with range.lua: random `block`-byte Ranges of a `size`-byte file (block 0: plain GETs)."""
    args = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(RANGE_LUA),
        base_url,
        "--",
        path,
        str(size),
        str(block),
    ]
    if header:
        args += list(header)
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return WrkResult(
        requests=raw["requests"],
        duration_us=raw["duration_us"],
        bytes=raw["bytes"],
        errors=errors,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        connections=connections,
    )


def boto3_download(endpoint: str, bucket: str, key: str, block: int = MiB) -> Transfer:
    """Read an object straight from the S3 endpoint with boto3, in `block`-sized reads."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    started = time.perf_counter()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    total = 0
    while chunk := body.read(block):
        total += len(chunk)
    body.close()
    return Transfer(total, time.perf_counter() - started, 200)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def combine(rounds: list[WrkResult], cpu_seconds: float) -> dict[str, Any]:
    """Several wrk rounds of one side: totals add up, percentiles are the rounds' median."""
    requests = sum(r.requests for r in rounds)
    duration = sum(r.duration_us for r in rounds) / 1e6
    return {
        "rounds": [r.as_dict() for r in rounds],
        "requests": requests,
        "errors": sum(r.errors for r in rounds),
        "rps": requests / duration if duration else 0.0,
        "mib_s": sum(r.bytes for r in rounds) / MiB / duration if duration else 0.0,
        "p50_ms": median([r.p50_ms for r in rounds]),
        "p90_ms": median([r.p90_ms for r in rounds]),
        "p99_ms": median([r.p99_ms for r in rounds]),
        "max_ms": max(r.max_ms for r in rounds),
        "connections": rounds[0].connections,
        "cpu_us_per_request": cpu_seconds / requests * 1e6 if requests else float("nan"),
    }
