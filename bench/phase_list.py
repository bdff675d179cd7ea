"""Measurement 6: listing with a million recordings. gen_index.py writes the rows straight into a
fresh index while the server is stopped, then wrk measures the first page (1 connection), a deep
page and the first page with 8 connections."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import loads
from context import RunContext
from harness import http_json, log

BENCH_DIR = Path(__file__).resolve().parent
PAGE = "/recordings?limit=50"


def run(ctx: RunContext) -> None:
    plan = ctx.plan
    server = ctx.lite("list").start()
    user_id, key = server.new_user_key("list@bench.example")
    server.stop()
    log(f"6. writing {plan.list_rows} recordings into the index")
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "gen_index.py"),
            "--repo",
            str(ctx.repo),
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
    status, page = http_json("GET", f"{server.url}{PAGE}", {"X-API-Key": key})
    if status != 200 or page["total"] != plan.list_rows or len(page["recordings"]) != 50:
        raise RuntimeError(f"GET /recordings answered {status}: total {page.get('total')}")
    header = ("X-API-Key", key)
    with ctx.profiled("list", server.pid):
        first = loads.wrk(server.url, PAGE, 0, 0, 1, plan.list_seconds, 1, header)
    deep_offset = plan.list_rows - 100
    deep = loads.wrk(server.url, f"{PAGE}&offset={deep_offset}", 0, 0, 1, plan.list_seconds, 1, header)
    busy = loads.wrk(server.url, PAGE, 0, 0, 8, plan.list_seconds, 2, header)
    server.stop()
    ctx.results["list"] = {
        "rows": plan.list_rows,
        "generate_s": generated,
        "first_page": first.as_dict(),
        "deep_page": deep.as_dict() | {"offset": deep_offset},
        "first_page_8_conns": busy.as_dict(),
    }
