"""Optional py-spy sampling of the server during a measurement (run.py --profile).

py-spy writes collapsed stacks ("raw" format); the summary lists the functions where samples
were taken (self time) and the ones on the stack (inclusive time), as shares of all samples.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from harness import log, spawn, stop


class Profiler:
    """py-spy on `pid` from now until finish(); only the thread holding the GIL is sampled, which
    for an asyncio server is the one doing the work (idle worker threads would drown the rest)."""

    def __init__(self, pid: int, out: Path, rate: int = 250) -> None:
        self.out = out
        # pip puts it beside this interpreter, which need not be on PATH (a virtualenv's bin/).
        here = str(Path(sys.executable).parent)
        exe = shutil.which("py-spy") or shutil.which("py-spy", path=here)
        if exe is None:
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True, timeout=300)
            exe = shutil.which("py-spy", path=here) or "py-spy"
        args = [
            exe,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            str(rate),
            "--nonblocking",
            "--gil",
            "--output",
            str(out),
        ]
        self.proc = spawn(args, out.with_suffix(".log"))

    def finish(self, timeout: float = 30) -> str:
        # py-spy writes its output when interrupted, as on Ctrl-C.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        stop(self.proc)
        if not self.out.exists():
            log(f"py-spy wrote no profile ({self.out.with_suffix('.log')})")
            return ""
        summary = summarize(self.out)
        self.out.with_suffix(".top.txt").write_text(summary)
        return summary


def summarize(path: Path, top: int = 15) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "self (where the samples were taken):"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "inclusive (on the stack):"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top + 10)]
    return "\n".join(lines) + "\n"
