"""The player page's first render with 200 recordings (issue 18), in Debian's headless Chromium.

    .venv/bin/python bench/page_render.py              # 10 cold runs, about 1 minute
    .venv/bin/python bench/page_render.py --runs 30    # steadier p95

Target: "first render of a signed-in list of 200 recordings <= 1.5 s on loopback; the page's JS +
CSS <= 200 KB, no framework download at run time, no CDN."

Starts Lite as users run it (`python app.py` from the checkout, a temporary DATA_DIR, ADMIN_API_TOKEN,
a free PORT on 127.0.0.1), makes a user and a key through the admin API and uploads 200 small real
WAV files through `POST /recordings` (8 kHz mono, 1 s to 5 min, 160 MB in all, talk-like bursts and
pauses; a third renamed, a few with a meeting id). Then, in one Chromium, a warm-up load and N measured loads,
each in a fresh browser context (cold HTTP cache, empty storage), signed in the way a returning tab
is: the key is in the tab's sessionStorage (`lite.apiKey`, set by an init script before the page's
own script runs), so the page lists at once. For each load:

- first render: navigation start (performance.timeOrigin) to the moment the list holds every row of
  its first page (a MutationObserver on #recording-list), and to the next frame after it (a
  requestAnimationFrame, then a task: the rows are painted);
- domContentLoaded and load (PerformanceNavigationTiming), first contentful paint, the list
  request's own timing (resource timing);
- every response's bytes (on the wire, and decoded), JS and CSS summed;
- every request to a host other than 127.0.0.1: counted, and it cannot get out (the browser's proxy
  is a closed port; Chromium bypasses proxies for loopback only).

Also, once, "sign in from the form": click on Sign in to the rows shown, in a fresh context.

Writes bench/results/page_render.{json,md} (git-ignored). Stops the server and the browser when it
ends, fails, is interrupted or reaches --time-limit (default 300 s), and deletes its temporary data.
Needs Playwright for Python (in the dev virtualenv) and /usr/bin/chromium; never downloads a browser.

bench/run.py runs the same measurement as its phase `page` (`python bench/run.py --only page`).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from harness import log  # noqa: E402
from page_browser import CHROMIUM, load_series  # noqa: E402
from page_report import environment, write  # noqa: E402
from page_uploads import fill, page_size  # noqa: E402
from servers import LiteServer  # noqa: E402
from standalone import run_standalone  # noqa: E402

REPO = BENCH_DIR.parent
TARGET_MS = 1500.0
TARGET_JS_CSS_BYTES = 200 * 1024


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    # p95 by linear interpolation between the closest ranks (10 runs: between the 9th and 10th)
    rank = 0.95 * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    p95 = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return {
        "median": statistics.median(ordered),
        "p95": p95,
        "min": ordered[0],
        "max": ordered[-1],
    }


def measure(server: LiteServer, runs: int, count: int, timeout_s: float = 20.0) -> dict[str, Any]:
    """Fill the server, then the warm-up load, `runs` measured loads and one form sign-in."""
    import playwright.sync_api  # noqa: F401 - missing, it fails here rather than after the upload

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (Debian package chromium)")
    _, key = server.new_user_key("page@bench.example")
    log(f"uploading {count} recordings")
    data = fill(server, key, count)
    log(
        f"uploaded {data['recordings']} recordings ({data['wav_bytes'] / 1e6:.0f} MB) in {data['upload_s']} s"
    )
    expected = min(page_size(server.repo), count)
    warmup, loads, form = load_series(server.url, key, expected, runs, timeout_s)

    if not loads[-1]["page_info"].endswith(f"of {count}"):
        raise RuntimeError(f"the page says {loads[-1]['page_info']!r}, not … of {count}")

    def stat(name: str) -> dict[str, float]:
        return summary([float(one[name]) for one in loads])

    last = loads[-1]["bytes"]
    js = last.get("script", {})
    css = last.get("stylesheet", {})
    js_css_body = js.get("body", 0) + css.get("body", 0)
    js_css_decoded = js.get("decoded", 0) + css.get("decoded", 0)
    external = sorted({u for one in [warmup, *loads] for u in one["external"]} | set(form["external"]))
    render = stat("painted_ms")
    return {
        "runs": runs,
        "data": data,
        "page_size": expected,
        "page_info": loads[-1]["page_info"],
        "first_render_ms": render,
        "rows_in_dom_ms": stat("rows_ms"),
        "dcl_ms": stat("dcl_ms"),
        "load_ms": stat("load_ms"),
        "fcp_ms": summary([float(one["fcp_ms"]) for one in loads if one["fcp_ms"] is not None]),
        "response_end_ms": stat("response_end_ms"),
        "list_request_ms": summary(
            [
                one["list_request"]["end_ms"] - one["list_request"]["start_ms"]
                for one in loads
                if one["list_request"]
            ]
        ),
        "form_sign_in": form,
        "warmup_painted_ms": warmup["painted_ms"],
        "bytes_by_type": last,
        "js_css_bytes": js_css_body,
        "js_css_decoded_bytes": js_css_decoded,
        "requests": loads[-1]["requests"],
        "failed_requests": sorted({u for one in loads for u in one["failed"]}),
        "console_errors": sorted({e for one in loads for e in one["console_errors"]}),
        "external_requests": len(external),
        "external_urls": external,
        "target_ms": TARGET_MS,
        "target_js_css_bytes": TARGET_JS_CSS_BYTES,
        "met": render["p95"] <= TARGET_MS and js_css_body <= TARGET_JS_CSS_BYTES and not external,
        "loads": loads,
    }


def run(ctx: Any) -> None:
    """bench/run.py's phase `page`: the same measurement (3 loads with --quick) with the run's
    server settings; its numbers go to results.json ("page") and to page_render.{json,md}. Without
    Playwright or Chromium the phase is skipped, not failed (they come with the 'test' extra)."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None or not Path(CHROMIUM).exists():
        ctx.results["page"] = {"skipped": f"needs Playwright for Python and {CHROMIUM}"}
        log(f"page: skipped, {ctx.results['page']['skipped']}")
        return
    env = environment(ctx.repo)
    server = ctx.lite("page").start()
    try:
        result = measure(server, runs=3 if ctx.args.quick else 10, count=200)
    finally:
        server.stop()
    ctx.results["page"] = {k: v for k, v in result.items() if k != "loads"}
    log("\n" + write(result, env, ctx.out))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="measured loads, each in a fresh context")
    parser.add_argument("--recordings", type=int, default=200, help="recordings of the signed-in user")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="where results go")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the data folder and the server log")
    parser.add_argument("--time-limit", type=int, default=300, help="seconds for the whole run")
    args = parser.parse_args()
    if args.runs < 1 or args.recordings < 1:
        parser.error("--runs and --recordings must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="lite-page-"))

    def body() -> int:
        env = environment(args.repo.resolve())
        server = LiteServer(args.repo.resolve(), tmp / "data", tmp / "lite.log")
        log(f"starting Lite from {server.repo} (data in {tmp})")
        server.start()
        try:
            result = measure(server, args.runs, args.recordings)
        finally:
            server.stop()
        print(write(result, env, args.out.resolve()))
        return 0 if result["met"] else 2

    def failed(exc: Exception) -> None:
        log(f"failed: {type(exc).__name__}: {exc}")
        log_file = tmp / "lite.log"
        if log_file.exists():
            log("server log (end):\n" + log_file.read_text(errors="replace")[-2000:])

    run_standalone(body, time_limit=args.time_limit, tmp=tmp, keep_tmp=args.keep_tmp, on_error=failed)


if __name__ == "__main__":
    main()
