"""Command line: `python -m lite <command>`. Operators' tools that need no HTTP."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from lite.catalog.index import Index
from lite.catalog.manifests import Catalog, RebuildProgress
from lite.config import ConfigError, load_settings
from lite.errors import LiteError
from lite.ops import import_vexa_cli, maintenance
from lite.ops.datadir_lock import lock_data_dir, release
from lite.services import Services, build_services


async def _check_config(services: Services, args: argparse.Namespace) -> int:
    settings = services.settings
    print(f"ok: {settings.storage_backend} storage, index at {settings.index_path}")
    return 0


async def _create_user(services: Services, args: argparse.Namespace) -> int:
    user = await services.auth.create_user(args.email, args.name)
    issued = await services.auth.create_key(user.id)
    print(f"user {user.id} <{user.email}> created; API key (shown only now):", file=sys.stderr)
    print(issued.token)
    return 0


async def _issue_key(services: Services, args: argparse.Namespace) -> int:
    """A new API key for an existing user (the old ones stay valid until revoked)."""
    user = await services.auth.user_by_email(args.email)
    issued = await services.auth.create_key(user.id)
    print(f"new API key for user {user.id} <{user.email}> (shown only now):", file=sys.stderr)
    print(issued.token)
    return 0


async def _reindex(services: Services, args: argparse.Namespace) -> int:
    """Rebuild the index from storage into a new file, then swap it in (restart a running server)."""
    path = services.settings.index_path
    fresh = path.with_name(f"{path.name}.rebuild")
    fresh.unlink(missing_ok=True)
    index = Index(fresh)
    progress = RebuildProgress(running=True)
    try:
        await Catalog(services.storage, index).rebuild(progress)
    finally:
        index.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(fresh, path)
    print(
        f"index rebuilt: {progress.users} users, {progress.api_keys} API keys,"
        f" {progress.recordings} recordings ({progress.objects_listed} objects listed)"
        + (f"; skipped unreadable manifests: {', '.join(progress.skipped)}" if progress.skipped else "")
    )
    return 0


COMMANDS: dict[str, tuple[str, Callable[[Services, argparse.Namespace], Coroutine[Any, Any, int]]]] = {
    "check-config": ("check the settings and storage, as the server does at start", _check_config),
    "create-user": ("create a user and print a new API key for it", _create_user),
    "issue-key": ("print a new API key for an existing user", _issue_key),
    "reindex": ("rebuild the SQLite index from storage (stop the server first)", _reindex),
    "verify": ("check the index against storage; --repair fixes what is safe", maintenance.verify_command),
    "migrate": ("copy everything to another backend, resumable, verified", maintenance.migrate_command),
    "import-vexa": ("index a Vexa bucket or volume into Lite, resumable", import_vexa_cli.import_command),
}
ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "verify": maintenance.verify_arguments,
    "migrate": maintenance.migrate_arguments,
    "import-vexa": import_vexa_cli.import_arguments,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m lite", description="Lite's command line tools.")
    sub = root.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text)
        if name in ("create-user", "issue-key"):
            cmd.add_argument("email")
            cmd.add_argument("--name", default=None)
        if name in ARGUMENTS:
            ARGUMENTS[name](cmd)
    return root


def _needs_the_data_dir(args: argparse.Namespace) -> bool:
    """Commands that replace the index or rewrite storage must not run beside a server."""
    if args.command == "import-vexa":
        return not args.dry_run
    return args.command in ("reindex", "migrate") or bool(getattr(args, "repair", False))


async def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    holder = f"python -m lite {args.command}"
    lock = lock_data_dir(settings.data_dir, holder) if _needs_the_data_dir(args) else None
    try:
        services = await build_services(settings)
        try:
            return await COMMANDS[args.command][1](services, args)
        finally:
            await services.aclose()
    finally:
        if lock is not None:
            release(lock)


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # what the commands write (index, secrets, copies) is nobody else's to read
    args = parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        print(f"lite: configuration error: {exc}", file=sys.stderr)
        return 2
    except LiteError as exc:
        print(f"lite: {exc.detail}", file=sys.stderr)
        return 1
