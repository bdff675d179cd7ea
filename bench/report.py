"""The markdown table (results.md) and PNG charts from results.json.

Also runnable alone, to redraw from a saved run: python bench/report.py [bench/results]
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MiB_KiB = 1024
LITE, NGINX, OTHER = "#3b7dd8", "#8c8c8c", "#e0a030"


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


def rows(results: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    size = results.get("download", {}).get("bytes") or results.get("upload", {}).get("bytes") or 0
    label = f"{size // (1024 * 1024)} MiB" if size else "file"

    if d := results.get("download"):
        text, r = _ratio(d["lite"], d["nginx"])
        out.append(
            Row(
                "1",
                f"full download of {label}, 1 client (curl), MiB/s",
                _f(d["lite"], 0),
                _f(d["nginx"], 0) + " (nginx)",
                text,
                "≥ 0.9x nginx",
                r is not None and r >= 0.9,
            )
        )
        if "lite_cpu_s_per_gib" in d:
            text, _ = _ratio(d["lite_cpu_s_per_gib"], d["nginx_cpu_s_per_gib"])
            out.append(
                Row(
                    "1",
                    "  … server CPU seconds per GiB sent",
                    _f(d["lite_cpu_s_per_gib"], 2),
                    _f(d["nginx_cpu_s_per_gib"], 2),
                    text,
                    "",
                    None,
                )
            )
    if g := results.get("range"):
        lite, ngx = g["lite"], g["nginx"]
        text, r = _ratio(lite["rps"], ngx["rps"])
        errors = f", {lite['errors']} errors" if lite["errors"] else ""
        out.append(
            Row(
                "2",
                f"random 256 KiB Ranges, 64 conns (wrk), req/s{errors}",
                _f(lite["rps"], 0),
                _f(ngx["rps"], 0) + " (nginx)",
                text,
                "≥ 0.25x nginx",
                r is not None and r >= 0.25 and lite["errors"] == 0,
            )
        )
        text, _ = _ratio(lite["p50_ms"], ngx["p50_ms"])
        out.append(
            Row("2", "  … latency p50, ms", _f(lite["p50_ms"], 2), _f(ngx["p50_ms"], 2), text, "", None)
        )
        text, r = _ratio(lite["p99_ms"], ngx["p99_ms"])
        out.append(
            Row(
                "2",
                "  … latency p99, ms",
                _f(lite["p99_ms"], 2),
                _f(ngx["p99_ms"], 2),
                text,
                "≤ 4x nginx",
                r is not None and r <= 4,
            )
        )
        if "cpu_us_per_request" in lite:
            text, _ = _ratio(lite["cpu_us_per_request"], ngx["cpu_us_per_request"])
            cpu_lite, cpu_ngx = _f(lite["cpu_us_per_request"], 0), _f(ngx["cpu_us_per_request"], 0)
            out.append(Row("2", "  … server CPU µs per request", cpu_lite, cpu_ngx, text, "", None))
    if t := results.get("ttfb"):
        text, _ = _ratio(t["lite"], t["nginx"])
        out.append(
            Row(
                "3",
                f"time to first byte, last 256 KiB of {label}, median of {len(t['lite_ms'])}, ms",
                _f(t["lite"], 2),
                _f(t["nginx"], 2) + " (nginx)",
                text,
                "≤ 5 ms",
                t["lite"] <= 5,
            )
        )
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
        out.append(
            Row(
                "5",
                "bots, 160 KB chunk every 10 s each: most with p99 ack < 200 ms, 0 errors",
                str(b["max_ok"]),
                detail,
                "",
                "≥ 1000",
                b["max_ok"] >= 1000,
            )
        )
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
        out.append(
            Row(
                "6",
                f"  … deep page (offset {deep['offset']:,}), p50 / p99 ms",
                f"{_f(deep['p50_ms'], 2)} / {_f(deep['p99_ms'], 2)}",
                "",
                "",
                "",
                None,
            )
        )
    if mn := results.get("minio"):
        mib = mn["bytes"] // (1024 * 1024)
        text, r = _ratio(mn["raw"], mn["boto3"])
        out.append(
            Row(
                "7",
                f"minio mode (moto), full download of {mib} MiB via /raw, MiB/s",
                _f(mn["raw"], 0),
                _f(mn["boto3"], 0) + " (boto3 direct)",
                text,
                "≥ 0.8x boto3",
                r is not None and r >= 0.8,
            )
        )
        text, _ = _ratio(mn["raw"], mn["presigned_curl"])
        out.append(
            Row(
                "7",
                "  … same, against curl on the presigned URL",
                _f(mn["raw"], 0),
                _f(mn["presigned_curl"], 0) + " (curl direct)",
                text,
                "",
                None,
            )
        )
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
        text, _ = _ratio(u["lite_mib_s"], u["nginx_put_mib_s"])
        out.append(
            Row(
                "-",
                f"ingest: POST /recordings of {label} (fsync {u['fsync']}), MiB/s",
                _f(u["lite_mib_s"], 0),
                _f(u["nginx_put_mib_s"], 0) + " (nginx PUT, no fsync)",
                text,
                "",
                None,
            )
        )
        if "lite_cpu_s_per_gib" in u:
            text, _ = _ratio(u["lite_cpu_s_per_gib"], u["nginx_cpu_s_per_gib"])
            cpu_lite, cpu_ngx = _f(u["lite_cpu_s_per_gib"], 2), _f(u["nginx_cpu_s_per_gib"], 2)
            out.append(Row("-", "  … server CPU seconds per GiB received", cpu_lite, cpu_ngx, text, "", None))
    if mn := results.get("minio"):
        out.append(
            Row("-", "  … ingest in minio mode (to moto), MiB/s", _f(mn["upload_mib_s"], 0), "", "", "", None)
        )
    return out


def _load(env: dict[str, Any]) -> str:
    start, end = env.get("loadavg_at_start"), env.get("loadavg_at_end")
    if not start:
        return ""
    text = f"; load average {start[0]:.1f} at start"
    return text + (f", {end[0]:.1f} at end" if end else "")


def markdown(results: dict[str, Any]) -> str:
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


# charts


def _bars(ax: Any, labels: list[str], values: list[float], colors: list[str], unit: str) -> None:
    bars = ax.bar(labels, values, color=colors)
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(
            f"{value:,.0f}" if value >= 10 else f"{value:.2f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel(unit)
    ax.tick_params(axis="x", labelsize=8)


def chart_throughput(results: dict[str, Any], ax: Any) -> None:
    labels, values, colors = [], [], []
    if d := results.get("download"):
        labels += ["Lite\ndownload", "nginx\ndownload"]
        values += [d["lite"], d["nginx"]]
        colors += [LITE, NGINX]
    if u := results.get("upload"):
        labels += ["Lite\nupload", "nginx\nPUT"]
        values += [u["lite_mib_s"], u["nginx_put_mib_s"]]
        colors += [LITE, NGINX]
    if m := results.get("minio"):
        labels += ["minio\n/raw", "boto3\ndirect", "curl\npresigned"]
        values += [m["raw"], m["boto3"], m["presigned_curl"]]
        colors += [LITE, OTHER, NGINX]
    _bars(ax, labels, values, colors, "MiB/s")
    ax.set_title("Whole-file throughput (1 client)")


def chart_range(results: dict[str, Any], ax_rps: Any, ax_lat: Any) -> None:
    pairs = []
    if g := results.get("range"):
        pairs += [("Lite", g["lite"], LITE), ("nginx", g["nginx"], NGINX)]
    if m := results.get("minio"):
        pairs += [("minio\n/raw", m["range_raw"], LITE), ("moto\ndirect", m["range_direct"], OTHER)]
    if not pairs:
        return
    _bars(ax_rps, [p[0] for p in pairs], [p[1]["rps"] for p in pairs], [p[2] for p in pairs], "requests/s")
    ax_rps.set_title("Random 256 KiB Ranges, 64 connections")
    x = range(len(pairs))
    ax_lat.bar([i - 0.2 for i in x], [p[1]["p50_ms"] for p in pairs], 0.4, label="p50", color="#7fb3ef")
    ax_lat.bar([i + 0.2 for i in x], [p[1]["p99_ms"] for p in pairs], 0.4, label="p99", color="#1f4f99")
    ax_lat.set_xticks(list(x), [p[0] for p in pairs], fontsize=8)
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("ms (log)")
    ax_lat.set_title("Range latency")
    ax_lat.legend(fontsize=8)


def chart_rss(results: dict[str, Any], ax: Any) -> None:
    m = results.get("rss")
    if not m:
        return
    t = [s[0] for s in m["samples"]]
    rss = [s[1] / MiB_KiB for s in m["samples"]]
    ax.plot(t, rss, color=LITE)
    ax.axhline(
        m["baseline_kib"] / MiB_KiB + 50, color="red", linestyle="--", linewidth=1, label="baseline + 50 MiB"
    )
    for at, label in m["marks"]:
        ax.axvline(at, color="grey", linewidth=0.8)
        ax.annotate(label, (at, ax.get_ylim()[0]), fontsize=8, rotation=90, va="bottom")
    ax.set_xlabel("s")
    ax.set_ylabel("RSS, MiB")
    ax.set_ylim(0, max(max(rss), m["baseline_kib"] / MiB_KiB + 50) * 1.15)
    ax.set_title(f"Server RSS, {m['bytes'] // (1024 * 1024)} MiB upload then download")
    ax.legend(fontsize=8)


def chart_bots(results: dict[str, Any], ax: Any) -> None:
    b = results.get("bots")
    if not b:
        return
    steps = sorted(b["steps"], key=lambda s: s["bots"])
    n = [s["bots"] for s in steps]
    ax.plot(n, [s["p50_ms"] for s in steps], "o-", label="p50", color="#7fb3ef")
    ax.plot(n, [s["p99_ms"] for s in steps], "o-", label="p99", color="#1f4f99")
    for s in steps:
        if s["errors"]:
            ax.annotate(f"{s['errors']} err", (s["bots"], s["p99_ms"]), fontsize=8, color="red")
    ax.axhline(200, color="red", linestyle="--", linewidth=1, label="200 ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("concurrent bots (one 160 KB chunk / 10 s each)")
    ax.set_ylabel("ack latency, ms")
    ax.set_title("Bot ingestion")
    ax.legend(fontsize=8)


def chart_latency(results: dict[str, Any], ax: Any) -> None:
    labels, p50, p99 = [], [], []
    if t := results.get("ttfb"):
        labels += ["TTFB Lite", "TTFB nginx"]
        p50 += [t["lite"], t["nginx"]]
        p99 += [max(t["lite_ms"]), max(t["nginx_ms"])]
    if lst := results.get("list"):
        labels += ["list page", "deep page"]
        p50 += [lst["first_page"]["p50_ms"], lst["deep_page"]["p50_ms"]]
        p99 += [lst["first_page"]["p99_ms"], lst["deep_page"]["p99_ms"]]
    if not labels:
        return
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], p50, 0.4, label="median / p50", color="#7fb3ef")
    ax.bar([i + 0.2 for i in x], p99, 0.4, label="max / p99", color="#1f4f99")
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("TTFB (end of file) and list page latency")
    ax.legend(fontsize=8)


def charts(results: dict[str, Any], out: Path) -> list[Path]:
    made: list[Path] = []
    specs: list[tuple[str, Callable[[plt.Figure], None]]] = [
        ("throughput.png", lambda fig: chart_throughput(results, fig.add_subplot(111))),
        ("range.png", lambda fig: chart_range(results, fig.add_subplot(121), fig.add_subplot(122))),
        ("rss.png", lambda fig: chart_rss(results, fig.add_subplot(111))),
        ("bots.png", lambda fig: chart_bots(results, fig.add_subplot(111))),
        ("latency.png", lambda fig: chart_latency(results, fig.add_subplot(111))),
    ]
    for name, draw in specs:
        fig = plt.figure(figsize=(9, 4.5))
        draw(fig)
        if any(ax.has_data() for ax in fig.axes):
            fig.tight_layout()
            fig.savefig(out / name, dpi=110)
            made.append(out / name)
        plt.close(fig)
    return made


def write(results: dict[str, Any], out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    made = charts(results, out)
    text += "\n" + "".join(f"![{p.stem}]({p.name})\n" for p in made)
    (out / "results.md").write_text(text)
    return text


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results")
    print(write(json.loads((folder / "results.json").read_text()), folder))
