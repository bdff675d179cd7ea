"""What `python -m lite import-vexa` tells its operator: migrate's progress (a tqdm bar on a terminal,
a plain line every few seconds in a log) and the closing report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from lite.ops.migrate_report import Progress

SHOWN = 50  # failures and notes listed one by one; the rest are counted


class ImportProgress(Progress):
    def __init__(self, objects: int, size: int, stream: TextIO) -> None:
        super().__init__(objects, size, stream)
        if self.bar is not None:
            self.bar.set_description("import-vexa")

    def show(self) -> None:
        done = self.bytes / self.total_bytes if self.total_bytes else 1.0
        print(f"import-vexa: {done:4.0%} {self.objects}/{self.total_objects} objects", file=self.stream,
              flush=True)  # fmt: skip


@dataclass
class ImportSummary:
    source: str
    target: str
    dry_run: bool
    recordings: int = 0  # recording prefixes looked at
    imported: int = 0
    assembled: int = 0  # media files assembled from chunks
    unplayable: list[str] = field(default_factory=list)  # imported as failed, and why
    copied: int = 0  # objects copied from another source
    bytes_copied: int = 0
    seconds: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> recording prefixes (or objects)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # objects left alone inside imported recordings
    planned: list[str] = field(default_factory=list)  # what a dry run would do

    @property
    def failed(self) -> int:
        return len(self.failures)

    def text(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        lines = [f"  {line}" for line in sorted(self.planned)] if self.dry_run else []
        lines.append(
            f"import-vexa {self.source} -> {self.target}{' (dry run)' if self.dry_run else ''}:"
            f" {self.recordings} recordings looked at, {verb} {self.imported}, skipped"
            f" {sum(self.skipped.values())}, failed {self.failed}; {self.seconds:.1f} s"
        )
        if self.assembled:
            lines.append(
                f"{self.assembled} media files {'would be ' if self.dry_run else ''}assembled from chunks"
            )
        if self.unplayable:
            lines.append(f"{len(self.unplayable)} recordings imported with status failed:")
            lines += [f"  {line}" for line in self.unplayable[:SHOWN]]
        if self.copied:
            lines.append(f"copied {self.copied} objects ({self.bytes_copied} bytes) into Lite's storage")
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        lines += [f"  failed: {failure}" for failure in self.failures[:SHOWN]]
        if self.failed > SHOWN:
            lines.append(f"  ... and {self.failed - SHOWN} more failures")
        lines += [f"  left alone: {note}" for note in self.notes[:SHOWN]]
        if len(self.notes) > SHOWN:
            lines.append(f"  ... and {len(self.notes) - SHOWN} more objects left alone")
        if not self.dry_run:
            lines.append(
                "next: run it again: failed recordings are tried again, imported ones are skipped"
                if self.failed
                else "a second run imports only what is new; Lite never deletes Vexa's objects"
            )
        return "\n".join(lines)
