"""Command line: `python -m lite <command>`. Operators' tools that need no HTTP."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from lite.config import ConfigError, load_settings
from lite.errors import LiteError
from lite.services import Services, build_services


async def _check_config(services: Services, args: argparse.Namespace) -> int:
    settings = services.settings
    print(f"ok: {settings.storage_backend} storage, index at {settings.index_path}")
    return 0


async def _create_user(services: Services, args: argparse.Namespace) -> int:
    user = services.auth.create_user(args.email, args.name)
    key = services.auth.create_key(user["id"])
    print(f"user {user['id']} <{user['email']}> created; API key (shown only now):", file=sys.stderr)
    print(key["token"])
    return 0


COMMANDS: dict[str, tuple[str, Callable[[Services, argparse.Namespace], Coroutine[Any, Any, int]]]] = {
    "check-config": ("check the settings and storage, as the server does at start", _check_config),
    "create-user": ("create a user and print a new API key for it", _create_user),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m lite", description="Lite's command line tools.")
    sub = root.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text)
        if name == "create-user":
            cmd.add_argument("email")
            cmd.add_argument("--name", default=None)
    return root


async def _run(args: argparse.Namespace) -> int:
    services = await build_services(load_settings())
    try:
        return await COMMANDS[args.command][1](services, args)
    finally:
        await services.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        print(f"lite: configuration error: {exc}", file=sys.stderr)
        return 2
    except LiteError as exc:
        print(f"lite: {exc.detail}", file=sys.stderr)
        return 1
