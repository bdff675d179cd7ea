"""The page benchmark's browser side: Debian's headless Chromium as the tests launch it, and one load
of the player page in a fresh context (cold HTTP cache, empty storage) with what it measures: the
first render (the list's rows in the DOM, then painted), navigation and paint timing, the bytes of
every response, and every request to a host other than 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import free_port, log

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after bench/, so only `tests` comes from here

from tests.chromiumkit import CHROMIUM  # noqa: E402
from tests.chromiumkit import CHROMIUM_ARGS as TEST_CHROMIUM_ARGS  # noqa: E402

# The tests' flags less the autoplay permission their recorder needs: the page plays nothing by itself.
CHROMIUM_ARGS = [arg for arg in TEST_CHROMIUM_ARGS if not arg.startswith("--autoplay-policy")]
VIEWPORT = {"width": 1280, "height": 900}

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


def load_series(
    url: str, key: str, expected: int, runs: int, timeout_s: float
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """In one Chromium: the warm-up load, `runs` measured loads and one sign-in from the form."""
    from playwright.sync_api import sync_playwright

    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens: every non-loopback request fails
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            proxy={"server": dead_proxy, "bypass": "127.0.0.1"},
        )
        try:
            warmup = measure_stored_key(browser, url, key, expected, timeout_s)
            log(f"warm-up load: rows painted at {warmup['painted_ms']:.0f} ms (not counted)")
            loads = []
            for i in range(runs):
                one = measure_stored_key(browser, url, key, expected, timeout_s)
                log(
                    f"load {i + 1}/{runs}: rows {one['rows_ms']:.0f} ms, painted {one['painted_ms']:.0f} ms, "
                    f"DCL {one['dcl_ms']:.0f} ms, load {one['load_ms']:.0f} ms"
                )
                loads.append(one)
            form = measure_form(browser, url, key, expected, timeout_s)
        finally:
            browser.close()
    return warmup, loads, form
