"""Measurements 1-4 and ingestion: the local backend against nginx serving the very file Lite
stored. Full downloads, random Ranges (wrk), time to first byte, and the server's RSS while a
larger file goes up and down; the 1 GiB upload itself against an nginx WebDAV PUT."""

from __future__ import annotations

import hashlib
import time
import urllib.request

import loads
import procstats
from context import BLOCK, RunContext
from harness import log
from loads import MiB, median
from procstats import CpuMeter, RssSampler
from servers import LiteServer, Nginx
from testfiles import make_wav

RANGE_CONNECTIONS = 64


def run(ctx: RunContext) -> None:
    plan = ctx.plan
    big = make_wav(ctx.tmp / "bench-1g.wav", plan.file_bytes)
    server = ctx.lite("local").start()
    user_id, key = server.new_user_key("local@bench.example")
    auth = {"X-API-Key": key}
    log(f"uploading {plan.file_bytes // MiB} MiB through POST /recordings")
    with CpuMeter(server.pid) as upload_cpu:
        up, answer = server.upload(key, big, "bench-1g")
    rid, mid = answer["id"], answer["media_files"][0]["id"]
    storage_root = server.data_dir / "recordings"  # LOCAL_STORAGE_DIR's default
    object_key = f"recordings/{user_id}/{rid}/bench-1g.wav"  # the backend's key for it
    stored = storage_root / object_key
    if stored.stat().st_size != plan.file_bytes:
        raise RuntimeError(f"{stored} is not the uploaded file")
    raw_path = f"/recordings/{rid}/media/{mid}/raw"
    raw = f"{server.url}{raw_path}"

    nginx = Nginx(root=storage_root, tmp=ctx.tmp / "nginx").start()
    ngx_path = f"/{object_key}"
    ngx = f"{nginx.url}{ngx_path}"
    with CpuMeter(nginx.pid) as put_cpu:
        put = loads.curl_put(f"{nginx.url}/put/bench-1g.wav", big)
    (ctx.tmp / "nginx" / "put" / "bench-1g.wav").unlink(missing_ok=True)
    gib = plan.file_bytes / 1024**3
    ctx.results["upload"] = {
        "bytes": plan.file_bytes,
        "lite_mib_s": up.mib_s,
        "nginx_put_mib_s": put.mib_s,
        "lite_cpu_s_per_gib": upload_cpu.seconds / gib,
        "nginx_cpu_s_per_gib": put_cpu.seconds / gib,
        "fsync": ctx.server_env.get("LOCAL_STORAGE_FSYNC", "true"),
    }
    check_same_bytes(raw, auth, ngx, plan.file_bytes)

    # Lite and nginx alternate, round by round, so a burst of background load hits both.
    log("1. full downloads, Lite and nginx alternately")
    sides = {"lite": (raw, auth), "nginx": (ngx, None)}
    runs: dict[str, list[float]] = {"lite": [], "nginx": []}
    cpu = {"lite": CpuMeter(server.pid), "nginx": CpuMeter(nginx.pid)}
    with ctx.profiled("download", server.pid):
        for _ in range(plan.downloads):
            for side, (url, headers) in sides.items():
                with cpu[side]:
                    t = loads.curl_download(url, headers)
                if t.bytes != plan.file_bytes or t.status != 200:
                    raise RuntimeError(f"download of {url}: HTTP {t.status}, {t.bytes} bytes")
                runs[side].append(t.mib_s)
    gib = plan.downloads * plan.file_bytes / 1024**3
    ctx.results["download"] = {
        "bytes": plan.file_bytes,
        "lite_runs": runs["lite"],
        "nginx_runs": runs["nginx"],
        "lite": median(runs["lite"]),
        "nginx": median(runs["nginx"]),
        "lite_cpu_s_per_gib": cpu["lite"].seconds / gib,
        "nginx_cpu_s_per_gib": cpu["nginx"].seconds / gib,
    }

    log("2. random 256 KiB Ranges, 64 connections (wrk), Lite and nginx alternately")
    size = plan.file_bytes
    targets = {
        "lite": (server.url, raw_path, ("X-API-Key", key)),
        "nginx": (nginx.url, ngx_path, None),
    }
    rounds: dict[str, list[loads.WrkResult]] = {"lite": [], "nginx": []}
    cpu = {"lite": CpuMeter(server.pid), "nginx": CpuMeter(nginx.pid)}
    for base, path, header in targets.values():
        loads.wrk(base, path, size, BLOCK, RANGE_CONNECTIONS, plan.warmup_seconds, header=header)
    with ctx.profiled("range", server.pid):
        for _ in range(plan.range_rounds):
            for side, (base, path, header) in targets.items():
                with cpu[side]:
                    result = loads.wrk(
                        base, path, size, BLOCK, RANGE_CONNECTIONS, plan.range_seconds, header=header
                    )
                rounds[side].append(result)
    ctx.results["range"] = {side: loads.combine(rounds[side], cpu[side].seconds) for side in rounds}

    log("3. time to first byte of a Range at the end of the file")
    first, last = size - BLOCK, size - 1
    lite_ttfb = loads.ttfb_ms(raw, first, last, auth, plan.ttfb_count)
    ngx_ttfb = loads.ttfb_ms(ngx, first, last, None, plan.ttfb_count)
    ctx.results["ttfb"] = {
        "range": f"bytes={first}-{last}",
        "lite_ms": lite_ttfb,
        "nginx_ms": ngx_ttfb,
        "lite": median(lite_ttfb),
        "nginx": median(ngx_ttfb),
    }
    nginx.stop()

    rss(ctx, server, key)
    server.stop()
    big.unlink(missing_ok=True)


def check_same_bytes(raw: str, auth: dict[str, str], ngx: str, size: int) -> None:
    """Both servers answer the same Range with the same bytes."""
    first = size // 3 + 12345
    spec = f"bytes={first}-{first + BLOCK - 1}"
    digests = []
    for url, headers in ((raw, auth), (ngx, {})):
        request = urllib.request.Request(url, headers={**headers, "Range": spec})
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 206:
                raise RuntimeError(f"{url} answered {response.status} to {spec}")
            digests.append(hashlib.sha256(response.read()).hexdigest())
    if digests[0] != digests[1]:
        raise RuntimeError("Lite and nginx answered the same Range with different bytes")


def rss(ctx: RunContext, server: LiteServer, key: str) -> None:
    """4: VmRSS of the server sampled while a file larger than the first is uploaded, then downloaded."""
    size = ctx.plan.rss_file_bytes
    log(f"4. resident memory while uploading, then downloading, {size // MiB} MiB")
    path = make_wav(ctx.tmp / "bench-rss.wav", size)
    time.sleep(0.5)
    with RssSampler(server.pid) as sampler:
        time.sleep(0.5)
        baseline = procstats.status_kib(server.pid, "VmRSS")
        sampler.mark("upload")
        _, answer = server.upload(key, path, "bench-rss")
        sampler.mark("download")
        rid, mid = answer["id"], answer["media_files"][0]["id"]
        got = loads.curl_download(f"{server.url}/recordings/{rid}/media/{mid}/raw", {"X-API-Key": key})
        if got.bytes != size:
            raise RuntimeError(f"the {size}-byte download returned {got.bytes} bytes")
        sampler.mark("done")
        time.sleep(0.5)
    marks = dict((label, t) for t, label in sampler.marks)
    ctx.results["rss"] = {
        "bytes": size,
        "baseline_kib": baseline,
        "peak_upload_kib": sampler.peak_between(marks["upload"], marks["download"]),
        "peak_download_kib": sampler.peak_between(marks["download"], marks["done"]),
        "after_kib": sampler.samples[-1][1],
        "vmhwm_kib": procstats.status_kib(server.pid, "VmHWM"),
        "samples": [(round(t, 3), kib) for t, kib in sampler.samples[::5]],
        "marks": sampler.marks,
    }
    path.unlink(missing_ok=True)
