"""Lite against nginx, side by side on loopback, in one run (issue 7).

    python bench/run.py            # the full run, 5-8 minutes
    python bench/run.py --quick    # a smoke run with smaller files and shorter loads, under 3 minutes

Starts the server under test exactly as users run it (`python app.py`, configured by environment
variables), nginx (sendfile on) serving the very file the server stored, and moto as the S3
endpoint for minio mode; measures, writes bench/results/results.{json,md} and PNG charts, and
stops everything it started, also on errors, Ctrl-C or when the time limit is reached.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import harness
import page_render
import phase_bots
import phase_list
import phase_local
import phase_minio
import phase_sessions
import rebuild_scale
from context import RunContext
from harness import log

# The measurements are in phase_*.py, what they share in context.py (the settings in plan.py), the
# servers in servers.py, the clients in loads.py and bots.py, the table and charts in report*.py.
BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PHASES: dict[str, Callable[[RunContext], None]] = {
    "local": phase_local.run,  # 1-4 and ingestion: the local backend against nginx
    "bots": phase_bots.run,  # 5
    "list": phase_list.run,  # 6
    "minio": phase_minio.run,  # 7
    "page": page_render.run,  # the player page's first render in Chromium (issue 18)
    "rebuild": rebuild_scale.run,  # index rebuild from an S3 bucket of 10,000 recordings (issue 19)
    "sessions": phase_sessions.run,  # whole bot sessions, Retry-After honoured, 0 lost (issue 19)
}
OPT_IN = {"rebuild", "sessions"}  # run only when named in --only: a full run stays within its time limit
TOOLS = {"curl": "curl", "wrk": "wrk", "nginx": "nginx", "ffmpeg": "ffmpeg"}


def environment(ctx: RunContext) -> dict[str, Any]:
    def version(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        except OSError:
            return "not found"
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""

    commit = version(["git", "-C", str(ctx.repo), "rev-parse", "--short", "HEAD"])
    dirty = version(["git", "-C", str(ctx.repo), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "nginx": version(["nginx", "-v"]),
        "wrk": version(["wrk", "-v"]),
        "curl": version(["curl", "--version"]),
        "repo": str(ctx.repo),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "server_env": ctx.server_env,
        "loadavg_at_start": os.getloadavg(),
        "nice": ctx.args.nice,
    }


def run(ctx: RunContext) -> int:
    """The wanted phases in order, then results.json, profiles.txt, results.md and the charts,
    whatever happened; exit status 1 if any phase failed."""
    wanted = ctx.args.only.split(",") if ctx.args.only else [p for p in PHASES if p not in OPT_IN]
    results = ctx.results
    results["environment"] = environment(ctx)
    started = time.monotonic()
    try:
        for name in wanted:
            t0 = time.monotonic()
            try:
                PHASES[name](ctx)
            except Exception as exc:  # one phase failing leaves the others' numbers
                log(f"phase {name} failed: {type(exc).__name__}: {exc}")
                results["errors"][name] = f"{type(exc).__name__}: {exc}"
                harness.stop_all()
            log(f"phase {name}: {time.monotonic() - t0:.0f} s")
    except Deadline as exc:
        results["errors"]["deadline"] = str(exc)
        raise
    finally:
        results["elapsed_s"] = time.monotonic() - started
        results["environment"]["loadavg_at_end"] = os.getloadavg()
        ctx.out.mkdir(parents=True, exist_ok=True)
        (ctx.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
        if ctx.profiles:
            (ctx.out / "profiles.txt").write_text(
                "".join(f"== {name}\n{text}\n" for name, text in ctx.profiles.items())
            )
        import report  # matplotlib loads only now, after ensure_bench_packages()

        print(report.write(results, ctx.out))
    return 1 if results["errors"] else 0


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
    parser.add_argument(
        "--session-levels", default="", help="phase sessions: levels, e.g. 500,3000 (default 500-4000)"
    )
    args = parser.parse_args()
    if any(p not in PHASES for p in filter(None, args.only.split(","))):
        parser.error(f"--only takes phases out of {', '.join(PHASES)}")

    if args.nice:
        os.nice(args.nice)
    harness.ensure_tools(TOOLS)
    harness.ensure_bench_packages()
    ctx = RunContext(args)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    signal.alarm(args.time_limit or (180 if args.quick else 900))
    code = 1
    try:
        log(f"temporary data in {ctx.tmp}")
        code = run(ctx)
    except Deadline as exc:
        log(str(exc))
    finally:
        signal.alarm(0)
        ctx.cleanup()
    sys.exit(code)


if __name__ == "__main__":
    main()
