"""The `import-vexa` command's arguments and sources: Lite's own storage (nothing is copied), a Vexa
volume (`--from-local`) or another bucket on Lite's endpoint (`--from-bucket`), copied in. The import
itself is lite.ops.import_vexa."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from lite.config import ConfigError, Settings
from lite.errors import LiteError
from lite.ops.import_vexa import JOBS, ImportSummary, VexaImport
from lite.ops.migrate import location
from lite.ops.vexa_users import name_users, read_users
from lite.services import Services
from lite.storage import LocalStorage, Storage, make_storage


def import_arguments(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--dry-run", action="store_true", help="list what would be imported; change nothing")
    cmd.add_argument(
        "--from-local",
        metavar="DIR",
        type=Path,
        help="read Vexa's local storage volume at DIR (the directory holding recordings/) and copy what is"
        " imported into Lite's storage; by default Lite's own storage is read and nothing is copied",
    )
    cmd.add_argument(
        "--from-bucket",
        metavar="NAME",
        help="read Vexa's bucket NAME on the same endpoint, with the same credentials, as Lite's own"
        " (minio or s3) and copy what is imported into Lite's bucket",
    )
    cmd.add_argument("--jobs", type=int, default=JOBS, help=f"recordings imported at once (default {JOBS})")
    cmd.add_argument(
        "--users",
        metavar="CSV",
        type=Path,
        help="Vexa's users as id,email[,name] rows (exported from Vexa's Postgres), so Vexa's dashboard"
        " finds them by email; without it imported users get placeholder emails",
    )


async def import_command(services: Services, args: argparse.Namespace) -> int:
    """Exit 0 when every recording found was imported or skipped; 1 when any failed (run it again)."""
    target = location(services.settings)
    source, label = services.storage, target
    if args.from_local is not None and args.from_bucket is not None:
        raise ConfigError("--from-local and --from-bucket: give one source")
    if args.from_local is not None:
        root = args.from_local.resolve()
        if not (root / "recordings").is_dir():
            raise ConfigError(f"--from-local {root}: no recordings/ directory there")
        label = f"local:{root}"
        if label != target:
            source = LocalStorage(root, fsync=False)
    if args.from_bucket is not None:
        source_settings = bucket_settings(services.settings, args.from_bucket)
        label = location(source_settings)
        if label != target:
            source = await open_source(source_settings)
    try:
        return await _run(services, args, source, label, target)
    finally:
        if source is not services.storage:
            await source.aclose()


def bucket_settings(settings: Settings, bucket: str) -> Settings:
    """Lite's object-store settings with another bucket (Vexa's), never created if missing."""
    if settings.s3 is None:
        raise ConfigError("--from-bucket needs Lite on minio or s3; for Vexa's local volume use --from-local")
    return dataclasses.replace(
        settings,
        s3=dataclasses.replace(
            settings.s3, bucket=bucket, create_bucket=False, bucket_variable="--from-bucket"
        ),
    )


async def open_source(settings: Settings) -> Storage:
    source = make_storage(settings)
    try:
        await source.prepare()
    except LiteError as exc:
        await source.aclose()
        raise ConfigError(
            f"--from-bucket {settings.s3.bucket if settings.s3 else ''}: {exc.detail}"
        ) from None
    return source


async def _run(services: Services, args: argparse.Namespace, source: Storage, label: str, target: str) -> int:
    users = read_users(args.users) if args.users is not None else []
    summary = ImportSummary(label, target, args.dry_run)
    named = await name_users(services, users, args.dry_run) if users else None
    await VexaImport(services, summary, source, jobs=args.jobs).run()
    print(summary.text())
    if named:
        print(named)
    return 1 if summary.failed else 0
