"""Local filesystem backend: one file per key under a root directory.

Writes go to a hidden temp file in the target directory and are renamed into place, so a reader
or a crash never sees a partial file under a real key; with fsync on, the file and its directory
reach the disk before the write returns. Conditional writes (manifests): local_conditional.py.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from anyio import to_thread

from lite.errors import NotFound, StorageUnavailable
from lite.storage.base import ObjectInfo, Storage
from lite.storage.local_conditional import LocalConditional, key_lock
from lite.storage.local_conditional import fsync_dir as _fsync_dir
from lite.storage.local_conditional import storage_error as _storage_error
from lite.storage.readahead import read_ahead

log = logging.getLogger("lite.storage.local")
READ_BLOCK = 4 * 1024 * 1024
WRITE_BLOCK = 1024 * 1024
RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)  # Linux: read only what is cached
TEMP_MARK = ".part-"
RESOLVED_PATHS = 10_000


def _blocks_of(f: BinaryIO, length: int | None) -> Callable[[], bytes]:
    """A blocking reader of the next block of `f`, b"" after `length` bytes (or at the end)."""
    remaining = length

    def read() -> bytes:
        nonlocal remaining
        want = READ_BLOCK if remaining is None else min(READ_BLOCK, remaining)
        block = f.read(want) if want > 0 else b""
        if remaining is not None:
            remaining -= len(block)
        return block

    return read


def _create(tmp: Path) -> BinaryIO:
    tmp.parent.mkdir(parents=True, exist_ok=True)
    return open(tmp, "wb")


class LocalStorage(LocalConditional, Storage):
    backend = "local"

    def __init__(self, root: Path, fsync: bool = True) -> None:
        self.root = root.resolve()
        self.fsync = fsync
        self._resolved: dict[str, Path] = {}  # key -> its checked path (no symlinks are made under root)
        # Temp names carry this process's token, so leftovers of a killed process can be told apart.
        self.temp_mark = f"{TEMP_MARK}{secrets.token_hex(4)}-"

    def _path(self, key: str) -> Path:
        path = self._resolved.get(key)
        if path is not None:  # resolving costs an lstat per folder, on every Range a player asks for
            return path
        path = (self.root / key).resolve()
        # Keys are validated upstream; this is the last line of defence against traversal.
        if not path.is_relative_to(self.root) or path == self.root:
            raise NotFound("no such object")
        if len(self._resolved) >= RESOLVED_PATHS:
            self._resolved.clear()
        self._resolved[key] = path
        return path

    async def _write(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{path.name}{self.temp_mark}{secrets.token_hex(6)}")
        f: BinaryIO | None = None
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= WRITE_BLOCK:
                    if f is None:
                        f = await to_thread.run_sync(_create, tmp)
                    await to_thread.run_sync(f.write, b"".join(pending))
                    pending, pending_size = [], 0
            # Objects smaller than a block (bot chunks, manifests) take one worker-thread hop in all.
            await to_thread.run_sync(self._finish, f, b"".join(pending), tmp, path)
        except BaseException as exc:
            if f is not None:
                f.close()
            tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _storage_error(exc) from exc
            raise

    def _finish(self, f: BinaryIO | None, tail: bytes, tmp: Path, path: Path) -> None:
        if f is None:
            f = _create(tmp)
        try:
            f.write(tail)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        finally:
            f.close()
        with key_lock(path):  # not between a conditional write's check and its rename
            os.replace(tmp, path)
        if self.fsync:
            _fsync_dir(path.parent)

    def _open(self, key: str, buffering: int = -1) -> BinaryIO:
        try:
            return open(self._path(key), "rb", buffering=buffering)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound("no such object") from None
        except OSError as exc:
            raise _storage_error(exc) from exc

    def open_sync(self, key: str) -> BinaryIO:
        return self._open(key)

    def open_seekable(self, key: str) -> BinaryIO:
        return self._open(key)

    def local_file(self, key: str) -> BinaryIO:
        return self._open(key, buffering=0)  # sendfile reads the descriptor: no buffer to allocate

    async def open_read(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        f = await to_thread.run_sync(self._open, key)
        f.seek(start)
        return read_ahead(_blocks_of(f, length), f.close)

    def _pread(self, key: str, start: int, length: int) -> bytes:
        f = self._open(key)
        try:
            return os.pread(f.fileno(), length, start)
        finally:
            f.close()

    async def read_range(self, key: str, start: int, length: int) -> bytes:
        # A worker thread's hop costs more than reading a cached 256 KiB, so pages already in the
        # page cache are read right here (RWF_NOWAIT never waits for the disk); the rest, and every
        # error, take the thread.
        cached = self._read_cached(key, start, length)
        if cached is not None:
            return cached
        return await to_thread.run_sync(self._pread, key, start, length)

    def _read_cached(self, key: str, start: int, length: int) -> bytes | None:
        if RWF_NOWAIT is None:
            return None
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except OSError:
            return None
        try:
            buffer = bytearray(length)
            got = os.preadv(fd, [buffer], start, RWF_NOWAIT)
        except OSError:  # EAGAIN: not all cached; EOPNOTSUPP: this file system cannot say
            return None
        finally:
            os.close(fd)
        return bytes(buffer) if got == length else None

    async def read_bytes(self, key: str) -> bytes:
        def read() -> bytes:
            with self._open(key) as f:
                return f.read()

        return await to_thread.run_sync(read)

    async def stat(self, key: str) -> ObjectInfo:
        def stat() -> ObjectInfo:
            try:
                st = self._path(key).stat()
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound("no such object") from None
            except OSError as exc:
                raise _storage_error(exc) from exc
            return ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

        return await to_thread.run_sync(stat)

    async def delete(self, key: str) -> None:
        def delete() -> None:
            path = self._path(key)
            try:
                with key_lock(path):
                    path.unlink(missing_ok=True)
            except OSError as exc:
                raise _storage_error(exc) from exc
            # Leave no empty per-recording directories behind; stop at the root.
            parent = path.parent
            while parent != self.root and parent.is_relative_to(self.root):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

        await to_thread.run_sync(delete)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        base = self.root / prefix
        # Walk the directory under the prefix; a prefix ending mid-name filters the last level.
        top = base if prefix.endswith("/") or base.is_dir() else base.parent
        for info in await to_thread.run_sync(self._scan, top, prefix):
            yield info

    def _scan(self, top: Path, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        if not top.is_dir():
            return found
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                if TEMP_MARK in name:
                    continue
                full = Path(dirpath, name)
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    st = full.stat()
                except FileNotFoundError:
                    continue
                found.append(ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        found.sort(key=lambda info: info.key)
        return found

    async def list_dirs(self, prefix: str) -> AsyncIterator[str]:
        def names() -> list[str]:
            top = self.root / prefix
            return sorted(entry.name for entry in os.scandir(top) if entry.is_dir()) if top.is_dir() else []

        for name in await to_thread.run_sync(names):
            yield name

    def presign(self, key: str, disposition: str, content_type: str, expires: int) -> str | None:
        return None

    async def remove_leftovers(self) -> int:
        """Delete temp files that a killed process left (a SIGKILL or power cut mid-write never
        reaches the cleanup in _write); this process's own temp files are never touched."""

        def sweep() -> int:
            removed = 0
            for dirpath, _, filenames in os.walk(self.root):
                for name in filenames:
                    if TEMP_MARK in name and self.temp_mark not in name:
                        Path(dirpath, name).unlink(missing_ok=True)
                        removed += 1
            return removed

        try:
            removed = await to_thread.run_sync(sweep)
        except OSError as exc:
            raise _storage_error(exc) from exc
        if removed:
            log.info("removed %d temp files left by an earlier process", removed)
        return removed

    async def check(self) -> None:
        def probe() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            probe_path = self.root / f".probe{self.temp_mark}{secrets.token_hex(4)}"
            probe_path.write_bytes(b"ok")
            probe_path.unlink()

        try:
            await to_thread.run_sync(probe)
        except OSError as exc:
            raise StorageUnavailable(f"local storage at {self.root} is not writable: {exc.strerror}") from exc
