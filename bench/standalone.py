"""What a bench script run on its own (not as a phase of bench/run.py) needs around its body: the
signals and --time-limit turned into an exception nothing swallows, and, however the body ends,
every process it started stopped (harness.stop_all) and its temporary folder deleted or kept."""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import NoReturn

import harness
from harness import log


class Stopped(BaseException):
    """--time-limit reached or a signal: not an Exception, so nothing swallows it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGALRM:
        raise Stopped("the run took longer than --time-limit", 1)
    raise Stopped(f"stopped by {signal.Signals(signum).name}", 128 + signum)


def run_standalone(
    body: Callable[[], int],
    *,
    time_limit: int,
    tmp: Path,
    keep_tmp: bool,
    on_error: Callable[[Exception], None],
) -> NoReturn:
    """Run `body` within `time_limit` seconds and exit with its status: the signal's 128 + number
    when stopped by one, 1 at the time limit or when `body` fails (`on_error` says how)."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    signal.alarm(time_limit)
    code = 1
    try:
        code = body()
    except Stopped as exc:
        log(str(exc))
        code = exc.code
    except Exception as exc:
        on_error(exc)
    finally:
        signal.alarm(0)
        harness.stop_all()
        if keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)
