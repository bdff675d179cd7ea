"""What `verify` finds (lite.catalog.verify) and its report, as text for an operator or JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lite.config import MiB

DAMAGE = ("missing", "size", "checksum", "unreadable")


@dataclass
class Finding:
    kind: str
    key: str
    detail: str
    recording_id: int | None = None
    repaired: bool = False
    fix: Callable[[], Awaitable[bool]] | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "recording_id": self.recording_id,
            "detail": self.detail,
            "repairable": self.fix is not None,
            "repaired": self.repaired,
        }


@dataclass
class Report:
    backend: str
    checksums: bool
    grace_seconds: float
    recordings: int = 0
    objects: int = 0
    bytes: int = 0
    hashed: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Finding]:
        return [f for f in self.findings if not f.repaired]

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": not self.unresolved,
            "backend": self.backend,
            "recordings": self.recordings,
            "objects": self.objects,
            "bytes": self.bytes,
            "checksums_checked": self.hashed if self.checksums else None,
            "seconds": round(self.seconds, 3),
            "problems": [f.as_dict() for f in self.findings],
            "in_flight": self.in_flight,
            "grace_seconds": self.grace_seconds,
        }

    def text(self) -> str:
        lines = [
            f"verify: {self.recordings} recordings, {self.objects} objects ({self.bytes / MiB:.1f} MiB)"
            f" on {self.backend} storage, {self.seconds:.1f} s",
            f"checksums: {self.hashed} media objects re-read and hashed"
            if self.checksums
            else "checksums: not checked (--checksums re-reads and hashes every media object)",
        ]
        lines += [
            f"  {f.kind:<11} {f.key}: {f.detail}{'  [repaired]' if f.repaired else ''}" for f in self.findings
        ]
        if self.in_flight:
            shown = ", ".join(self.in_flight[:5]) + (", ..." if len(self.in_flight) > 5 else "")
            lines.append(
                f"in flight: {len(self.in_flight)} unaccounted objects younger than {self.grace_seconds:g} s"
                f" left alone (writes in progress?): {shown}"
            )
        left = self.unresolved
        if not self.findings:
            lines.append("clean")
        else:
            lines.append(
                f"{len(self.findings)} problems, {len(self.findings) - len(left)} repaired, {len(left)} left"
            )
            if any(f.fix is not None for f in left):
                lines.append("--repair fixes orphans, unindexed recordings and missing manifests")
        return "\n".join(lines)
