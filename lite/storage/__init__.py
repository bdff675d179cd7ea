"""Storage backends behind one interface; `make_storage` picks one from the settings."""

from __future__ import annotations

from lite.config import Settings
from lite.storage.base import ObjectInfo, Storage, Stored
from lite.storage.local import LocalStorage

__all__ = ["LocalStorage", "ObjectInfo", "Storage", "Stored", "make_storage"]


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "local":
        return LocalStorage(settings.local_storage_dir, fsync=settings.local_fsync)
    from lite.storage.s3 import S3Storage  # boto3 is slow to import; local users skip it

    assert settings.s3 is not None
    return S3Storage(settings.s3, backend=settings.storage_backend)
