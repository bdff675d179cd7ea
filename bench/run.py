"""Lite against nginx, side by side on loopback, in one run (issue 7).

    python bench/run.py            # the full run, about 10 minutes
    python bench/run.py --quick    # a smoke run with smaller files and shorter loads, under 3 minutes

Starts the server under test exactly as users run it (`python app.py`, configured by environment
variables), nginx (sendfile on) serving the very file the server stored, and moto as the S3
endpoint for minio mode; measures, writes bench/results/results.{json,md} and PNG charts, and
stops everything it started, also on errors, Ctrl-C or when the time limit is reached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import harness
import loads
from harness import LiteServer, Moto, Nginx, RssSampler, log
from loads import MiB, Transfer, median
from profiling import Profiler

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PHASES = ("local", "bots", "list", "minio")
TOOLS = {"curl": "curl", "wrk": "wrk", "nginx": "nginx", "ffmpeg": "ffmpeg"}
BLOCK = 256 * 1024
MINIO_RANGE_CONNECTIONS = 8


@dataclass(frozen=True)
class Plan:
    """Sizes and durations; --quick shrinks them all."""

    file_bytes: int
    rss_file_bytes: int
    minio_file_bytes: int
    downloads: int
    range_rounds: int
    range_seconds: float
    warmup_seconds: float
    ttfb_count: int
    list_rows: int
    list_seconds: float
    bot_levels: tuple[int, ...]
    bot_rounds: int
    bot_bisect: bool
    bot_budget_seconds: float
    minio_range_seconds: float

    @classmethod
    def full(cls) -> Plan:
        return cls(
            file_bytes=1024 * MiB,
            rss_file_bytes=2048 * MiB,
            minio_file_bytes=256 * MiB,
            downloads=5,
            range_rounds=2,
            range_seconds=10,
            warmup_seconds=2,
            ttfb_count=50,
            list_rows=1_000_000,
            list_seconds=5,
            bot_levels=(250, 500, 1000, 2000, 4000),
            bot_rounds=2,
            bot_bisect=True,
            bot_budget_seconds=240,
            minio_range_seconds=5,
        )

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            file_bytes=256 * MiB,
            rss_file_bytes=512 * MiB,
            minio_file_bytes=64 * MiB,
            downloads=2,
            range_rounds=1,
            range_seconds=3,
            warmup_seconds=1,
            ttfb_count=15,
            list_rows=100_000,
            list_seconds=2,
            bot_levels=(100, 400),
            bot_rounds=1,
            bot_bisect=False,
            bot_budget_seconds=40,
            minio_range_seconds=2,
        )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = Plan.quick() if args.quick else Plan.full()
        self.repo: Path = args.repo.resolve()
        self.out: Path = args.out.resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="lite-bench-", dir=args.tmp))
        self.server_env = dict(kv.split("=", 1) for kv in args.server_env)
        self.results: dict[str, Any] = {"quick": args.quick, "errors": {}}
        self.profiles: dict[str, str] = {}

    # helpers

    def lite(self, name: str, extra: dict[str, str] | None = None) -> LiteServer:
        data = self.tmp / f"data-{name}"
        return LiteServer(
            self.repo, data, self.tmp / f"lite-{name}.log", {**self.server_env, **(extra or {})}
        )

    def make_wav(self, path: Path, size: int) -> Path:
        """A WAV file of `size` bytes: a real 48 kHz stereo 16-bit header, random samples."""
        data_len = size - 44
        header = (
            b"RIFF"
            + (size - 8).to_bytes(4, "little")
            + b"WAVEfmt "
            + (16).to_bytes(4, "little")
            + (1).to_bytes(2, "little")
            + (2).to_bytes(2, "little")
            + (48000).to_bytes(4, "little")
            + (48000 * 4).to_bytes(4, "little")
            + (4).to_bytes(2, "little")
            + (16).to_bytes(2, "little")
            + b"data"
            + data_len.to_bytes(4, "little")
        )
        block = os.urandom(8 * MiB)
        with open(path, "wb") as f:
            f.write(header)
            left = data_len
            while left > 0:
                piece = block[: min(left, len(block))]
                f.write(piece)
                left -= len(piece)
                block = block[1:] + block[:1] if left > 0 else block  # no two blocks alike
        return path

    def profile(self, name: str, pid: int) -> Profiler | None:
        if not self.args.profile:
            return None
        return Profiler(pid, self.out / f"profile-{name}.txt")

    def finish_profile(self, name: str, profiler: Profiler | None) -> None:
        if profiler is not None:
            self.profiles[name] = profiler.finish()
            log(f"profile {name}:\n{self.profiles[name]}")

    def upload(self, server: LiteServer, key: str, path: Path, session_uid: str) -> tuple[Transfer, Any]:
        transfer, answer = loads.curl_upload_form(
            f"{server.url}/recordings/", path, {"session_uid": session_uid}, {"X-API-Key": key}
        )
        if transfer.status != 201:
            raise RuntimeError(f"POST /recordings answered {transfer.status}: {answer}")
        return transfer, answer

    # 1-4: the local backend against nginx

    def phase_local(self) -> None:
        plan = self.plan
        big = self.make_wav(self.tmp / "bench-1g.wav", plan.file_bytes)
        server = self.lite("local").start()
        user_id, key = server.new_user_key("local@bench.example")
        auth = {"X-API-Key": key}
        log(f"uploading {plan.file_bytes // MiB} MiB through POST /recordings")
        before = harness.cpu_seconds(server.pid)
        up, answer = self.upload(server, key, big, "bench-1g")
        upload_cpu = harness.cpu_seconds(server.pid) - before
        rid, mid = answer["id"], answer["media_files"][0]["id"]
        storage_root = server.data_dir / "recordings"  # LOCAL_STORAGE_DIR's default
        object_key = f"recordings/{user_id}/{rid}/bench-1g.wav"  # the backend's key for it
        stored = storage_root / object_key
        if stored.stat().st_size != plan.file_bytes:
            raise RuntimeError(f"{stored} is not the uploaded file")
        raw = f"{server.url}/recordings/{rid}/media/{mid}/raw"
        raw_path = f"/recordings/{rid}/media/{mid}/raw"

        nginx = Nginx(root=storage_root, tmp=self.tmp / "nginx").start()
        ngx_path = f"/{object_key}"
        ngx = f"{nginx.url}{ngx_path}"
        before = harness.cpu_seconds(nginx.pid)
        put = loads.curl_put(f"{nginx.url}/put/bench-1g.wav", big)
        put_cpu = harness.cpu_seconds(nginx.pid) - before
        (self.tmp / "nginx" / "put" / "bench-1g.wav").unlink(missing_ok=True)
        self.results["upload"] = {
            "bytes": plan.file_bytes,
            "lite_mib_s": up.mib_s,
            "nginx_put_mib_s": put.mib_s,
            "lite_cpu_s_per_gib": upload_cpu / (plan.file_bytes / 1024**3),
            "nginx_cpu_s_per_gib": put_cpu / (plan.file_bytes / 1024**3),
            "fsync": self.server_env.get("LOCAL_STORAGE_FSYNC", "true"),
        }
        self.check_same_bytes(raw, auth, ngx, plan.file_bytes)

        log("1. full downloads, Lite and nginx alternately")
        profiler = self.profile("download", server.pid)
        sides = {"lite": (raw, auth, server.pid), "nginx": (ngx, None, nginx.pid)}
        runs: dict[str, list[float]] = {"lite": [], "nginx": []}
        cpu: dict[str, float] = {"lite": 0.0, "nginx": 0.0}
        for _ in range(plan.downloads):
            for side, (url, headers, pid) in sides.items():
                before = harness.cpu_seconds(pid)
                t = loads.curl_download(url, headers)
                cpu[side] += harness.cpu_seconds(pid) - before
                if t.bytes != plan.file_bytes or t.status != 200:
                    raise RuntimeError(f"download of {url}: HTTP {t.status}, {t.bytes} bytes")
                runs[side].append(t.mib_s)
        self.finish_profile("download", profiler)
        gib = plan.downloads * plan.file_bytes / 1024**3
        self.results["download"] = {
            "bytes": plan.file_bytes,
            "lite_runs": runs["lite"],
            "nginx_runs": runs["nginx"],
            "lite": median(runs["lite"]),
            "nginx": median(runs["nginx"]),
            "lite_cpu_s_per_gib": cpu["lite"] / gib,
            "nginx_cpu_s_per_gib": cpu["nginx"] / gib,
        }

        log("2. random 256 KiB Ranges, 64 connections (wrk), Lite and nginx alternately")
        size = plan.file_bytes
        targets = {
            "lite": (server.url, raw_path, ("X-API-Key", key), server.pid),
            "nginx": (nginx.url, ngx_path, None, nginx.pid),
        }
        rounds: dict[str, list[loads.WrkResult]] = {"lite": [], "nginx": []}
        cpu = {"lite": 0.0, "nginx": 0.0}
        for base, path, header, _ in targets.values():
            loads.wrk(base, path, size, BLOCK, 64, plan.warmup_seconds, header=header)
        profiler = self.profile("range", server.pid)
        for _ in range(plan.range_rounds):
            for side, (base, path, header, pid) in targets.items():
                before = harness.cpu_seconds(pid)
                rounds[side].append(loads.wrk(base, path, size, BLOCK, 64, plan.range_seconds, header=header))
                cpu[side] += harness.cpu_seconds(pid) - before
        self.finish_profile("range", profiler)
        self.results["range"] = {side: loads.combine(rounds[side], cpu[side]) for side in rounds}

        log("3. time to first byte of a Range at the end of the file")
        first, last = size - BLOCK, size - 1
        lite_ttfb = loads.ttfb_ms(raw, first, last, auth, plan.ttfb_count)
        ngx_ttfb = loads.ttfb_ms(ngx, first, last, None, plan.ttfb_count)
        self.results["ttfb"] = {
            "range": f"bytes={first}-{last}",
            "lite_ms": lite_ttfb,
            "nginx_ms": ngx_ttfb,
            "lite": median(lite_ttfb),
            "nginx": median(ngx_ttfb),
        }
        nginx.stop()

        self.rss(server, key)
        server.stop()
        big.unlink(missing_ok=True)

    def check_same_bytes(self, raw: str, auth: dict[str, str], ngx: str, size: int) -> None:
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

    def rss(self, server: LiteServer, key: str) -> None:
        size = self.plan.rss_file_bytes
        log(f"4. resident memory while uploading, then downloading, {size // MiB} MiB")
        path = self.make_wav(self.tmp / "bench-rss.wav", size)
        time.sleep(0.5)
        with RssSampler(server.pid) as sampler:
            time.sleep(0.5)
            baseline = harness.status_kib(server.pid, "VmRSS")
            sampler.mark("upload")
            _, answer = self.upload(server, key, path, "bench-rss")
            sampler.mark("download")
            rid, mid = answer["id"], answer["media_files"][0]["id"]
            got = loads.curl_download(f"{server.url}/recordings/{rid}/media/{mid}/raw", {"X-API-Key": key})
            if got.bytes != size:
                raise RuntimeError(f"the {size}-byte download returned {got.bytes} bytes")
            sampler.mark("done")
            time.sleep(0.5)
        marks = dict((label, t) for t, label in sampler.marks)
        self.results["rss"] = {
            "bytes": size,
            "baseline_kib": baseline,
            "peak_upload_kib": sampler.peak_between(marks["upload"], marks["download"]),
            "peak_download_kib": sampler.peak_between(marks["download"], marks["done"]),
            "after_kib": sampler.samples[-1][1],
            "vmhwm_kib": harness.status_kib(server.pid, "VmHWM"),
            "samples": [(round(t, 3), kib) for t, kib in sampler.samples[::5]],
            "marks": sampler.marks,
        }
        path.unlink(missing_ok=True)

    # 5: bots

    def phase_bots(self) -> None:
        plan = self.plan
        pieces = self.webm_pieces()
        server = self.lite("bots").start()
        _, key = server.new_user_key("bots@bench.example")
        steps: list[dict[str, Any]] = []
        passed: int | None = None
        failed: int | None = None

        def step(n: int) -> bool:
            result = self.bot_step(server, key, pieces, n, f"s{len(steps)}")
            steps.append(result)
            ok = result["errors"] == 0 and result["p99_ms"] < 200
            log(
                f"5. {n} bots: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
                f"{result['errors']} errors, client lag p99 {result['client_lag_p99_ms']:.1f} ms, "
                f"server CPU {result['server_cpu_ms_per_request']:.2f} ms/request"
                f" -> {'ok' if ok else 'over'}"
            )
            return ok

        profiler = self.profile("bots", server.pid)
        deadline = time.monotonic() + plan.bot_budget_seconds
        retries = 2  # a failing level is run once more: another tenant's burst must not decide it

        def level_ok(n: int) -> bool:
            nonlocal retries
            if step(n):
                return True
            if retries and time.monotonic() < deadline:
                retries -= 1
                log(f"5. {n} bots once more")
                return step(n)
            return False

        for n in plan.bot_levels:
            if time.monotonic() > deadline:
                break
            if level_ok(n):
                passed = n
            else:
                failed = n
                break
        n = (failed or 0) // 2
        while passed is None and n >= 25 and time.monotonic() < deadline:  # even the first level failed
            if level_ok(n):
                passed = n
            else:
                failed, n = n, n // 2
        if (
            plan.bot_bisect
            and failed is not None
            and passed is not None
            and failed - passed > passed // 4
            and time.monotonic() < deadline
        ):
            middle = (passed + failed) // 2
            if level_ok(middle):
                passed = middle
            else:
                failed = middle
        self.finish_profile("bots", profiler)
        server.stop()
        self.results["bots"] = {
            "steps": steps,
            "max_ok": passed or 0,
            "first_failing": failed,
            "chunk_bytes": len(pieces[0].read_bytes()),
            "interval_s": 10,
            "rounds": plan.bot_rounds,
        }

    def webm_pieces(self) -> list[Path]:
        """A real Opus-in-WebM stream from ffmpeg, cut into 160 KB chunks (the first has the header)."""
        webm = self.tmp / "bot.webm"
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=60",
                "-c:a",
                "libopus",
                "-b:a",
                "128k",
                "-f",
                "webm",
                str(webm),
            ],
            check=True,
            timeout=120,
        )
        data = webm.read_bytes()
        folder = self.tmp / "pieces"
        folder.mkdir()
        chunk = 160_000
        paths = []
        for i in range(0, len(data) - chunk + 1, chunk):
            path = folder / f"{i // chunk:03d}.webm"
            path.write_bytes(data[i : i + chunk])
            paths.append(path)
        if not paths:
            raise RuntimeError("ffmpeg produced less than one 160 KB chunk")
        return paths

    def bot_step(
        self, server: LiteServer, key: str, pieces: list[Path], n: int, prefix: str
    ) -> dict[str, Any]:
        args = [
            sys.executable,
            str(BENCH_DIR / "bots.py"),
            "--port",
            str(server.port),
            "--key",
            key,
            "--bots",
            str(n),
            "--rounds",
            str(self.plan.bot_rounds),
            "--pieces",
            str(pieces[0].parent),
            "--prefix",
            prefix,
        ]
        timeout = self.plan.bot_rounds * 10 + 60
        before = harness.cpu_seconds(server.pid)
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["server_cpu_ms_per_request"] = (
            (harness.cpu_seconds(server.pid) - before) / result["requests"] * 1000
        )
        result["drain_s"] = harness.wait_idle(server.pid)  # an overloaded step leaves a backlog
        return result

    # 6: listing with a million recordings

    def phase_list(self) -> None:
        plan = self.plan
        server = self.lite("list").start()
        user_id, key = server.new_user_key("list@bench.example")
        server.stop()
        log(f"6. writing {plan.list_rows} recordings into the index")
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                str(BENCH_DIR / "gen_index.py"),
                "--repo",
                str(self.repo),
                "--db",
                str(server.data_dir / "lite.db"),
                "--user-id",
                str(user_id),
                "--count",
                str(plan.list_rows),
            ],
            check=True,
            timeout=300,
        )
        generated = time.monotonic() - started
        server.start()
        status, page = harness.http_json("GET", f"{server.url}/recordings?limit=50", {"X-API-Key": key})
        if status != 200 or page["total"] != plan.list_rows or len(page["recordings"]) != 50:
            raise RuntimeError(f"GET /recordings answered {status}: total {page.get('total')}")
        header = ("X-API-Key", key)
        profiler = self.profile("list", server.pid)
        first = loads.wrk(server.url, "/recordings?limit=50", 0, 0, 1, plan.list_seconds, 1, header)
        self.finish_profile("list", profiler)
        deep_offset = plan.list_rows - 100
        deep_path = f"/recordings?limit=50&offset={deep_offset}"
        deep = loads.wrk(server.url, deep_path, 0, 0, 1, plan.list_seconds, 1, header)
        busy = loads.wrk(server.url, "/recordings?limit=50", 0, 0, 8, plan.list_seconds, 2, header)
        server.stop()
        self.results["list"] = {
            "rows": plan.list_rows,
            "generate_s": generated,
            "first_page": first.as_dict(),
            "deep_page": deep.as_dict() | {"offset": deep_offset},
            "first_page_8_conns": busy.as_dict(),
        }

    # 7: minio mode through /raw against boto3 straight from the endpoint

    def phase_minio(self) -> None:
        plan = self.plan
        size = plan.minio_file_bytes
        moto = Moto(self.tmp / "moto.log").start()
        bucket = "bench-recordings"
        server = self.lite(
            "minio",
            {
                "STORAGE_BACKEND": "minio",
                "MINIO_ENDPOINT": f"127.0.0.1:{moto.port}",
                "MINIO_ACCESS_KEY": "testing",
                "MINIO_SECRET_KEY": "testing",
                "MINIO_BUCKET": bucket,
            },
        ).start()
        user_id, key = server.new_user_key("minio@bench.example")
        auth = {"X-API-Key": key}
        path = self.make_wav(self.tmp / "bench-minio.wav", size)
        log(f"7. minio mode: uploading {size // MiB} MiB through POST /recordings to moto")
        up, answer = self.upload(server, key, path, "bench-minio")
        rid, mid = answer["id"], answer["media_files"][0]["id"]
        object_key = f"recordings/{user_id}/{rid}/bench-minio.wav"
        raw_path = f"/recordings/{rid}/media/{mid}/raw"
        status, download = harness.http_json(
            "GET", f"{server.url}/recordings/{rid}/media/{mid}/download", auth
        )
        if status != 200:
            raise RuntimeError(f"download answered {status}: {download}")
        presigned: str = download["url"]
        presigned_path = presigned.removeprefix(moto.url)

        raw_runs, boto_runs, presigned_runs = [], [], []
        profiler = self.profile("minio-download", server.pid)
        for _ in range(plan.downloads):
            t = loads.curl_download(f"{server.url}{raw_path}", auth)
            if t.bytes != size:
                raise RuntimeError(f"/raw returned {t.bytes} of {size} bytes (HTTP {t.status})")
            raw_runs.append(t.mib_s)
            boto_runs.append(loads.boto3_download(moto.url, bucket, object_key).mib_s)
            presigned_runs.append(loads.curl_download(presigned).mib_s)
        self.finish_profile("minio-download", profiler)
        header = ("X-API-Key", key)
        # moto (a Python mock of S3) answers a few Ranges a second under load: 8 connections, not 64.
        conns = MINIO_RANGE_CONNECTIONS
        raw_range = loads.wrk(
            server.url, raw_path, size, BLOCK, conns, plan.minio_range_seconds, header=header
        )
        direct_range = loads.wrk(moto.url, presigned_path, size, BLOCK, conns, plan.minio_range_seconds)
        server.stop()
        moto.stop()
        path.unlink(missing_ok=True)
        self.results["minio"] = {
            "bytes": size,
            "upload_mib_s": up.mib_s,
            "raw_runs": raw_runs,
            "boto3_runs": boto_runs,
            "presigned_curl_runs": presigned_runs,
            "raw": median(raw_runs),
            "boto3": median(boto_runs),
            "presigned_curl": median(presigned_runs),
            "range_raw": raw_range.as_dict(),
            "range_direct": direct_range.as_dict(),
        }

    # the run

    def environment(self) -> dict[str, Any]:
        def version(cmd: list[str]) -> str:
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            except OSError:
                return "not found"
            return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""

        commit = version(["git", "-C", str(self.repo), "rev-parse", "--short", "HEAD"])
        dirty = version(["git", "-C", str(self.repo), "status", "--porcelain", "--untracked-files=no"])
        return {
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "nginx": version(["nginx", "-v"]),
            "wrk": version(["wrk", "-v"]),
            "curl": version(["curl", "--version"]),
            "repo": str(self.repo),
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "server_env": self.server_env,
            "loadavg_at_start": os.getloadavg(),
            "nice": self.args.nice,
        }

    def run(self) -> int:
        phases: dict[str, Callable[[], None]] = {
            "local": self.phase_local,
            "bots": self.phase_bots,
            "list": self.phase_list,
            "minio": self.phase_minio,
        }
        wanted = self.args.only.split(",") if self.args.only else list(PHASES)
        self.results["environment"] = self.environment()
        started = time.monotonic()
        try:
            for name in wanted:
                t0 = time.monotonic()
                try:
                    phases[name]()
                except Exception as exc:  # one phase failing leaves the others' numbers
                    log(f"phase {name} failed: {type(exc).__name__}: {exc}")
                    self.results["errors"][name] = f"{type(exc).__name__}: {exc}"
                    harness.stop_all()
                log(f"phase {name}: {time.monotonic() - t0:.0f} s")
        except Deadline as exc:
            self.results["errors"]["deadline"] = str(exc)
            raise
        finally:
            self.results["elapsed_s"] = time.monotonic() - started
            self.results["environment"]["loadavg_at_end"] = os.getloadavg()
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "results.json").write_text(json.dumps(self.results, indent=2, default=str))
            if self.profiles:
                (self.out / "profiles.txt").write_text(
                    "".join(f"== {name}\n{text}\n" for name, text in self.profiles.items())
                )
            import report

            print(report.write(self.results, self.out))
        return 1 if self.results["errors"] else 0

    def cleanup(self) -> None:
        harness.stop_all()
        if self.args.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Deadline(BaseException):
    """--time-limit reached: not an Exception, so no phase swallows it."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGALRM:
        raise Deadline("the run took longer than --time-limit")
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller files, shorter loads (< 3 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated phases out of {','.join(PHASES)}")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="where results go")
    parser.add_argument(
        "--tmp", default=None, help="parent of the temporary directory (default: system temp)"
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep data and logs for inspection")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during download and Range")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="extra server environment"
    )
    parser.add_argument(
        "--nice", type=int, default=0, help="renice the run and all it starts (e.g. -5 on a shared machine)"
    )
    parser.add_argument("--time-limit", type=int, default=0, help="seconds (default 900, quick 180)")
    args = parser.parse_args()
    if any(p not in PHASES for p in filter(None, args.only.split(","))):
        parser.error(f"--only takes phases out of {', '.join(PHASES)}")

    if args.nice:
        os.nice(args.nice)
    harness.ensure_tools(TOOLS)
    harness.ensure_matplotlib()
    bench = Bench(args)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    signal.alarm(args.time_limit or (180 if args.quick else 900))
    code = 1
    try:
        log(f"temporary data in {bench.tmp}")
        code = bench.run()
    except Deadline as exc:
        log(str(exc))
    finally:
        signal.alarm(0)
        bench.cleanup()
    sys.exit(code)


if __name__ == "__main__":
    main()
