"""Conditional writes (issue 19): create-if-absent and replace-if-unchanged, on every backend and
both S3 servers. moto enforces If-None-Match and If-Match on PutObject; s3rver ignores both (it
overwrites), so there Lite's start-up probe finds out and Lite checks, then writes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest
from botocore.awsrequest import AWSRequest, AWSResponse

from lite.config import Settings
from lite.errors import WriteConflict
from lite.ops.metrics import Metrics
from lite.storage import LocalStorage, Storage, make_storage
from lite.storage.base import Tagged
from lite.storage.metered import MeteredStorage
from tests import test_storage as storage_suite
from tests.conftest import split_backend

pytestmark = pytest.mark.anyio
# The storage suite's fixtures: every backend, on both S3 servers, built as the server builds it.
backend, storage = storage_suite.backend, storage_suite.storage
KEY = "recordings/1/2/manifest.json"
# Which stores enforce the conditions themselves (verified: moto 5.2 checks both headers on
# PutObject; s3rver 4.0.4 reads neither on PUT).
ENFORCING = {"local", "moto"}


def enforcing(backend: str) -> bool:
    kind, server = split_backend(backend)
    return (kind if kind == "local" else server) in ENFORCING


async def outcomes(writes: list[Awaitable[str]]) -> tuple[int, int]:
    """(writes that won, writes refused with WriteConflict); anything else fails the test."""
    results = await asyncio.gather(*writes, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, WriteConflict):
            raise result
    conflicts = sum(isinstance(result, WriteConflict) for result in results)
    return len(results) - conflicts, conflicts


async def test_the_capability_flag_says_whether_the_store_enforces_conditions(
    storage: Storage, backend: str
) -> None:
    assert storage.conditional_writes is enforcing(backend)
    assert [info async for info in storage.list(".lite/")] == []  # the probe left nothing


async def test_a_missing_object_has_no_tag(storage: Storage) -> None:
    assert await storage.get_tagged(KEY) is None


async def test_create_if_absent_wins_once(storage: Storage) -> None:
    etag = await storage.put_new(KEY, b"first")
    with pytest.raises(WriteConflict):
        await storage.put_new(KEY, b"second")
    tagged = await storage.get_tagged(KEY)
    assert tagged is not None
    assert (tagged.data, tagged.etag) == (b"first", etag)


async def test_a_replace_with_the_current_tag_succeeds_with_a_new_tag(storage: Storage) -> None:
    first = await storage.put_new(KEY, b"v1")
    second = await storage.put_replacing(KEY, b"v2", first)
    assert second != first
    tagged = await storage.get_tagged(KEY)
    assert tagged is not None
    assert (tagged.data, tagged.etag) == (b"v2", second)
    third = await storage.put_replacing(KEY, b"v3", tagged.etag)
    assert (await storage.read_bytes(KEY), len({first, second, third})) == (b"v3", 3)


async def test_a_replace_with_a_stale_tag_conflicts_and_changes_nothing(storage: Storage) -> None:
    stale = await storage.put_new(KEY, b"v1")
    current = await storage.put_replacing(KEY, b"v2", stale)
    with pytest.raises(WriteConflict):
        await storage.put_replacing(KEY, b"lost update", stale)
    tagged = await storage.get_tagged(KEY)
    assert tagged is not None
    assert (tagged.data, tagged.etag) == (b"v2", current)


async def test_a_replace_of_a_deleted_object_conflicts_and_does_not_recreate_it(storage: Storage) -> None:
    etag = await storage.put_new(KEY, b"v1")
    await storage.delete(KEY)
    with pytest.raises(WriteConflict):
        await storage.put_replacing(KEY, b"v2", etag)
    assert await storage.get_tagged(KEY) is None


async def test_a_plain_write_in_between_makes_a_replace_conflict(storage: Storage) -> None:
    etag = await storage.put_new(KEY, b"v1")
    await storage.put_bytes(KEY, b"someone else")
    with pytest.raises(WriteConflict):
        await storage.put_replacing(KEY, b"v2", etag)
    assert await storage.read_bytes(KEY) == b"someone else"


async def test_of_ten_concurrent_creators_exactly_one_wins(storage: Storage, backend: str) -> None:
    won, refused = await outcomes([storage.put_new(KEY, f"creator {i}".encode()) for i in range(10)])
    tagged = await storage.get_tagged(KEY)
    assert tagged is not None and tagged.data.startswith(b"creator ")
    if enforcing(backend):
        assert (won, refused) == (1, 9)
    else:  # check-then-write: racing creators may all pass the check; the last write stays
        assert won >= 1 and won + refused == 10


async def test_of_ten_concurrent_replacers_of_one_version_exactly_one_wins(
    storage: Storage, backend: str
) -> None:
    etag = await storage.put_new(KEY, b"v1")
    writes = [storage.put_replacing(KEY, f"replacer {i}".encode(), etag) for i in range(10)]
    won, refused = await outcomes(writes)
    if enforcing(backend):
        assert (won, refused) == (1, 9)
    else:
        assert won >= 1 and won + refused == 10
    assert (await storage.read_bytes(KEY)).startswith(b"replacer ")


async def test_a_store_that_ignores_the_conditions_is_found_at_start(
    settings: Settings, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """s3rver overwrites whatever the headers say: the start-up probe notices and says so once."""
    if split_backend(backend)[0] == "local":
        pytest.skip("the local volume enforces them itself")
    store = make_storage(settings)
    assert store.conditional_writes is False  # not probed yet: check first, then write
    with caplog.at_level(logging.WARNING, logger="lite.storage.s3"):
        await store.prepare()
    warnings = [r.getMessage() for r in caplog.records if "conditional writes" in r.getMessage()]
    if enforcing(backend):
        assert store.conditional_writes is True and warnings == []
    else:
        assert store.conditional_writes is False
        assert len(warnings) == 1
        assert "If-None-Match: ignored, If-Match: ignored" in warnings[0]
        assert settings.s3 is not None and str(settings.s3.endpoint) in warnings[0]
    await store.aclose()


async def test_a_store_opened_without_the_probe_still_refuses_a_second_create(settings: Settings) -> None:
    """Command-line tools may not run prepare(): writes check first and send the condition too."""
    await make_storage(settings).prepare()  # the bucket (minio creates it), or the directory
    store = make_storage(settings)
    assert store.conditional_writes is (store.backend == "local")
    etag = await store.put_new(KEY, b"v1")
    with pytest.raises(WriteConflict):
        await store.put_new(KEY, b"v2")
    with pytest.raises(WriteConflict):
        await store.put_replacing(KEY, b"v2", '"0123"')
    assert await store.put_replacing(KEY, b"v3", etag) != etag
    await store.aclose()


async def test_a_lost_race_is_measured_but_is_no_storage_error(tmp_path: Path) -> None:
    metrics = Metrics()
    store = MeteredStorage(LocalStorage(tmp_path, fsync=False), metrics)
    assert store.conditional_writes is True
    etag = await store.put_new(KEY, b"v1")
    with pytest.raises(WriteConflict):
        await store.put_new(KEY, b"v2")
    with pytest.raises(WriteConflict):
        await store.put_replacing(KEY, b"v2", "stale")
    assert await store.get_tagged(KEY) == Tagged(b"v1", etag)

    def count(name: str, operation: str) -> float:
        return metrics.registry.get_sample_value(name, {"backend": "local", "operation": operation}) or 0

    counts = {
        op: count("lite_storage_operations_total", op) for op in ("put_new", "put_replacing", "get_tagged")
    }
    assert counts == {"put_new": 2, "put_replacing": 1, "get_tagged": 1}
    assert (
        count("lite_storage_errors_total", "put_new")
        == count("lite_storage_errors_total", "put_replacing")
        == 0
    )


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.data


def _refuse_conditions(request: AWSRequest, **_: object) -> AWSResponse | None:
    """A store that answers 501 NotImplemented to the condition headers themselves."""
    if not {"If-Match", "If-None-Match"} & set(request.headers.keys()):
        return None
    body = b"<Error><Code>NotImplemented</Code><Message>not implemented</Message></Error>"
    return AWSResponse(request.url, 501, {"Content-Type": "application/xml"}, _Body(body))


@pytest.mark.parametrize("backend", ["s3"])
async def test_a_store_that_refuses_the_headers_gets_writes_without_them(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_storage(settings)
    store.client.meta.events.register("before-send.s3.PutObject", _refuse_conditions)  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="lite.storage.s3"):
        await store.prepare()
    assert store.conditional_writes is False
    assert any("If-None-Match: refused, If-Match: refused" in r.getMessage() for r in caplog.records)
    etag = await store.put_new(KEY, b"v1")  # checked first, then sent without the header
    with pytest.raises(WriteConflict):
        await store.put_new(KEY, b"v2")
    with pytest.raises(WriteConflict):
        await store.put_replacing(KEY, b"v2", '"stale"')
    assert await store.put_replacing(KEY, b"v3", etag) != etag
    assert await store.read_bytes(KEY) == b"v3"
    await store.aclose()
