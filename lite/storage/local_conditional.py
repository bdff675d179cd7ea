"""Conditional writes on the local volume: create-if-absent and replace-if-unchanged.

One process owns the data directory (its lock file), so a lock per key makes each check and the
write it guards one step: every write and delete in lite.storage.local takes the same lock while
it changes a name. The new content reaches a temp file (and the disk, with fsync on) before the
lock is taken; a create then links it into place, which fails if the name exists, so a crash
leaves the whole new object or none. The tag is the SHA-256 of the content.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from anyio import to_thread

from lite.errors import NotFound, StorageFull, StorageUnavailable, WriteConflict
from lite.storage.base import Tagged

T = TypeVar("T")
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NO_HARD_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS)  # some FUSE and network mounts
_LOCKS = tuple(threading.Lock() for _ in range(64))  # striped: a few keys share one, briefly


def storage_error(exc: OSError) -> Exception:
    if exc.errno in _FULL:
        return StorageFull("the recordings disk is full; nothing was stored")
    return StorageUnavailable(f"local storage failed: {exc.strerror or exc}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def key_lock(path: Path) -> threading.Lock:
    """Held by every write and delete of `path` while it changes what the name points to."""
    return _LOCKS[hash(path) % len(_LOCKS)]


def tag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _link(tmp: Path, path: Path, key: str) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise WriteConflict(f"{key} exists already") from None
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if path.exists():  # no hard links on this file system: the key lock makes this one step
            raise WriteConflict(f"{key} exists already") from None
        os.replace(tmp, path)


class LocalConditional:
    """get_tagged, put_new and put_replacing for LocalStorage."""

    fsync: bool
    temp_mark: str
    conditional_writes = True
    _path: Callable[[str], Path]

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return await to_thread.run_sync(fn, *args)
        except OSError as exc:
            raise storage_error(exc) from exc

    async def get_tagged(self, key: str) -> Tagged | None:
        def read() -> Tagged | None:
            try:
                data = _read(self._path(key))
            except NotFound:
                return None
            return None if data is None else Tagged(data, tag_of(data))

        return await self._run(read)

    async def put_new(self, key: str, data: bytes) -> str:
        return await self._run(self._conditional, key, data, None)

    async def put_replacing(self, key: str, data: bytes, etag: str) -> str:
        return await self._run(self._conditional, key, data, etag)

    def _conditional(self, key: str, data: bytes, etag: str | None) -> str:
        """Write `data` under `key` if nothing is there (`etag` None) or its tag is `etag`."""
        path = self._path(key)
        tmp = path.with_name(f".{path.name}{self.temp_mark}{secrets.token_hex(6)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            with key_lock(path):
                if etag is None:
                    _link(tmp, path, key)
                else:
                    current = _read(path)
                    if current is None:
                        raise WriteConflict(f"{key} was deleted since it was read")
                    if tag_of(current) != etag:
                        raise WriteConflict(f"{key} changed since it was read")
                    os.replace(tmp, path)
            if self.fsync:
                fsync_dir(path.parent)
        finally:
            tmp.unlink(missing_ok=True)
        return tag_of(data)
