"""Storage backends behind one interface; `make_storage` picks one from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lite.config import Settings
from lite.storage.base import ObjectInfo, Storage, Stored, Tagged
from lite.storage.local import LocalStorage

if TYPE_CHECKING:
    from lite.ops.metrics import Metrics

__all__ = ["LocalStorage", "ObjectInfo", "Storage", "Stored", "Tagged", "make_storage"]


def make_storage(settings: Settings, metrics: Metrics | None = None) -> Storage:
    """The configured backend; with `metrics` (the server's), every operation counted and timed."""
    storage: Storage
    if settings.storage_backend == "local":
        storage = LocalStorage(settings.local_storage_dir, fsync=settings.local_fsync)
    else:
        from lite.storage.s3 import S3Storage  # boto3 is slow to import; local users skip it

        assert settings.s3 is not None
        storage = S3Storage(settings.s3, backend=settings.storage_backend)
    if metrics is None:  # command-line tools (migrate, verify) have no /metrics to feed
        return storage
    from lite.storage.metered import MeteredStorage  # prometheus_client only where it is used

    return MeteredStorage(storage, metrics)
