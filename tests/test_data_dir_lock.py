"""One server per DATA_DIR: a second one exits at once naming the directory and the holder, and writes
nothing; the commands that replace the index or rewrite storage wait for the server to stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import backend_env
from tests.procserver import ROOT, ServerProcess


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root with its modification time and content."""
    return {
        str(path.relative_to(root)): (path.stat().st_mtime_ns, path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env}
    command = [sys.executable, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    env = backend_env("local", tmp_path, None)
    server = ServerProcess(env, tmp_path / "first.log").start()
    yield server, env
    server.stop()


def test_a_second_server_on_the_same_data_dir_exits_at_once_and_writes_nothing(
    running: tuple[ServerProcess, dict[str, str]],
) -> None:
    server, env = running
    data_dir = Path(env["DATA_DIR"])
    before = snapshot(data_dir)
    started = time.monotonic()
    second = run(env | {"PORT": str(server.port + 1), "HOST": "127.0.0.1"}, "app.py")
    assert second.returncode != 0
    assert time.monotonic() - started < 15
    assert str(data_dir) in second.stderr and f"pid {server.proc.pid}" in second.stderr
    assert snapshot(data_dir) == before


@pytest.mark.parametrize("command", [["reindex"], ["verify", "--repair"]], ids=["reindex", "verify-repair"])
def test_maintenance_that_rewrites_waits_for_the_server_to_stop(
    running: tuple[ServerProcess, dict[str, str]], command: list[str]
) -> None:
    server, env = running
    refused = run(env, "-m", "lite", *command)
    assert refused.returncode == 2
    assert "in use by another Lite process" in refused.stderr
    server.stop()
    assert run(env, "-m", "lite", *command).returncode == 0


def test_reading_commands_run_beside_the_server(running: tuple[ServerProcess, dict[str, str]]) -> None:
    _, env = running
    created = run(env, "-m", "lite", "create-user", "beside@example.com")
    assert created.returncode == 0, created.stderr
    assert run(env, "-m", "lite", "verify").returncode == 0
