"""bots.py in its own process (so its event loop competes with nobody in the orchestrator), for
phase_bots.py and phase_sessions.py: its JSON line, and the CPU time the server used meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from procstats import CpuMeter
from servers import LiteServer

BOTS_PY = Path(__file__).resolve().parent / "bots.py"


def run_bots_process(
    server: LiteServer,
    key: str,
    n: int,
    mode_options: list[str],
    pieces: list[Path],
    prefix: str,
    timeout: float,
) -> tuple[dict[str, Any], float]:
    """n bots against server; mode_options are bots.py's options for the mode (--rounds R, or
    --session-chunks and the rest). (its JSON line, the server's CPU seconds)."""
    args = [
        sys.executable,
        str(BOTS_PY),
        "--port",
        str(server.port),
        "--key",
        key,
        "--bots",
        str(n),
        *mode_options,
        "--pieces",
        str(pieces[0].parent),
        "--prefix",
        prefix,
    ]
    with CpuMeter(server.pid) as cpu:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"bots.py exited with {out.returncode}: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result, cpu.seconds
