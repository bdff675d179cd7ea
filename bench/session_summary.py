"""The JSON line bots.py prints in session mode: latencies of the accepted chunks, refusals and
retries, errors, what became of the sessions, the finalize queue and the server's own metrics."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING

from session_settle import Settled

if TYPE_CHECKING:
    from bot_sessions import SessionLoad


def pct_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def histogram_quantile(metrics: dict[str, float], name: str, q: float) -> float:
    """Upper bound (s) of the bucket holding quantile q of a histogram, all labels summed."""
    buckets: dict[float, float] = {}
    for key, value in metrics.items():
        if key.startswith(name + "_bucket{"):
            le = key.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + value
    if not buckets or buckets.get(float("inf"), 0) == 0:
        return float("nan")
    total = buckets[float("inf")]
    for bound in sorted(buckets):
        if buckets[bound] >= q * total:
            return bound
    return float("inf")


def metric_sum(metrics: dict[str, float], prefix: str) -> float:
    """A metric summed over its labels."""
    return sum(v for k, v in metrics.items() if k.startswith(prefix))


def summary(
    args: argparse.Namespace,
    load: SessionLoad,
    settled: Settled,
    end_metrics: dict[str, float],
    load_s: float,
    client_cpu_s: float,
) -> dict[str, object]:
    n = args.bots
    outcome = Counter(settled.verdicts.values())
    completed = outcome.pop("completed", 0)
    finalize_count = metric_sum(end_metrics, "lite_finalize_duration_seconds_count")
    finalize_sum = metric_sum(end_metrics, "lite_finalize_duration_seconds_sum")
    chunks_planned = sum(int(s["chunks"]) for s in load.sessions.values())
    accepted, accepted_final, end_to_end = load.accepted, load.accepted_final, load.end_to_end
    refused, errors = load.refused, load.errors
    return {
        "mode": "sessions",
        "bots": n,
        "sessions": n,
        "chunks_per_session": args.session_chunks,
        "chunk_kb": args.chunk_kb,
        "interval_s": args.interval,
        "chunks": chunks_planned,
        "requests": len(accepted) + sum(refused.values()) + sum(errors.values()),
        "accepted": len(accepted),
        "accepted_final": len(accepted_final),
        "p50_ms": pct_ms(accepted, 0.50),
        "p95_ms": pct_ms(accepted, 0.95),
        "p99_ms": pct_ms(accepted, 0.99),
        "max_ms": max(accepted) * 1000 if accepted else float("nan"),
        "final_p50_ms": pct_ms(accepted_final, 0.50),
        "final_p95_ms": pct_ms(accepted_final, 0.95),
        "final_p99_ms": pct_ms(accepted_final, 0.99),
        "p99_by_seq_ms": {seq: pct_ms(v, 0.99) for seq, v in sorted(load.accepted_by_seq.items())},
        "end_to_end_p99_ms": pct_ms(end_to_end, 0.99),
        "end_to_end_max_ms": max(end_to_end) * 1000 if end_to_end else float("nan"),
        "refused_503": refused[503],
        "refused_429": refused[429],
        "refusal_p99_ms": pct_ms(load.refusal_latency, 0.99),
        "answered_before_body": load.answered_before_body,
        "retries": sum(refused.values()),
        "chunks_retried": sum(v for r, v in load.retries_per_chunk.items() if r),
        "max_retries_one_chunk": max(load.retries_per_chunk, default=0),
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "error_samples": [f"{kind}: {text}" for kind, text in load.samples.items()][:8],
        "abandoned": outcome.get("abandoned", 0),
        "completed": completed,
        "lost": n - completed,
        "lost_reasons": dict(outcome),
        "queue_max": max((q for _, q in load.queue_depth if q == q), default=float("nan")),
        "queue_drain_s": settled.drained_s,
        "all_completed_s": settled.all_completed_s,
        "in_flight_max": load.in_flight_max,
        "finalized": finalize_count,
        "finalize_mean_ms": finalize_sum / finalize_count * 1000 if finalize_count else float("nan"),
        "finalize_p99_bucket_s": histogram_quantile(end_metrics, "lite_finalize_duration_seconds", 0.99),
        "refused_total_metric": end_metrics.get("lite_bot_chunks_refused_total"),
        "load_s": load_s,
        "late_starts": load.late_starts,
        "client_lag_p99_ms": pct_ms(load.lags, 0.99),
        "client_cpu_s": client_cpu_s,
        "queue_depth": [(round(t, 1), q) for t, q in load.queue_depth],
    }
