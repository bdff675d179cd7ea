"""The crash run: SIGKILL the server again and again while clients upload whole files and bot chunks
concurrently (tests/crashloadkit.py), and a snapshot after each restart.

One run per backend (local with LOCAL_STORAGE_FSYNC=true, and minio against a real moto server):
`CYCLES` times, client threads upload until the server is killed at a random moment; then the server
is restarted and a snapshot is taken (what the API shows, what /raw serves, what storage holds, what
the index says). Each test checks one guarantee against every snapshot.

After each restart the snapshot waits for the server's first reconciliation pass (lite.catalog.reconcile),
which removes what the kill left (on minio its grace is 0: no load runs while it does), and for the
start-up sweep, which removes the chunks of a master the kill completed before they went.
"""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.catalog.reconcile import DONE as RECONCILED
from lite.sessions.finalize import SWEPT
from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key, s3_client
from tests.crashloadkit import Attempt, BotSession, Load
from tests.faultkit import (
    LONG,
    TEMP_MARK,
    Inventory,
    bucket_objects,
    index_rows,
    local_files,
    sha,
    wait_until,
)
from tests.procserver import ServerProcess

CYCLES = 20 if LONG else 3
Rows = dict[str, list[dict[str, Any]]]  # the index's tables


@dataclass
class Snapshot:
    cycle: int
    attempts: list[Attempt]
    sessions: list[BotSession]
    visible: dict[int, dict[str, Any]]
    raw_sha: dict[int, str]  # media id -> sha256 of what /raw serves
    raw_bot: dict[int, bytes]  # media id -> bytes, for bot recordings
    files: Inventory
    rows: Rows
    killed_files: Inventory  # storage and index as the kill left them, before the restart cleaned up
    killed_rows: Rows


def _visible(client: httpx.Client) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for offset in itertools.count(0, 200):
        page = client.get("/recordings", params={"limit": 200, "offset": offset})
        assert page.status_code == 200, page.text
        found |= {r["id"]: r for r in page.json()["recordings"]}
        if offset + 200 >= page.json()["total"]:
            return found
    raise AssertionError("unreachable")


def _snapshot(
    cycle: int,
    load: Load,
    server: ServerProcess,
    inventory: Any,
    data_dir: Path,
    killed: tuple[Inventory, Rows],
) -> Snapshot:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": load.key}, timeout=60) as client:
        visible = _visible(client)
        raw_sha: dict[int, str] = {}
        raw_bot: dict[int, bytes] = {}
        for recording in visible.values():
            for media in recording["media_files"]:
                answer = client.get(f"/recordings/{recording['id']}/media/{media['id']}/raw")
                assert answer.status_code == 200, answer.text
                raw_sha[media["id"]] = sha(answer.content)
                if recording["source"] == "bot":
                    raw_bot[media["id"]] = answer.content
    return Snapshot(
        cycle,
        list(load.attempts),
        [BotSession(s.uid, s.chunks, s.next_seq, s.done, list(s.attempts)) for s in load.sessions],
        visible,
        raw_sha,
        raw_bot,
        inventory(),
        index_rows(data_dir),
        *killed,
    )


def _passes(server: ServerProcess) -> tuple[int, int]:
    """How many reconciliation passes and start-up sweeps (chunks of masters completed just before a
    kill) the server's log reports, over all its starts."""
    text = server.log_path.read_text(errors="replace")
    return text.count(RECONCILED), text.count(SWEPT)


def _restart_and_reconcile(server: ServerProcess) -> None:
    """Start the server again, and wait for its first reconciliation pass and its sweep to end."""
    before = _passes(server)
    server.start()
    ended = wait_until(lambda: all(n > b for n, b in zip(_passes(server), before, strict=True)), timeout=60)
    assert ended, f"no reconciliation or sweep after the restart: {server.log_path.read_text()[-2000:]}"


# Session-scoped: the run is costly, and one per backend serves every crash test module.
@pytest.fixture(name="crash_run", scope="session", params=["local", "minio"])
def fixture_crash_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> list[Snapshot]:
    backend = str(request.param)
    tmp_path = tmp_path_factory.mktemp(f"crash-{backend}")
    moto = request.getfixturevalue("moto_endpoint") if backend != "local" else None
    env = backend_env(backend, tmp_path, moto) | {"LOCAL_STORAGE_FSYNC": "true"}
    if backend != "local":  # local reconciles what the killed process left without waiting for a grace
        env["RECONCILE_GRACE_SECONDS"] = "0"
    data_dir = Path(env["DATA_DIR"])
    if backend == "local":
        root = data_dir / "recordings"

        def stored() -> Inventory:
            return local_files(root)

        def inventory() -> Inventory:
            # Leftover temp files of a killed process are swept in the background after a start.
            wait_until(lambda: not any(TEMP_MARK in p.name for p in root.rglob("*")), timeout=10)
            return stored()
    else:
        assert moto is not None
        s3, bucket = s3_client(moto), env["MINIO_BUCKET"]

        def stored() -> Inventory:
            return bucket_objects(s3, bucket)

        inventory = stored

    server = ServerProcess(env, tmp_path / "server.log")
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin)
        load = Load(server.url, key)
        seed = secrets.randbits(32)
        print(f"crash run on {backend}: seed {seed}")  # shown with a failure; the kill timing varies anyway
        rng = random.Random(seed)
        snapshots = []
        for cycle in range(CYCLES):
            load.run_until_killed(server, rng)
            killed = (stored(), index_rows(data_dir))
            _restart_and_reconcile(server)
            snapshots.append(_snapshot(cycle, load, server, inventory, data_dir, killed))
        return snapshots
    finally:
        server.stop()
