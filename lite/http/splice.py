"""Moving bytes from one socket to another inside the kernel: splice(2) through a pipe.

A full `/raw` download from object storage is a relay: the store's socket in, the client's out.
Read into Python and written out again, each byte is copied twice more on this host; spliced, the
kernel hands the pages from one socket to the pipe and on to the other. On loopback it is no faster
than relaying blocks (bench/, measurement 7), but it costs about a third less CPU, and a client that
stops reading (a paused player) holds no memory in the server: the bytes wait in kernel buffers.

Both sockets are non-blocking; the loop runs on the event loop, waiting for readiness with
`add_reader`/`add_writer`, and gives other tasks a turn after each MiB moved. The client's socket is
passed as a duplicate descriptor: if the server closes its own descriptor meanwhile (the client
hung up), the number cannot be reused for another connection under this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os

AVAILABLE = hasattr(os, "splice")  # Linux; elsewhere (a developer's macOS) answers stream as blocks
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Python 3.10+ on Linux has the name
PIPE_SIZE = 1024 * 1024  # the unprivileged maximum (/proc/sys/fs/pipe-max-size); fewer loop turns
FLAGS = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)
# Other requests get a turn of the event loop after each MiB moved, not after every splice: a
# splice often moves a few hundred KiB, and a turn for each of them was most of the relay's user CPU.
TURN_BYTES = 1024 * 1024


class SourceFailed(ConnectionError):
    """The store's socket failed, or closed before all the promised bytes came."""


async def relay(source: int, prefix: bytes, count: int, target: int, source_timeout: float) -> None:
    """Send `prefix`, then `count` bytes read from the socket `source`, to the socket `target`.

    Raises SourceFailed if the source fails or ends early, TimeoutError if it stays silent for
    `source_timeout` seconds (0: no limit), and another OSError if the target fails (the client
    left). The target may take as long as it likes, as a paused player does."""
    out_fd, in_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # a lower pipe-max-size: the default 64 KiB, more turns
            fcntl.fcntl(in_fd, F_SETPIPE_SZ, PIPE_SIZE)
        in_pipe = os.write(in_fd, prefix) if prefix else 0
        if in_pipe != len(prefix):  # the prefix is at most 64 KiB: an empty pipe always takes it
            raise RuntimeError(f"the pipe took {in_pipe} of {len(prefix)} bytes")
        left, since_turn = count, 0
        while left or in_pipe:
            moved = False
            if left:
                try:
                    got = os.splice(source, in_fd, left, flags=FLAGS)
                except BlockingIOError:  # nothing to read yet, or the pipe is full
                    got = -1
                except OSError as exc:
                    raise SourceFailed(f"reading the store's answer failed: {exc}") from exc
                if got == 0:
                    raise SourceFailed(f"the store's answer ended {left} bytes early")
                if got > 0:
                    left, in_pipe, moved = left - got, in_pipe + got, True
                    since_turn += got
            if in_pipe:
                try:
                    in_pipe -= os.splice(out_fd, target, in_pipe, flags=FLAGS)
                    moved = True
                except BlockingIOError:
                    pass
            if moved:
                if since_turn >= TURN_BYTES:
                    since_turn = 0
                    await asyncio.sleep(0)  # a turn for every other request
            elif in_pipe:  # the client's socket is full: what is in the pipe goes first
                await _ready(target, write=True, timeout=0)
            else:
                await _ready(source, write=False, timeout=source_timeout)
    finally:
        os.close(out_fd)
        os.close(in_fd)


async def _ready(fd: int, write: bool, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout or None)
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
