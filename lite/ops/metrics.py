"""The server's Prometheus metrics: one `Metrics` per app, on its own registry.

A registry per app (not prometheus_client's global one) lets several apps live in one process, as
the tests run them, without one's counters showing up in, or clashing with, another's.

Labels are bounded by construction: route templates, backend and operation names, statuses and
outcomes; never an id, an email, a storage key or a token. docs/metrics.md describes every metric.

Counters and histograms move where the work happens (lite.http.metrics, lite.storage.metered,
lite.sessions); what the index knows (recordings, media files, the webhook outbox) is read at scrape
time by `IndexCollector`, with a few cheap queries, so nothing is counted twice or drifts.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from lite.catalog.index import Index

log = logging.getLogger("lite.ops.metrics")

# The `_created` series double the exposition's size and no dashboard or alert here reads them.
disable_created_metrics()

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STORAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0)
FINALIZE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
WEBHOOK_OUTCOMES = ("delivered", "retried", "dropped", "refused")
RECORDING_STATUSES = ("in_progress", "completed", "failed")


class Metrics:
    """Every metric object of one app; services hold one and hand it to what counts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "lite_http_requests", "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_seconds = Histogram(
            "lite_http_request_duration_seconds", "Time from a request's arrival to its last byte sent",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.raw_bytes = Counter(
            "lite_raw_bytes_served", "Media bytes sent by GET .../media/{media_id}/raw, by how",
            ["via"], registry=r,
        )  # fmt: skip
        self.storage_ops = Counter(
            "lite_storage_operations", "Storage operations, by backend and operation",
            ["backend", "operation"], registry=r,
        )  # fmt: skip
        self.storage_errors = Counter(
            "lite_storage_errors", "Storage operations that failed (a missing key is not a failure)",
            ["backend", "operation"], registry=r,
        )  # fmt: skip
        self.storage_seconds = Histogram(
            "lite_storage_operation_duration_seconds", "Duration of storage operations",
            ["backend", "operation"], buckets=STORAGE_BUCKETS, registry=r,
        )  # fmt: skip
        self.chunks = Counter("lite_bot_chunks_received", "Bot chunks stored and acknowledged", registry=r)
        self.chunk_bytes = Counter(
            "lite_bot_chunk_bytes_received", "Bytes of the bot chunks stored", registry=r
        )
        self.chunks_refused = Counter(
            "lite_bot_chunks_refused",
            "Bot chunks answered 503 + Retry-After (BOT_MAX_INFLIGHT_CHUNKS)",
            registry=r,
        )
        self.chunks_in_flight = Gauge(
            "lite_bot_chunks_in_flight", "Bot chunks being received now", registry=r
        )
        self.finalize_seconds = Histogram(
            "lite_finalize_duration_seconds", "Time to assemble a bot session into its masters, by result",
            ["result"], buckets=FINALIZE_BUCKETS, registry=r,
        )  # fmt: skip
        self.finalize_queue = Gauge(
            "lite_finalize_queue", "Bot sessions queued for finalizing or being finalized", registry=r
        )
        self.webhooks = Counter(
            "lite_webhook_deliveries", "Webhook delivery attempts, by outcome", ["outcome"], registry=r
        )
        for outcome in WEBHOOK_OUTCOMES:  # present at 0 from the start, so rate() and alerts see them
            self.webhooks.labels(outcome)
        self._webhook = {outcome: self.webhooks.labels(outcome) for outcome in WEBHOOK_OUTCOMES}

    def chunk_received(self, size: int) -> None:
        self.chunks.inc()
        self.chunk_bytes.inc(size)

    def webhook(self, outcome: str) -> None:
        self._webhook[outcome].inc()

    @contextmanager
    def finalizing(self) -> Iterator[dict[str, str]]:
        """Around one finalize: in the queue gauge meanwhile, then timed under the result the
        caller puts in the yielded dict (an exception: "error")."""
        result = {"result": "error"}
        started = perf_counter()
        self.finalize_queue.inc()
        try:
            yield result
        finally:
            self.finalize_queue.dec()
            self.finalize_seconds.labels(result["result"]).observe(perf_counter() - started)

    def watch(self, index: Index) -> None:
        """Report what `index` holds at every scrape; `Metrics.of(index)` finds this object again."""
        self.registry.register(IndexCollector(index))
        _BY_INDEX[index] = self

    @staticmethod
    def of(index: Index) -> Metrics:
        """The metrics of the app whose index this is; a detached one for an index no app watches
        (a component built on its own, as in unit tests), so callers never check for None."""
        found = _BY_INDEX.get(index)
        return found if found is not None else Metrics()


# Index -> its app's Metrics: lets a component built from the index alone (the webhook worker, made
# by lite.background) count into the right registry without another constructor argument.
_BY_INDEX: weakref.WeakKeyDictionary[Index, Metrics] = weakref.WeakKeyDictionary()


class IndexCollector(Collector):
    """Gauges read from the index at scrape time. Each query is cheap at a million recordings:
    the per-user count table kept by triggers, the in-progress partial index, and COUNT(*) over
    media_files and the outbox (a scan of their smallest b-tree, a few ms per million rows)."""

    def __init__(self, index: Index) -> None:
        # Weak: the Metrics that holds this collector is the value of _BY_INDEX[index], and a strong
        # reference back would keep every index (and app) of a process alive for good.
        self.index = weakref.ref(index)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing to describe ahead: no query when the collector is registered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        index = self.index()
        if index is None:
            return
        try:
            yield from self._collect(index)
        except sqlite3.Error as exc:  # a scrape must not fail because the index is busy or closed
            log.warning("metrics: the index could not be read: %s", exc)

    def _collect(self, index: Index) -> Iterator[GaugeMetricFamily]:
        db = index.db
        by_status = dict.fromkeys(RECORDING_STATUSES, 0)
        for status, n in db.execute("SELECT status, SUM(n) FROM recording_counts GROUP BY status"):
            by_status[str(status)] = int(n or 0)
        recordings = GaugeMetricFamily(
            "lite_recordings", "Recordings in the index, by status", labels=["status"]
        )
        for status, n in by_status.items():
            recordings.add_metric([status], n)
        sessions = GaugeMetricFamily(
            "lite_bot_sessions_active", "Bot sessions in progress (recordings with status in_progress)"
        )
        sessions.add_metric([], by_status["in_progress"])
        total = int(db.execute("SELECT COUNT(*) FROM media_files").fetchone()[0])
        receiving = int(
            db.execute(
                "SELECT COUNT(*) FROM recordings r JOIN media_files m ON m.recording_id = r.id "
                "WHERE r.status = 'in_progress' AND m.state = 'receiving'"
            ).fetchone()[0]
        )
        media = GaugeMetricFamily(
            "lite_media_files", "Media files in the index, by state (receiving: a bot still sends chunks)",
            labels=["state"],
        )  # fmt: skip
        media.add_metric(["receiving"], receiving)
        media.add_metric(["complete"], total - receiving)
        outbox = GaugeMetricFamily("lite_webhook_outbox_length", "Webhook deliveries waiting in the outbox")
        outbox.add_metric([], int(db.execute("SELECT COUNT(*) FROM webhook_outbox").fetchone()[0]))
        yield from (recordings, sessions, media, outbox)
