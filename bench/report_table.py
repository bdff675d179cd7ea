"""The markdown table of results.md: one row per measurement (and indented "…" rows with its
details), Lite against its reference, the ratio, the target and whether it is met."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MiB_KiB = 1024


@dataclass
class Row:
    number: str
    what: str
    lite: str
    reference: str
    ratio: str
    target: str
    met: bool | None  # None: informational


def _f(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> tuple[str, float | None]:
    if not a or not b or math.isnan(a) or math.isnan(b):
        return "n/a", None
    return f"{a / b:.2f}x", a / b


def _compare(
    number: str,
    what: str,
    lite: float,
    reference: float,
    digits: int,
    source: str = "",
    target: str = "",
    passes: Callable[[float], bool] | None = None,
    met: bool | None = None,
) -> Row:
    """Lite against a reference measured the same way: both values and their ratio; met is
    `passes(ratio)` (never without a ratio), or `met` as given for a target that is no ratio."""
    text, r = _ratio(lite, reference)
    shown = _f(reference, digits) + (f" ({source})" if source else "")
    if passes is not None:
        met = r is not None and passes(r)
    return Row(number, what, _f(lite, digits), shown, text, target, met)


def _info(number: str, what: str, lite: str, reference: str = "") -> Row:
    """A row without ratio or target."""
    return Row(number, what, lite, reference, "", "", None)


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    size = results.get("download", {}).get("bytes") or results.get("upload", {}).get("bytes") or 0
    label = f"{size // (1024 * 1024)} MiB" if size else "file"

    if d := results.get("download"):
        what = f"full download of {label}, 1 client (curl), MiB/s"
        out.append(_compare("1", what, d["lite"], d["nginx"], 0, "nginx", "≥ 0.9x nginx", lambda r: r >= 0.9))
        if "lite_cpu_s_per_gib" in d:
            what = "  … server CPU seconds per GiB sent"
            out.append(_compare("1", what, d["lite_cpu_s_per_gib"], d["nginx_cpu_s_per_gib"], 2))
    if g := results.get("range"):
        lite, ngx = g["lite"], g["nginx"]
        errors = f", {lite['errors']} errors" if lite["errors"] else ""
        what = f"random 256 KiB Ranges, 64 conns (wrk), req/s{errors}"
        target = "≥ 0.45x nginx"  # issue 19 item 5 (issue 7's was 0.25x)
        clean = lite["errors"] == 0
        out.append(
            _compare("2", what, lite["rps"], ngx["rps"], 0, "nginx", target, lambda r: r >= 0.45 and clean)
        )
        out.append(_compare("2", "  … latency p50, ms", lite["p50_ms"], ngx["p50_ms"], 2))
        what = "  … latency p99, ms"
        out.append(_compare("2", what, lite["p99_ms"], ngx["p99_ms"], 2, "", "≤ 4x nginx", lambda r: r <= 4))
        if "cpu_us_per_request" in lite:
            what = "  … server CPU µs per request"
            out.append(_compare("2", what, lite["cpu_us_per_request"], ngx["cpu_us_per_request"], 0))
    if t := results.get("ttfb"):
        what = f"time to first byte, last 256 KiB of {label}, median of {len(t['lite_ms'])}, ms"
        out.append(_compare("3", what, t["lite"], t["nginx"], 2, "nginx", "≤ 5 ms", met=t["lite"] <= 5))
    if m := results.get("rss"):
        growth = (max(m["peak_upload_kib"], m["peak_download_kib"]) - m["baseline_kib"]) / MiB_KiB
        out.append(
            Row(
                "4",
                f"RSS growth uploading + downloading {m['bytes'] // (1024 * 1024)} MiB, MiB",
                _f(growth),
                f"baseline {_f(m['baseline_kib'] / MiB_KiB)} MiB",
                "",
                "< 50 MiB",
                growth < 50,
            )
        )
    if b := results.get("bots"):
        last_ok = next(
            (
                s
                for s in reversed(b["steps"])
                if s["bots"] == b["max_ok"] and s["errors"] == 0 and s["p99_ms"] < 200
            ),
            None,
        )
        detail = f"p99 {_f(last_ok['p99_ms'])} ms at {b['max_ok']}" if last_ok else "no level passed"
        if b.get("first_failing"):
            detail += f"; {b['first_failing']} fail"
        what = "bots, 160 KB chunk every 10 s each: most with p99 ack < 200 ms, 0 errors"
        out.append(Row("5", what, str(b["max_ok"]), detail, "", "≥ 1000", b["max_ok"] >= 1000))
    if lst := results.get("list"):
        f = lst["first_page"]
        out.append(
            Row(
                "6",
                f"GET /recordings?limit=50 with {lst['rows']:,} recordings, p50 / p99 ms",
                f"{_f(f['p50_ms'], 2)} / {_f(f['p99_ms'], 2)}",
                f"{_f(f['rps'], 0)} req/s, 1 conn",
                "",
                "p99 ≤ 10 ms",
                f["p99_ms"] <= 10,
            )
        )
        deep = lst["deep_page"]
        what = f"  … deep page (offset {deep['offset']:,}), p50 / p99 ms"
        out.append(_info("6", what, f"{_f(deep['p50_ms'], 2)} / {_f(deep['p99_ms'], 2)}"))
    if mn := results.get("minio"):
        what = f"minio mode (moto), full download of {mn['bytes'] // (1024 * 1024)} MiB via /raw, MiB/s"
        target = "≥ 0.9x boto3"  # issue 19 item 5 (issue 7's was 0.8x)
        out.append(_compare("7", what, mn["raw"], mn["boto3"], 0, "boto3 direct", target, lambda r: r >= 0.9))
        what = "  … same, against curl on the presigned URL"
        out.append(_compare("7", what, mn["raw"], mn["presigned_curl"], 0, "curl direct"))
        if "redirect" in mn:
            what = "  … via /raw with RAW_REDIRECT_TO_STORE (302 to the store, followed), MiB/s"
            target = "≥ 0.9x boto3"
            out.append(
                _compare(
                    "7", what, mn["redirect"], mn["boto3"], 0, "boto3 direct", target, lambda r: r >= 0.9
                )
            )
        if "raw_cpu_s_per_gib" in mn:
            what = "  … server CPU seconds per GiB relayed"
            out.append(_info("7", what, _f(mn["raw_cpu_s_per_gib"], 2)))
        if paused := mn.get("paused_players"):
            what = f"  … {paused['players']} paused players (Range: bytes=0-), server RSS growth MiB"
            out.append(_info("7", what, _f(paused["rss_growth_mib"], 0)))
        lite, direct = mn["range_raw"], mn["range_direct"]
        text, _ = _ratio(lite["rps"], direct["rps"])
        out.append(
            Row(
                "7",
                f"  … random 256 KiB Ranges, {lite['connections']} conns, req/s (p99 ms)",
                f"{_f(lite['rps'], 0)} ({_f(lite['p99_ms'])})",
                f"{_f(direct['rps'], 0)} ({_f(direct['p99_ms'])}) (moto direct)",
                text,
                "",
                None,
            )
        )
    if u := results.get("upload"):
        what = f"ingest: POST /recordings of {label} (fsync {u['fsync']}), MiB/s"
        out.append(_compare("-", what, u["lite_mib_s"], u["nginx_put_mib_s"], 0, "nginx PUT, no fsync"))
        if "lite_cpu_s_per_gib" in u:
            what = "  … server CPU seconds per GiB received"
            out.append(_compare("-", what, u["lite_cpu_s_per_gib"], u["nginx_cpu_s_per_gib"], 2))
    if mn := results.get("minio"):
        out.append(_info("-", "  … ingest in minio mode (to moto), MiB/s", _f(mn["upload_mib_s"], 0)))
    return out


def _load(env: dict[str, Any]) -> str:
    start, end = env.get("loadavg_at_start"), env.get("loadavg_at_end")
    if not start:
        return ""
    text = f"; load average {start[0]:.1f} at start"
    return text + (f", {end[0]:.1f} at end" if end else "")


def markdown(results: dict[str, Any]) -> str:
    """The heading, the run's environment in one line, the table, the failed phases, the duration."""
    env = results.get("environment", {})
    lines = [
        f"## Lite vs nginx{' (quick run)' if results.get('quick') else ''}",
        "",
        f"{env.get('date', '')}; {env.get('cpus', '?')} CPUs; Python {env.get('python', '?')}; "
        f"{env.get('nginx', '')}; commit {env.get('commit', '?')}"
        + (f"; server env {env['server_env']}" if env.get("server_env") else "")
        + (f"; nice {env['nice']}" if env.get("nice") else "")
        + _load(env),
        "",
        "| # | measurement | Lite | reference | ratio | target | met |",
        "|---|---|---:|---:|---:|---|:---:|",
    ]
    for row in rows(results):
        met = "" if row.met is None else ("✅" if row.met else "❌")
        cells = (row.number, row.what, row.lite, row.reference, row.ratio, row.target, met)
        lines.append("| " + " | ".join(cells) + " |")
    for phase, error in results.get("errors", {}).items():
        lines.append(f"\n**{phase} failed:** {error}")
    lines.append(f"\nwhole run: {results.get('elapsed_s', 0):.0f} s")
    return "\n".join(lines) + "\n"
