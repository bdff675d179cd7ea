"""GET /metrics: a known workload moves the counters by exactly that much, on every backend.

Parsed with prometheus_client's own parser, as Prometheus reads it. Labels are bounded: route
templates, never an id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lite.catalog.index import Index
from lite.catalog.records import OutboxEntry
from lite.config import Settings, load_settings
from lite.errors import NotFound, StorageUnavailable
from lite.ops.metrics import Metrics
from lite.sessions.webhook_delivery import Delivery
from lite.sessions.webhooks import SYSTEM, row_key
from lite.storage import LocalStorage
from lite.storage.metered import MeteredStorage
from tests.conftest import LiveServer, start_server
from tests.test_api_recordings import upload
from tests.test_bot_upload import send_chunk, wav_chunks

RAW = "/recordings/{recording_id}/media/{media_id}/raw"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client, **headers: str) -> Samples:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def assert_no_ids_in_labels(samples: Samples) -> None:
    for name, labels in samples:
        for label, text in labels:
            assert not re.search(r"\d{6,}", text), f"{name} {label}={text!r}"


def test_requests_raw_bytes_and_storage_operations_are_counted_exactly(
    server: LiveServer, api: httpx.Client, backend: str
) -> None:
    before = scrape(api)
    recordings = [upload(api, session_uid=f"m-{i}").json() for i in range(3)]
    raw = f"/recordings/{recordings[0]['id']}/media/{recordings[0]['media_files'][0]['id']}/raw"
    fast = api.get(raw, headers={"Range": "bytes=10-109"})  # the fast path
    assert fast.status_code == 206 and len(fast.content) == 100
    routed = api.get(raw, params={"x": "1"}, headers={"Range": "bytes=0-49"})  # Litestar's route
    assert routed.status_code == 206 and len(routed.content) == 50
    assert api.head(raw).status_code == 200  # headers only: no bytes
    assert api.get("/no/such/path/123456789").status_code == 404
    after = scrape(api)

    requests = "lite_http_requests_total"
    assert moved(before, after, requests, method="POST", route="/recordings", status="201") == 3
    assert moved(before, after, requests, method="GET", route=RAW, status="206") == 2
    assert moved(before, after, requests, method="HEAD", route=RAW, status="200") == 1
    assert moved(before, after, requests, route="unmatched", status="404") == 1
    assert moved(before, after, "lite_http_request_duration_seconds_count", method="GET", route=RAW) == 2
    assert moved(before, after, "lite_raw_bytes_served_total") == 150
    kind = backend.partition("@")[0]
    ops = "lite_storage_operations_total"
    assert moved(before, after, ops, backend=kind, operation="put_stream") >= 3
    reads = sum(moved(before, after, ops, backend=kind, operation=op) for op in ("read_range", "open_read"))
    assert reads >= 2
    assert moved(before, after, "lite_storage_errors_total", backend=kind) == 0
    assert value(after, "lite_recordings", status="completed") == 3
    assert value(after, "lite_media_files", state="complete") == 3
    assert_no_ids_in_labels(after)


def test_bot_chunks_finalize_and_sessions_are_counted_exactly(server: LiveServer, api: httpx.Client) -> None:
    chunks = wav_chunks(4)
    before = scrape(api)
    for seq, chunk in enumerate(chunks[:3]):
        assert send_chunk(api, chunk, seq, session="metered").status_code == 201
    during = scrape(api)
    assert moved(before, during, "lite_bot_chunks_received_total") == 3
    assert moved(before, during, "lite_bot_chunk_bytes_received_total") == sum(map(len, chunks[:3]))
    assert value(during, "lite_bot_sessions_active") == 1
    assert value(during, "lite_recordings", status="in_progress") == 1
    assert value(during, "lite_media_files", state="receiving") == 1
    assert moved(before, during, "lite_finalize_duration_seconds_count") == 0

    final = send_chunk(api, chunks[3], 3, session="metered", final=True)
    assert final.status_code == 201 and final.json()["status"] == "completed"
    after = scrape(api)
    assert moved(before, after, "lite_bot_chunks_received_total") == 4
    assert moved(before, after, "lite_bot_chunk_bytes_received_total") == sum(map(len, chunks))
    assert moved(before, after, "lite_finalize_duration_seconds_count") == 1
    assert moved(before, after, "lite_finalize_duration_seconds_count", result="completed") == 1
    assert value(after, "lite_bot_sessions_active") == 0
    assert value(after, "lite_finalize_queue") == 0
    assert value(after, "lite_media_files", state="receiving") == 0
    upload_route = "/internal/recordings/upload"
    assert moved(before, after, "lite_http_requests_total", route=upload_route, status="201") == 4
    assert_no_ids_in_labels(after)


@pytest.fixture
def guarded(settings: Settings) -> Iterator[LiveServer]:
    live = start_server(dataclasses.replace(settings, metrics_token="scrape-secret"))
    yield live
    live.stop()


@pytest.mark.parametrize("backend", ["local"])
def test_with_metrics_token_set_a_scrape_needs_the_bearer_token(guarded: LiveServer) -> None:
    with httpx.Client(base_url=guarded.url, timeout=30) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
            answer = client.get("/metrics", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.json()["detail"]
        samples = scrape(client, Authorization="Bearer scrape-secret")
        assert any(name == "lite_http_requests_total" for name, _ in samples)


@pytest.mark.parametrize("backend", ["local"])
def test_unknown_methods_and_paths_do_not_become_labels(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(5):
            client.request("BREW", f"/coffee/{i}")
            client.get(f"/recordings-{i}/x")
        labels = {dict(ls).get("route") for n, ls in scrape(client) if n == "lite_http_requests_total"}
        methods = {dict(ls).get("method") for n, ls in scrape(client) if n == "lite_http_requests_total"}
    assert not any(route and ("coffee" in route or "recordings-" in route) for route in labels)
    assert "BREW" not in methods


def test_metered_storage_counts_failures_but_not_missing_keys(tmp_path: Path) -> None:
    metrics = Metrics()
    storage = MeteredStorage(LocalStorage(tmp_path, fsync=False), metrics)

    async def workload() -> None:
        await storage.put_bytes("recordings/1/2/a.wav", b"abc")
        assert await storage.read_bytes("recordings/1/2/a.wav") == b"abc"
        with pytest.raises(NotFound):
            await storage.stat("recordings/1/2/missing.wav")
        assert [info.key async for info in storage.list("recordings/")] == ["recordings/1/2/a.wav"]

        async def down(key: str) -> None:
            raise StorageUnavailable("the disk is gone")

        storage.inner.delete = down  # type: ignore[method-assign]
        with pytest.raises(StorageUnavailable):
            await storage.delete("recordings/1/2/a.wav")

    asyncio.run(workload())

    def count(name: str, operation: str) -> float:
        return metrics.registry.get_sample_value(name, {"backend": "local", "operation": operation}) or 0

    for operation in ("put_bytes", "read_bytes", "stat", "list", "delete"):
        assert count("lite_storage_operations_total", operation) == 1, operation
    assert count("lite_storage_errors_total", "stat") == 0  # NotFound is an answer
    assert count("lite_storage_errors_total", "delete") == 1
    assert count("lite_storage_operation_duration_seconds_count", "read_bytes") == 1


@pytest.mark.parametrize(
    ("status", "outcome"), [(200, "delivered"), (503, "retried"), (410, "refused"), (200, "dropped")]
)
def test_webhook_outcomes_are_counted(tmp_path: Path, status: int, outcome: str) -> None:
    index = Index(tmp_path / "lite.db")
    metrics = Metrics()
    metrics.watch(index)
    url = "http://receiver.example/hook"
    row = OutboxEntry(event_id=row_key("evt_1", SYSTEM, url), url=url, body="{}",
                      created_at="2026-01-01T00:00:00+00:00", next_at=time.time())  # fmt: skip
    assert index.outbox_add([row], limit=10) == 1
    max_age = 1.0 if outcome == "dropped" else 1e10  # the row was made long ago
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    settings = dataclasses.replace(settings, webhook_max_age_seconds=max_age)
    delivery = Delivery(settings, index, asyncio.Event())  # finds the app's metrics from the index
    [queued] = index.outbox_due(time.time() + 1, 10)

    async def attempt() -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(status))
        async with httpx.AsyncClient(transport=transport) as client:
            await delivery.attempt(client, queued)

    asyncio.run(attempt())
    counted = {o: metrics.registry.get_sample_value("lite_webhook_deliveries_total", {"outcome": o})
               for o in ("delivered", "retried", "refused", "dropped")}  # fmt: skip
    assert counted == {o: 1.0 if o == outcome else 0.0 for o in counted}
    outbox = metrics.registry.get_sample_value("lite_webhook_outbox_length")
    assert outbox == (1 if outcome == "retried" else 0)
    index.close()


def test_the_dashboard_and_the_docs_name_only_metrics_that_exist(tmp_path: Path) -> None:
    metrics = Metrics()
    index = Index(tmp_path / "lite.db")
    metrics.watch(index)
    families = {family.name for family in metrics.registry.collect()}
    index.close()
    root = Path(__file__).parent.parent
    dashboard = json.loads((root / "deploy/grafana/lite-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    names = {name for expr in exprs for name in re.findall(r"lite_\w+", expr)}
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in names}
    assert used <= families, used - families
    for panel in ("Requests/s by route", "p99 latency by route", "/raw bytes/s", "Active bot sessions"):
        assert panel in {p["title"] for p in dashboard["panels"]}
    docs = (root / "docs/metrics.md").read_text()
    assert [name for name in sorted(families) if f"`{name}" not in docs] == []
