"""The PNG charts next to results.md: throughput, Ranges, RSS over time, bot latency per level, and
TTFB / list latency. A chart without data (its phase did not run) is not written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

MiB_KiB = 1024
LITE, NGINX, OTHER = "#3b7dd8", "#8c8c8c", "#e0a030"
LOW, HIGH = "#7fb3ef", "#1f4f99"  # p50 (or median) and p99 (or max)


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


def _latency_bars(
    ax: Any, labels: list[str], low: tuple[list[float], str], high: tuple[list[float], str], title: str
) -> None:
    """Two bars per label, the low and the high latency (values, legend) side by side, log scale."""
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], low[0], 0.4, label=low[1], color=LOW)
    ax.bar([i + 0.2 for i in x], high[0], 0.4, label=high[1], color=HIGH)
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title(title)
    ax.legend(fontsize=8)


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
    low, high = [p[1]["p50_ms"] for p in pairs], [p[1]["p99_ms"] for p in pairs]
    _latency_bars(ax_lat, [p[0] for p in pairs], (low, "p50"), (high, "p99"), "Range latency")


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
    ax.plot(n, [s["p50_ms"] for s in steps], "o-", label="p50", color=LOW)
    ax.plot(n, [s["p99_ms"] for s in steps], "o-", label="p99", color=HIGH)
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
    title = "TTFB (end of file) and list page latency"
    _latency_bars(ax, labels, (p50, "median / p50"), (p99, "max / p99"), title)


def charts(results: dict[str, Any], out: Path) -> list[Path]:
    """Draw every chart that has data into `out`; the files written."""
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
