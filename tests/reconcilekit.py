"""Helpers for the reconciliation tests (lite.catalog.reconcile): a store with two recordings of one user,
and the reconciler of a restarted process.

A kill is simulated by writing what the killed request had written (an object without its manifest,
a manifest without its index row) or by failing the step after it; `restarted()` is the reconciler
of a process that started after all of that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from lite.catalog import reconcile
from lite.catalog.reconcile import Reconciler
from lite.config import Settings
from lite.ids import new_id
from lite.services import Services, build_services
from tests.maintenancekit import upload, variant


@dataclasses.dataclass
class Lite:
    services: Services
    user_id: int
    recordings: list[int]

    def orphan_key(self, name: str = "killed.wav") -> str:
        """Where an upload killed before its manifest left its file: a recording id nobody knows."""
        return f"recordings/{self.user_id}/{new_id()}/{name}"

    async def keys(self) -> set[str]:
        return {info.key async for info in self.services.storage.list("recordings/")}


@pytest.fixture(name="lite")
async def fixture_lite(settings: Settings) -> AsyncIterator[Lite]:
    """Two recordings of one user; on minio/s3 a grace of 0, so that the cases need not wait."""
    services = await build_services(dataclasses.replace(settings, reconcile_grace_seconds=0))
    user = await services.auth.create_user("owner@example.com", None)
    recordings = [(await upload(services, user.id, variant(n)))["id"] for n in range(2)]
    yield Lite(services, user.id, recordings)
    await services.aclose()


def restarted(services: Services) -> Reconciler:
    """The reconciler of a process started after everything stored so far was written."""
    return Reconciler(services, started=datetime.now(UTC) + reconcile.CLOCK_SLACK)
