"""What the server's process tree uses, read from /proc: CPU time, VmRSS/VmHWM, and an RSS sampler
thread; the process tree because uvicorn may run worker children."""

from __future__ import annotations

import contextlib
import os
import threading
import time


def _tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn workers, if the server runs several)."""
    pids, frontier = [pid], [pid]
    while frontier:
        current = frontier.pop()
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
                pids.extend(children)
                frontier.extend(children)
    return pids


def status_kib(pid: int, field_name: str) -> int:
    """A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), summed over the process tree."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
                    break
    return total


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU time of the process tree so far (all threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError), open(f"/proc/{member}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
            user += int(fields[11])  # utime (field 14)
            system += int(fields[12])  # stime (field 15)
    return user / ticks, system / ticks


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far (all threads included)."""
    return sum(cpu_split(pid))


class CpuMeter:
    """CPU seconds the process tree of `pid` uses inside `with` blocks, added up over all of them."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seconds = 0.0
        self._before = 0.0

    def __enter__(self) -> CpuMeter:
        self._before = cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += cpu_seconds(self.pid) - self._before


def wait_idle(pid: int, busy_below: float = 0.1, timeout: float = 30.0) -> float:
    """Wait until the process tree uses less than `busy_below` of a core over 1 s (a backlog left by
    an overload has drained); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < busy_below:
            break
    return time.monotonic() - started


class RssSampler:
    """Samples the server's VmRSS every `interval` seconds in a thread; marks label phases."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, KiB)
        self.marks: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._t0, status_kib(self.pid, "VmRSS")))
            self._stop.wait(self.interval)

    def mark(self, label: str) -> None:
        self.marks.append((time.monotonic() - self._t0, label))

    def __enter__(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak_between(self, start: float, end: float) -> int:
        return max((kib for t, kib in self.samples if start <= t <= end), default=0)
