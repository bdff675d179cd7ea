"""What every phase of a run shares: the plan, the checkout under test, the temporary and output
folders, the results so far, and helpers to start a Lite server and to profile it."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import harness
from harness import log
from plan import Plan
from profiling import Profiler
from servers import LiteServer

BLOCK = 256 * 1024  # the Range size of measurements 2, 3 and 7


class RunContext:
    """One run's state, made from the command line; every phase's run() takes it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.plan = Plan.choose(args.quick)
        self.repo: Path = args.repo.resolve()
        self.out: Path = args.out.resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="lite-bench-", dir=args.tmp))
        self.server_env = dict(kv.split("=", 1) for kv in args.server_env)
        # Phases add their numbers as they go, so a phase failing half-way keeps what it measured.
        self.results: dict[str, Any] = {"quick": args.quick, "errors": {}}
        self.profiles: dict[str, str] = {}

    def lite(self, name: str, extra: dict[str, str] | None = None) -> LiteServer:
        """A Lite server (not started) with its own data folder and log, named after the phase."""
        data = self.tmp / f"data-{name}"
        return LiteServer(
            self.repo, data, self.tmp / f"lite-{name}.log", {**self.server_env, **(extra or {})}
        )

    @contextlib.contextmanager
    def profiled(self, name: str, pid: int) -> Iterator[None]:
        """With --profile, py-spy on `pid` during the block. A block that fails leaves no profile
        (stop_all() ends py-spy), as the phase's numbers are gone too."""
        if not self.args.profile:
            yield
            return
        profiler = Profiler(pid, self.out / f"profile-{name}.txt")
        yield
        self.profiles[name] = profiler.finish()
        log(f"profile {name}:\n{self.profiles[name]}")

    def cleanup(self) -> None:
        harness.stop_all()
        if self.args.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
