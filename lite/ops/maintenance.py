"""The operators' `verify` and `migrate` commands of `python -m lite` (the work is in lite.catalog.verify and
lite.ops.migrate, on top of lite.catalog.walk): their options, and how their outcome becomes an exit code."""

from __future__ import annotations

import argparse
import json

from lite.catalog.verify import Verifier
from lite.config import BACKENDS, ConfigError
from lite.ops.migrate import JOBS, Journal, Migration, Summary, journal_path, location, target_settings
from lite.services import Services, open_storage


def verify_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--repair",
        action="store_true",
        help="delete orphans older than --grace, index unindexed recordings, rewrite missing manifests;"
        " missing or damaged media is only ever reported",
    )
    cmd.add_argument(
        "--checksums",
        action="store_true",
        help="also re-read every media object and compare its SHA-256 (reads every byte: slow, and egress"
        " on S3); without it sizes are compared from listings",
    )
    cmd.add_argument(
        "--grace",
        type=float,
        metavar="SECONDS",
        help="unaccounted objects younger than this may be writes in flight: listed, never deleted"
        " (default RECONCILE_GRACE_SECONDS, the server's own, 3600 unless set)",
    )
    cmd.add_argument("--json", action="store_true", help="print the report as JSON")


async def verify_command(services: Services, args: argparse.Namespace) -> int:
    """Exit 0 when clean (or everything found was repaired), 1 when problems are left."""
    grace = services.settings.reconcile_grace_seconds if args.grace is None else args.grace
    verifier = Verifier(services.storage, services.index, checksums=args.checksums, grace_seconds=grace)
    report = await verifier.run(repair=args.repair)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.text())
    return 1 if report.unresolved else 0


def migrate_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--to",
        required=True,
        choices=BACKENDS,
        help="the target backend, configured by the same variables as the server (S3_*, MINIO_*,"
        " LOCAL_STORAGE_DIR)",
    )
    cmd.add_argument("--dry-run", action="store_true", help="list what would be copied; write nothing")
    cmd.add_argument("--jobs", type=int, default=JOBS, help=f"recordings copied at once (default {JOBS})")


async def migrate_command(services: Services, args: argparse.Namespace) -> int:
    """Exit 0 when every object is in the target, verified; 1 when anything failed (run it again)."""
    source = services.settings
    target = target_settings(source, args.to)
    if location(target) == location(source):
        raise ConfigError(f"--to {args.to}: that is where the data is now ({location(source)})")
    storage = await open_storage(target)
    path = journal_path(source.data_dir, target)
    journal = Journal(path, dry_run=args.dry_run)
    summary = Summary(source.storage_backend, args.to, args.dry_run, path)
    try:
        await Migration(
            services.storage, storage, services.index, journal, summary, jobs=max(args.jobs, 1)
        ).run()
    finally:
        journal.close()
        await storage.aclose()
    print(summary.text())
    return 1 if summary.failed else 0
