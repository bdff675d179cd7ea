"""Reconciling storage with the index after a start: what requests killed mid-way left behind.

A request killed (SIGKILL, power cut) between its storage write and its index update leaves objects
that nothing names: an uploaded file or a bot's first chunk without a manifest, a manifest the index
never got, or (minio/s3) chunks under a media file whose manifest says it was finalized. In the
background after a start (after the index rebuild, if any), the server runs `verify`'s walk
(lite.catalog.verify) and applies only the repairs that lose nothing and cannot race a live write:

- orphans are deleted: objects that no index row and no manifest account for, under the recording
  prefix of a Lite user (anything else Lite did not write, and anything in Vexa's key layout, is left
  alone: lite.catalog.vexa_layout), at most MAX_DELETIONS a pass (more is not what a crash leaves: then
  nothing is deleted, and it is logged);
- recordings whose manifest the index lacks are indexed from it, as a rebuild would, unless their
  media is missing or damaged.

What else verify finds (missing or damaged media, missing manifests) is only logged: it needs an
operator (`python -m lite verify`).

"Clearly orphaned", so that no write in flight is touched:
- local: this process is the directory's only writer (one replica), so an object last written
  before this process started belongs to no live request: one pass at start cleans it all;
- minio/s3: replicas share the bucket, and an upload in progress on another one stores its object
  before its manifest: only objects older than RECONCILE_GRACE_SECONDS are touched. One pass at
  start (what earlier crashes left), and one when the grace has passed since the start (what the
  process before this one left as it died).
Verify looks at each orphan again right before deleting it. After a graceful shutdown (which ends
or cancels, and so cleans up after, every request) the next start skips the passes: a walk costs
time in proportion to the whole store, and only a kill or a crash leaves anything behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lite.catalog.findings import DAMAGE, Finding, Report
from lite.catalog.layout import user_key
from lite.catalog.verify import Verifier
from lite.catalog.vexa_layout import is_vexa_key
from lite.catalog.walk import RECORDING_PREFIX
from lite.errors import LiteError, NotFound

if TYPE_CHECKING:
    from lite.services import Services

log = logging.getLogger("lite.catalog.reconcile")
MAX_DELETIONS = 1000  # a kill leaves an object or two per request in flight; far more is something else
CLOCK_SLACK = timedelta(seconds=0.1)  # file times come from the kernel's coarse clock
FIRST_RETRY, LAST_RETRY = 30.0, 600.0  # seconds before a failed pass is tried again, doubling
CLEAN_STOP = "clean-stop"  # in DATA_DIR: the previous process stopped cleanly, leaving nothing
DONE = "reconciled storage with the index"  # starts the line logged after every pass


@dataclass
class Outcome:
    deleted: list[str] = field(default_factory=list)
    indexed: list[int] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # orphans not deleted: more than MAX_DELETIONS
    left: list[Finding] = field(default_factory=list)  # for an operator
    in_flight: int = 0


class Reconciler:
    def __init__(self, services: Services, started: datetime | None = None) -> None:
        self.services = services
        # Taken before the server serves: no object this process writes is older.
        self.started = started or datetime.now(UTC)
        self.replicas = services.catalog.replicas  # who else may be writing (lite.catalog.replicas)
        self.grace = timedelta(seconds=services.settings.reconcile_grace_seconds)
        # A graceful shutdown ends or cancels (and so cleans up) every request first; only after a
        # kill, a crash or a first start is there anything to look for. Removed now, so that a kill
        # of this process leaves no mark behind.
        marker = services.settings.data_dir / CLEAN_STOP
        self.after_clean_stop = marker.exists()
        marker.unlink(missing_ok=True)

    def stopped_cleanly(self) -> None:
        """Called at the end of a graceful shutdown: the next start can skip the passes."""
        (self.services.settings.data_dir / CLEAN_STOP).touch()

    def cutoff(self) -> datetime:
        """Unaccounted objects last written before this belong to no live request."""
        return self.replicas.quiet_before(self.started - CLOCK_SLACK, self.grace)

    async def run(self) -> None:
        """The passes after a start, each retried until it succeeds; never raises (but is cancelled)."""
        if self.after_clean_stop:
            log.info("%s: nothing to do, the previous process stopped cleanly", DONE)
            return
        delay = FIRST_RETRY
        while True:
            cutoff = self.cutoff()
            if not await self._attempt(cutoff):
                await asyncio.sleep(delay)
                delay = min(delay * 2, LAST_RETRY)
                continue
            before_start = self.started - CLOCK_SLACK
            if cutoff >= before_start:  # all that earlier processes left was looked at
                return
            await asyncio.sleep((before_start - cutoff).total_seconds() + 1)

    async def _attempt(self, cutoff: datetime) -> bool:
        try:
            await self.reconcile(cutoff)
        except LiteError as exc:  # storage down: the server goes on, and this is tried again
            log.warning("storage not reconciled with the index yet: %s", exc.detail)
            return False
        except Exception:
            log.exception("storage not reconciled with the index yet")
            return False
        return True

    async def reconcile(self, cutoff: datetime | None = None) -> Outcome:
        """One pass: unaccounted objects last written before `cutoff` are orphans."""
        cutoff = cutoff or self.cutoff()
        await self._refresh_in_progress()
        grace = max((datetime.now(UTC) - cutoff).total_seconds(), 0.0)
        storage, index = self.services.storage, self.services.index
        report = await Verifier(storage, index, grace_seconds=grace, paced=True).run()

        outcome = Outcome(in_flight=len(report.in_flight))
        damaged = {f.recording_id for f in report.findings if f.kind in DAMAGE}
        orphans: list[Finding] = []
        unindexed: list[Finding] = []
        for finding in report.findings:
            if finding.kind == "orphan" and await self._written_by_lite(finding.key):
                orphans.append(finding)
            elif finding.kind == "unindexed" and finding.recording_id not in damaged:
                unindexed.append(finding)
            else:
                outcome.left.append(finding)
        if len(orphans) > MAX_DELETIONS:
            outcome.withheld = [f.key for f in orphans]
            orphans = []
        for finding in [*orphans, *unindexed]:
            assert finding.fix is not None
            finding.repaired = await finding.fix()
            if not finding.repaired and finding.kind == "orphan":
                outcome.in_flight += 1  # named or rewritten since it was listed: a write in flight
            elif not finding.repaired:
                outcome.left.append(finding)
            elif finding.kind == "orphan":
                outcome.deleted.append(finding.key)
                log.info("deleted %s: %s", finding.key, finding.detail)
            else:
                assert finding.recording_id is not None
                outcome.indexed.append(finding.recording_id)
                log.info("indexed recording %s from its manifest", finding.recording_id)
        self._log(outcome, report)
        return outcome

    async def _refresh_in_progress(self) -> None:
        """On a shared bucket the manifest of a recording in progress may be ahead of this index
        (finalized on another replica, or by this one's previous process just before it was killed).
        Taking it in first makes chunks left under a finished media file the orphans they are."""
        services = self.services
        for recording in self.replicas.maybe_ahead():  # none on a private volume
            async with services.finalizer.locks(recording.user_id, recording.session_uid):
                await services.catalog.load_recording(recording.user_id, recording.id)

    async def _written_by_lite(self, key: str) -> bool:
        """Under `recordings/<user>/<recording>/` of a user Lite knows: a bucket may hold what other
        software wrote, and that is never deleted here (nor what may be Vexa's, whatever the user)."""
        match = RECORDING_PREFIX.match(key)
        if match is None or is_vexa_key(key):
            return False
        user_id = int(match[1])
        if self.services.index.get_user(user_id) is not None:
            return True
        try:  # a user made on another replica and not seen here yet
            await self.services.storage.stat(user_key(user_id))
        except NotFound:
            return False
        return True

    def _log(self, outcome: Outcome, report: Report) -> None:
        log.info(
            "%s: %d orphaned objects deleted, %d recordings indexed from their manifests, %d objects"
            " written since the cutoff left alone (%d recordings, %d objects, %.1f s)",
            DONE,
            len(outcome.deleted),
            len(outcome.indexed),
            outcome.in_flight,
            report.recordings,
            report.objects,
            report.seconds,
        )
        if outcome.withheld:
            log.error(
                "%d unaccounted objects, more than a crash leaves: none deleted; `python -m lite verify`"
                " lists them and `--repair` deletes them (first: %s)",
                len(outcome.withheld),
                outcome.withheld[0],
            )
        if outcome.left:
            kinds = Counter(f.kind for f in outcome.left)
            log.warning(
                "left for an operator (`python -m lite verify` lists them): %s",
                ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())),
            )
