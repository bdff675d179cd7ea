"""One seam for shared storage (lite.catalog.replicas): the same service calls, on a private volume
and on a bucket other replicas share, differ only in what the catalog's capabilities answer.

Two Services on one store: on s3 (moto) two replicas on one bucket; on local a second process on the
same volume, which Lite does not support (one process owns a private volume), so it asks nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lite.catalog import shared_bucket
from lite.catalog.index import ListQuery
from lite.config import load_settings
from lite.errors import Unauthorized
from lite.services import Services, build_services
from tests.conftest import backend_env

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend", ["local", "s3"])]


@pytest.fixture
async def two(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[list[Services]]:
    endpoint = request.getfixturevalue("moto_endpoint") if backend != "local" else None
    env = backend_env(backend, tmp_path, endpoint)
    store = {"LOCAL_STORAGE_DIR": str(tmp_path / "volume")}  # ignored by s3: the bucket is the store
    replicas = [
        await build_services(load_settings({**env, **store, "DATA_DIR": str(tmp_path / name)}))
        for name in ("a", "b")
    ]
    yield replicas
    for services in replicas:
        await services.aclose()


def storage_requests(services: Services) -> float:
    return sum(
        sample.value
        for metric in services.metrics.storage_ops.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


async def test_on_a_private_volume_the_capabilities_make_no_storage_request(
    two: list[Services], backend: str
) -> None:
    a = two[0]
    user = await a.auth.create_user("seam@example.com", None)
    key = (await a.auth.create_key(user.id)).token
    before = storage_requests(a)
    # Every call that asks what other replicas may have written, through the services' own paths.
    await a.auth.user_for_key(key)
    await a.auth.keys_of(user.id)
    await a.auth.list_users()
    await a.auth.get_user(user.id)
    await a.recordings.list(user.id, ListQuery(limit=10))
    with pytest.raises(Unauthorized):
        await a.auth.user_for_key("lite_not-a-key")
    asked = storage_requests(a) - before
    assert (asked == 0) == (backend == "local"), f"{asked} storage requests on {backend}"


async def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_the_recheck_window(
    two: list[Services], backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_bucket, "KEY_RECHECK_SECONDS", 0.0)  # the window, shortened to nothing
    a, b = two
    user = await a.auth.create_user("seam@example.com", None)
    created = await a.auth.create_key(user.id)

    async def b_accepts() -> bool:
        try:
            return await b.auth.user_for_key(created.token) == user.id
        except Unauthorized:
            return False

    # Shared: b finds the key a made in the bucket. Private: b's index is the whole truth for b.
    assert await b_accepts() == (backend == "s3")
    await a.auth.revoke_key(created.key.id)
    assert not await b_accepts()
