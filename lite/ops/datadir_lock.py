"""One owner per data directory: an OS lock (flock) on `$DATA_DIR/lite.lock`, held while the process
lives.

Two servers on one DATA_DIR would both write the SQLite index and both reconcile the local storage
as its only writer (deleting each other's writes in flight). The kernel drops the lock when its
holder dies, even by SIGKILL, so a crash never leaves a stale lock behind. The server takes it before
it writes anything; `reindex`, `migrate` and `verify --repair` take it too (a running server must be
stopped first). Commands that only read, or that the index's own locking makes safe beside a server
(`create-user`, `issue-key`, `check-config`, `verify`), do not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path

from lite.config import ConfigError

LOCK_NAME = "lite.lock"


def lock_data_dir(data_dir: Path, holder: str) -> int:
    """Take the data directory for this process (the returned descriptor keeps the lock); raises
    ConfigError naming the directory and the current holder when another process has it."""
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ConfigError(f"DATA_DIR={data_dir} cannot be used: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        current = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown process"
        os.close(fd)
        raise ConfigError(
            f"DATA_DIR={data_dir} is in use by another Lite process ({current}); "
            "stop it first, or give this one its own DATA_DIR"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, {holder}, since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n".encode(), 0)
    return fd


def release(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)  # closing the descriptor drops the lock
