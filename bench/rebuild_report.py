"""The rebuild benchmark's report, rebuild.md: the headline start, the direct reads beside it, and
every start when there were several."""

from __future__ import annotations

from typing import Any

from rebuild_s3 import DIRECT_THREADS


def markdown(r: dict[str, Any]) -> str:
    ops = r["storage_operations"]
    d = r["direct"]
    rows = [
        ("seconds from process start to /readyz 200", f"{r['ready_s']:.1f}"),
        ("… to GET /recordings with the user's full count", f"{r['full_count_s']:.1f}"),
        ("recordings/s", f"{r['recordings_per_s']:,.0f}"),
        ("server CPU seconds (process tree, start to ready)", f"{r['server_cpu_s']:.1f}"),
        ("peak RSS, MiB", f"{r['peak_rss_mib']:.0f}"),
        ("storage operations (Lite's /metrics)", ", ".join(f"{k} {v:,}" for k, v in sorted(ops.items()))),
        ("S3 requests (moto's log)", "n/a" if r["s3_requests"] is None else f"{r['s3_requests']:,}"),
        (f"{r['server']} CPU seconds over the same time", f"{r['s3_server_cpu_s']:.1f}"),
        (
            f"direct: boto3 list + {d['gets']:,} GETs ({DIRECT_THREADS} threads), s",
            f"{d['seconds']:.1f} (listing {d['objects_listed']:,} objects: {d['list_s']:.1f})",
        ),
        (
            f"… {r['server']} CPU seconds: listing, GETs",
            f"{d['list_s3_cpu_s']:.1f} of {d['list_s']:.1f} s, {d['get_s3_cpu_s']:.1f} of {d['get_s']:.1f} s",
        ),
        (
            "reconcile pass after ready: s, server CPU s",
            f"{r['reconcile']['waited_s']:.1f}, "
            f"{r['reconcile']['server_cpu_s']:.1f} ({r['reconcile']['log']})",
        ),
    ]
    head = (
        f"## Rebuild at scale: {r['recordings']:,} recordings of {r['users']} users on {r['server']}"
        + (f" behind a {r['latency_ms']:.0f} ms relay" if r.get("latency_ms") else "")
        + f" (target < {r['target_s']:.0f} s: {'met' if r['met'] else 'missed'})\n\n"
        + (f"Median of {len(r['runs']['main'])} starts. " if len(r["runs"]["main"]) > 1 else "")
        + f"Storage writes: {r['objects']:,} objects in {r['write_s']:.0f} s.\n\n"
        + "| measurement | value |\n|---|---:|\n"
    )
    text = head + "".join(f"| {a} | {b} |\n" for a, b in rows)
    if len(r["runs"]) > 1 or len(r["runs"]["main"]) > 1:
        text += "\nEvery start (seconds to the full count / to ready, server CPU s, peak RSS MiB):\n\n"
        for side, runs in r["runs"].items():
            cells = ", ".join(
                f"{m['full_count_s']:.1f} / {m['ready_s']:.1f}, {m['server_cpu_s']:.1f}, "
                f"{m['peak_rss_mib']:.0f}"
                for m in runs
            )
            text += f"- {side} (`{r['repos'][side]}`): {cells}\n"
    return text
