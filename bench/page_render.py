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
import contextlib
import io
import json
import math
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
import wave
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import harness  # noqa: E402
from harness import free_port, http_json, log  # noqa: E402
from servers import LiteServer  # noqa: E402

REPO = BENCH_DIR.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
VIEWPORT = {"width": 1280, "height": 900}
TARGET_MS = 1500.0
TARGET_JS_CSS_BYTES = 200 * 1024
RATE = 8000  # Hz, mono, 16 bit: 16 KB a second
# Seconds of audio, cycled over the recordings: mostly short, some long enough for a real overview.
DURATIONS = (1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300)

# Runs before the page's own script in every document: the key in sessionStorage (a signed-in tab),
# and the moment the list first holds `expected` rows, then the next frame after it.
INIT_SCRIPT = """
(([key, expected]) => {
  if (key !== null) sessionStorage.setItem('lite.apiKey', key);
  const mark = (window.__render = { rowsAt: null, paintedAt: null, rows: 0 });
  const check = () => {
    const list = document.getElementById('recording-list');
    if (!list || mark.rowsAt !== null) return;
    const rows = list.querySelectorAll(':scope > .recording').length;
    if (rows >= expected) {
      mark.rowsAt = performance.now();
      mark.rows = rows;
      requestAnimationFrame(() => setTimeout(() => { mark.paintedAt = performance.now(); }, 0));
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})(%s);
"""

# Read once the rows are painted: navigation and paint timing, the list request's resource timing.
TIMINGS_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const list = performance.getEntriesByType('resource').filter((e) => /\\/recordings\\?/.test(e.name))[0];
  return {
    rows_ms: window.__render.rowsAt,
    painted_ms: window.__render.paintedAt,
    rows: window.__render.rows,
    page_info: document.getElementById('page-info').textContent,
    response_end_ms: nav.responseEnd,
    dom_interactive_ms: nav.domInteractive,
    dcl_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
    fcp_ms: fcp ? fcp.startTime : null,
    list_request: list ? { start_ms: list.startTime, end_ms: list.responseEnd } : null,
  };
}"""


# test data


def talk_wav(seconds: int, seed: int) -> bytes:
    """A WAV of `seconds` with talk-like bursts and pauses (so its level overview has a shape),
    made from a few precomputed one-second blocks so 200 files take no time to build."""
    blocks = _blocks()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(blocks[(seed * 7 + i * i + i // 3) % len(blocks)] for i in range(seconds)))
    return out.getvalue()


_BLOCKS: list[bytes] = []


def _blocks() -> list[bytes]:
    if not _BLOCKS:
        import array

        for level, pitch in ((0.0, 0), (0.05, 180), (0.3, 220), (0.6, 140), (0.9, 260), (0.45, 300)):
            samples = array.array("h")
            for n in range(RATE):
                t = n / RATE
                envelope = level * (0.6 + 0.4 * abs(math.sin(2 * math.pi * 1.7 * t)))
                samples.append(int(envelope * 30000 * math.sin(2 * math.pi * pitch * t)))
            if sys.byteorder != "little":
                samples.byteswap()
            _BLOCKS.append(samples.tobytes())
    return _BLOCKS


def multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: audio/wav\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def fill(server: LiteServer, key: str, count: int) -> dict[str, Any]:
    """`count` recordings for the key's user, uploaded through POST /recordings like a client's."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    started = time.monotonic()
    total_bytes = 0
    seconds = 0
    try:
        for i in range(count):
            duration = DURATIONS[i % len(DURATIONS)]
            data = talk_wav(duration, i)
            fields = {"session_uid": f"bench-page-{i:04d}"}
            if i % 10 == 0:
                fields["meeting_id"] = f"standup-{i // 10:02d}"
            body, content_type = multipart(fields, f"meeting-{i:04d}.wav", data)
            conn.request("POST", "/recordings", body, {"X-API-Key": key, "Content-Type": content_type})
            answer = conn.getresponse()
            raw = answer.read()
            if answer.status != 201:
                raise RuntimeError(f"POST /recordings answered {answer.status}: {raw[:300]!r}")
            if i % 3 == 0:  # a third renamed, as people do
                rid = json.loads(raw)["id"]
                title = json.dumps({"title": f"Weekly sync #{i}: roadmap, hiring and the Q3 budget"})
                conn.request(
                    "PATCH",
                    f"/recordings/{rid}",
                    title.encode(),
                    {"X-API-Key": key, "Content-Type": "application/json"},
                )
                renamed = conn.getresponse()
                renamed.read()
                if renamed.status != 200:
                    raise RuntimeError(f"PATCH /recordings/{rid} answered {renamed.status}")
            total_bytes += len(data)
            seconds += duration
    finally:
        conn.close()
    status, page = http_json("GET", f"{server.url}/recordings?limit=1", {"X-API-Key": key})
    total = page.get("total") if isinstance(page, dict) else None
    if status != 200 or total != count:
        raise RuntimeError(f"GET /recordings answered {status}, total {total}, not {count}")
    return {
        "recordings": count,
        "audio_seconds": seconds,
        "wav_bytes": total_bytes,
        "upload_s": round(time.monotonic() - started, 1),
    }


def page_size(repo: Path) -> int:
    """The page's own PAGE_SIZE (static/app.js), so the script waits for as many rows as it shows."""
    text = (repo / "static" / "app.js").read_text()
    found = re.search(r"const PAGE_SIZE = (\d+);", text)
    return int(found.group(1)) if found else 20


# the browser


class Load:
    """One load of the page in a fresh context: requests seen (and which left loopback), timings."""

    def __init__(self, browser: Any, url: str, key: str, expected: int, *, stored_key: bool) -> None:
        self.url = url
        self.expected = expected
        self.context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self.context.add_init_script(INIT_SCRIPT % json.dumps([key if stored_key else None, expected]))
        self.page = self.context.new_page()
        self.started: list[str] = []
        self.finished: list[Any] = []
        self.failed: list[Any] = []
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", self._on_request)
        self.page.on("requestfinished", lambda r: self.finished.append(r))
        self.page.on("requestfailed", lambda r: self.failed.append(r))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        self.started.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        if parts.hostname != "127.0.0.1":
            self.external.append(request.url)

    def wait_painted(self, timeout_s: float) -> dict[str, Any]:
        self.page.wait_for_function(
            "() => window.__render && window.__render.paintedAt !== null", timeout=timeout_s * 1000
        )
        self.page.wait_for_load_state("load")
        self.page.wait_for_function(
            "() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=timeout_s * 1000
        )
        return dict(self.page.evaluate(TIMINGS_JS))

    def bytes_by_type(self) -> dict[str, dict[str, int]]:
        """Bytes per resource type: on the wire (body as sent, and with headers) and decoded."""
        out: dict[str, dict[str, int]] = {}
        for request in self.finished:
            kind = request.resource_type
            sizes = request.sizes()
            response = request.response()
            decoded = 0
            if response is not None and request.method == "GET":
                with contextlib.suppress(Exception):
                    decoded = len(response.body())
            row = out.setdefault(kind, {"requests": 0, "body": 0, "wire": 0, "decoded": 0})
            row["requests"] += 1
            row["body"] += int(sizes.get("responseBodySize", 0))
            row["wire"] += int(sizes.get("responseBodySize", 0)) + int(sizes.get("responseHeadersSize", 0))
            row["decoded"] += decoded
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()


def measure_stored_key(browser: Any, base: str, key: str, expected: int, timeout_s: float) -> dict[str, Any]:
    load = Load(browser, base, key, expected, stored_key=True)
    try:
        load.page.goto(base + "/", wait_until="commit")
        timings = load.wait_painted(timeout_s)
        if timings["rows"] < expected:
            raise RuntimeError(f"the list shows {timings['rows']} rows, {expected} expected")
        return timings | {
            "bytes": load.bytes_by_type(),
            "requests": load.started,
            "failed": [r.url for r in load.failed],
            "external": load.external,
            "console_errors": load.errors,
        }
    finally:
        load.close()


def measure_form(browser: Any, base: str, key: str, expected: int, timeout_s: float) -> dict[str, Any]:
    """Sign in from the form: the click to the rows painted (the page itself already loaded)."""
    load = Load(browser, base, key, expected, stored_key=False)
    try:
        load.page.goto(base + "/", wait_until="load")
        load.page.fill("#api-key", key)
        clicked = load.page.evaluate(
            "() => { const t = performance.now();"
            " document.querySelector('#sign-in-form button[type=submit]').click(); return t; }"
        )
        timings = load.wait_painted(timeout_s)
        return {
            "click_to_rows_ms": timings["rows_ms"] - clicked,
            "click_to_painted_ms": timings["painted_ms"] - clicked,
            "external": load.external,
        }
    finally:
        load.close()


# the run


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
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (Debian package chromium)")
    _, key = server.new_user_key("page@bench.example")
    log(f"uploading {count} recordings")
    data = fill(server, key, count)
    log(
        f"uploaded {data['recordings']} recordings ({data['wav_bytes'] / 1e6:.0f} MB) in {data['upload_s']} s"
    )
    expected = min(page_size(server.repo), count)
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens: every non-loopback request fails
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            proxy={"server": dead_proxy, "bypass": "127.0.0.1"},
        )
        try:
            warmup = measure_stored_key(browser, server.url, key, expected, timeout_s)
            log(f"warm-up load: rows painted at {warmup['painted_ms']:.0f} ms (not counted)")
            loads = []
            for i in range(runs):
                one = measure_stored_key(browser, server.url, key, expected, timeout_s)
                log(
                    f"load {i + 1}/{runs}: rows {one['rows_ms']:.0f} ms, painted {one['painted_ms']:.0f} ms, "
                    f"DCL {one['dcl_ms']:.0f} ms, load {one['load_ms']:.0f} ms"
                )
                loads.append(one)
            form = measure_form(browser, server.url, key, expected, timeout_s)
        finally:
            browser.close()

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


def markdown(result: dict[str, Any], environment: dict[str, Any]) -> str:
    def ms(name: str) -> str:
        s = result[name]
        return f"{s['median']:.0f} | {s['p95']:.0f} | {s['min']:.0f}-{s['max']:.0f}"

    def ok(good: bool) -> str:
        return "✅" if good else "❌"

    p95 = result["first_render_ms"]["p95"]
    js_css, decoded = result["js_css_bytes"], result["js_css_decoded_bytes"]
    external = result["external_requests"]
    data, env = result["data"], environment
    rows = result["page_size"]
    lines = [
        f"## Page first render, {data['recordings']} recordings ({result['runs']} cold loads)",
        "",
        f"{env['date']}; commit {env['commit']}; {env['chromium']}; {env['cpus']} CPUs; "
        f"load average {env['loadavg_at_start'][0]:.1f} at start, {env['loadavg_at_end'][0]:.1f} at end",
        "",
        "| measurement (ms from navigation start) | median | p95 | min-max |",
        "|---|---:|---:|---:|",
        f"| first render: the {rows} rows of the first page painted | {ms('first_render_ms')} |",
        f"| … rows in the DOM | {ms('rows_in_dom_ms')} |",
        f"| first contentful paint | {ms('fcp_ms')} |",
        f"| DOMContentLoaded (end) | {ms('dcl_ms')} |",
        f"| load (end) | {ms('load_ms')} |",
        f"| … the list request itself (`GET /recordings`), duration | {ms('list_request_ms')} |",
        "",
        "| check | value | target | met |",
        "|---|---:|---|:---:|",
        f"| first render p95, ms | {p95:.0f} | ≤ {TARGET_MS:.0f} | {ok(p95 <= TARGET_MS)} |",
        f"| JS + CSS, bytes on the wire (decoded) | {js_css:,} ({decoded:,}) | ≤ 200 KB "
        f"| {ok(js_css <= TARGET_JS_CSS_BYTES)} |",
        f"| requests to hosts other than 127.0.0.1 | {external} | 0 | {ok(not external)} |",
        "",
        "Sign-in from the form (click to rows painted, page already loaded): "
        f"{result['form_sign_in']['click_to_painted_ms']:.0f} ms. "
        f"Warm-up load (the first in a new browser, not counted): {result['warmup_painted_ms']:.0f} ms. "
        f"The page shows “{result['page_info']}”. Requests of one load: "
        + ", ".join(f"`{r}`" for r in result["requests"])
        + ".",
        "",
        f"Data: {data['recordings']} WAV recordings, {data['audio_seconds']} s of audio, "
        f"{data['wav_bytes'] / 1e6:.1f} MB, uploaded in {data['upload_s']} s.",
    ]
    if result["console_errors"]:
        lines.append(f"\nConsole errors: {result['console_errors']}")
    return "\n".join(lines) + "\n"


def environment(repo: Path) -> dict[str, Any]:
    import os
    import subprocess

    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else ""

    commit = first_line(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    dirty = first_line(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "chromium": first_line([CHROMIUM, "--version"]),
        "loadavg_at_start": os.getloadavg(),
    }


def write(result: dict[str, Any], env: dict[str, Any], out: Path) -> str:
    import os

    env["loadavg_at_end"] = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(result, env)
    (out / "page_render.json").write_text(json.dumps({"environment": env, **result}, indent=2, default=str))
    (out / "page_render.md").write_text(text)
    return text


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


class Stopped(BaseException):
    """--time-limit reached or a signal: not an Exception, so nothing swallows it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGALRM:
        raise Stopped("the run took longer than --time-limit", 1)
    raise Stopped(f"stopped by {signal.Signals(signum).name}", 128 + signum)


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

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    signal.alarm(args.time_limit)
    tmp = Path(tempfile.mkdtemp(prefix="lite-page-"))
    code = 1
    try:
        env = environment(args.repo.resolve())
        server = LiteServer(args.repo.resolve(), tmp / "data", tmp / "lite.log")
        log(f"starting Lite from {server.repo} (data in {tmp})")
        server.start()
        try:
            result = measure(server, args.runs, args.recordings)
        finally:
            server.stop()
        print(write(result, env, args.out.resolve()))
        code = 0 if result["met"] else 2
    except Stopped as exc:
        log(str(exc))
        code = exc.code
    except Exception as exc:
        log(f"failed: {type(exc).__name__}: {exc}")
        log_file = tmp / "lite.log"
        if log_file.exists():
            log("server log (end):\n" + log_file.read_text(errors="replace")[-2000:])
    finally:
        signal.alarm(0)
        harness.stop_all()
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
