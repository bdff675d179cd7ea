"""The page benchmark's report: the machine and checkout it ran on, and page_render.{json,md}."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from page_browser import CHROMIUM


def markdown(result: dict[str, Any], environment: dict[str, Any]) -> str:
    def ms(name: str) -> str:
        s = result[name]
        return f"{s['median']:.0f} | {s['p95']:.0f} | {s['min']:.0f}-{s['max']:.0f}"

    def ok(good: bool) -> str:
        return "✅" if good else "❌"

    p95, target_ms = result["first_render_ms"]["p95"], result["target_ms"]
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
        f"| first render p95, ms | {p95:.0f} | ≤ {target_ms:.0f} | {ok(p95 <= target_ms)} |",
        f"| JS + CSS, bytes on the wire (decoded) | {js_css:,} ({decoded:,}) | ≤ 200 KB "
        f"| {ok(js_css <= result['target_js_css_bytes'])} |",
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
    env["loadavg_at_end"] = os.getloadavg()
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(result, env)
    (out / "page_render.json").write_text(json.dumps({"environment": env, **result}, indent=2, default=str))
    (out / "page_render.md").write_text(text)
    return text
