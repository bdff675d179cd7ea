"""What `python -m lite migrate` tells its operator: progress while it runs (tqdm's bar on a
terminal, a plain line every few seconds in a log) and the closing summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from lite.config import MiB


class Progress:
    """tqdm's bar on stderr when it is a terminal; otherwise (a log) a plain line every few seconds."""

    def __init__(self, objects: int, size: int, stream: TextIO) -> None:
        self.total_objects, self.total_bytes = objects, size
        self.objects = self.bytes = self.copied_bytes = 0
        self.stream = stream
        self.started = self.shown = time.monotonic()
        self.bar: tqdm | None = None
        if stream.isatty():
            self.bar = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, file=stream,
                            desc="migrate", dynamic_ncols=True, mininterval=0.1)  # fmt: skip

    def advance(self, size: int, copied: bool) -> None:
        self.objects += 1
        self.bytes += size
        self.copied_bytes += size if copied else 0
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.objects}/{self.total_objects} objects", refresh=False)
            self.bar.update(size)
            return
        now = time.monotonic()
        if now - self.shown >= 5.0:
            self.shown = now
            self.show()

    def show(self) -> None:
        done = self.bytes / self.total_bytes if self.total_bytes else 1.0
        rate = self.copied_bytes / MiB / max(time.monotonic() - self.started, 1e-6)
        text = (
            f"{done:4.0%} {self.objects}/{self.total_objects} objects,"
            f" {self.bytes / MiB:.1f}/{self.total_bytes / MiB:.1f} MiB, {rate:.1f} MiB/s"
        )
        print(f"migrate: {text}", file=self.stream, flush=True)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            self.show()


@dataclass
class Summary:
    source: str
    target: str
    dry_run: bool
    journal: Path
    objects: int = 0
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0  # copied by an earlier run, deleted at the source since
    foreign: int = 0  # in the target, not put there by migrate: left alone
    bytes_copied: int = 0
    seconds: float = 0.0
    recordings: int = 0  # recordings whose index rows now name the target
    failures: list[str] = field(default_factory=list)

    def text(self) -> str:
        rate = self.bytes_copied / MiB / max(self.seconds, 1e-6)
        verb = "would copy" if self.dry_run else "copied"
        lines = [
            f"migrate {self.source} -> {self.target}{' (dry run)' if self.dry_run else ''}: {self.objects}"
            f" objects, {verb} {self.copied} ({self.bytes_copied / MiB:.1f} MiB), {self.skipped} already"
            f" there, {self.failed} failed; {self.seconds:.1f} s"
            + ("" if self.dry_run else f", {rate:.1f} MiB/s"),
            *(f"  failed: {failure}" for failure in self.failures[:50]),
        ]
        if self.removed:
            removed = "would remove" if self.dry_run else "removed"
            lines.append(f"{removed} {self.removed} objects from the target: deleted at the source since")
        if self.foreign:
            lines.append(f"left alone: {self.foreign} objects in the target that migrate did not put there")
        if len(self.failures) > 50:
            lines.append(f"  ... and {len(self.failures) - 50} more")
        if not self.dry_run:
            lines.append(f"index: {self.recordings} recordings' media now say storage_backend={self.target}")
            lines.append(f"journal: {self.journal} (a second run copies only what is new or changed)")
            lines.append(
                f"next: run it again until nothing fails, then set STORAGE_BACKEND={self.target} and restart"
                if self.failed
                else f"next: set STORAGE_BACKEND={self.target} and restart; `python -m lite verify` checks it"
            )
        return "\n".join(lines)
