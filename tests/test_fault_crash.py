"""SIGKILL the server again and again while clients upload whole files and bot chunks concurrently.

One run per backend (local with LOCAL_STORAGE_FSYNC=true, and minio against a real moto server):
`CYCLES` times, client threads upload until the server is killed at a random moment; then the server
is restarted and a snapshot is taken (what the API shows, what /raw serves, what storage holds, what
the index says). Each test below checks one guarantee against every snapshot.

An upload can be committed and the process killed before its 201 leaves: the client saw no answer
("cut"). Such a recording may be visible after the restart, and is then complete and byte-identical.
What must never be visible is anything the server refused, or a partial file.

After each restart the snapshot waits for the server's first reconciliation pass (lite.catalog.reconcile),
which removes what the kill left; on minio its grace is 0 (no load runs while it does).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lite.catalog.reconcile import DONE as RECONCILED
from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key, s3_client
from tests.faultkit import (
    LONG,
    TEMP_MARK,
    Inventory,
    blocks_of,
    bucket_objects,
    content_type,
    index_rows,
    local_files,
    multipart,
    random_wav,
    sha,
    unreferenced,
    wait_until,
)
from tests.procserver import ServerProcess
from tests.test_bot_upload import pcm_of

CYCLES = 20 if LONG else 3
Rows = dict[str, list[dict[str, Any]]]  # the index's tables
UPLOADERS = 3
BOTS = 2
CHUNKS_PER_SESSION = 8


@dataclass
class Attempt:
    kind: str  # "upload", "bad-upload" (the server must refuse it) or "chunk"
    session: str
    data: bytes
    seq: int = 0
    final: bool = False
    outcome: str = "pending"  # "acked" (2xx), "refused" (4xx/5xx) or "cut" (no answer: the kill)
    status: int | None = None
    answer: dict[str, Any] | None = None


@dataclass
class BotSession:
    uid: str
    chunks: list[bytes]
    next_seq: int = 0
    done: bool = False
    attempts: list[Attempt] = field(default_factory=list)


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


class Load:
    """The clients: whole-file uploaders and meeting bots, all recording what they were told."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.attempts: list[Attempt] = []
        self.sessions: list[BotSession] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.counter = itertools.count()

    def _record(self, attempt: Attempt) -> Attempt:
        with self.lock:
            self.attempts.append(attempt)
        return attempt

    def _send(self, client: httpx.Client, path: str, attempt: Attempt, body: Iterator[bytes]) -> None:
        try:
            answer = client.post(path, content=body, headers=content_type())
        except httpx.TransportError:
            attempt.outcome = "cut"
            self.stop.set()  # the server is gone; the orchestrator restarts it
            return
        attempt.status = answer.status_code
        attempt.outcome = "acked" if answer.is_success else "refused"
        if answer.headers.get("content-type", "").startswith("application/json"):
            attempt.answer = answer.json()

    def uploader(self, rng: random.Random) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as client:
            while not self.stop.is_set():
                n = next(self.counter)
                data = random_wav(rng.randint(20_000, 600_000))
                uid = f"crash-{n}-{secrets.token_hex(3)}"
                roll = rng.random()
                if roll < 0.1:  # bytes that are not the declared format: refused before storing
                    attempt = self._record(Attempt("bad-upload", uid, data))
                    body = multipart([("session_uid", uid), ("format", "webm")], blocks_of(data))
                elif roll < 0.2:  # a key field after the file that contradicts it: refused after storing
                    attempt = self._record(Attempt("bad-upload", uid, data))
                    body = multipart(
                        [("session_uid", uid)], blocks_of(data), after=[("session_uid", uid + "-late")]
                    )
                else:
                    attempt = self._record(Attempt("upload", uid, data))
                    body = multipart([("session_uid", uid), ("format", "wav")], blocks_of(data))
                self._send(client, "/recordings", attempt, body)

    def bot(self, rng: random.Random, slot: int) -> None:
        with httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=30) as client:
            while not self.stop.is_set():
                session = self._session(slot, rng)
                seq = session.next_seq
                final = seq == len(session.chunks) - 1
                meta = {"session_uid": session.uid, "media_type": "audio", "format": "wav"}
                meta |= {"chunk_seq": seq, "is_final": final}
                attempt = self._record(Attempt("chunk", session.uid, session.chunks[seq], seq, final))
                session.attempts.append(attempt)
                body = multipart([("metadata", json.dumps(meta))], [session.chunks[seq]], "chunk.wav")
                self._send(client, "/internal/recordings/upload", attempt, body)
                if attempt.outcome == "acked":
                    session.next_seq += 1
                    session.done = final
                elif attempt.status == 409:  # the final chunk was committed before a kill ate its ack
                    session.done = True
                time.sleep(rng.uniform(0, 0.05))

    def _session(self, slot: int, rng: random.Random) -> BotSession:
        """The bot's current session: resumed after a restart (resending what was not acked)."""
        mine = [s for s in self.sessions if s.uid.startswith(f"bot{slot}-")]
        if mine and not mine[-1].done:
            return mine[-1]
        chunks = [random_wav(rng.randint(8_000, 40_000)) for _ in range(CHUNKS_PER_SESSION)]
        session = BotSession(f"bot{slot}-{len(mine)}-{secrets.token_hex(3)}", chunks)
        with self.lock:
            self.sessions.append(session)
        return session

    def run_until_killed(self, server: ServerProcess, rng: random.Random) -> None:
        self.stop.clear()
        threads = [
            threading.Thread(target=self.uploader, args=(random.Random(rng.random()),))
            for _ in range(UPLOADERS)
        ] + [threading.Thread(target=self.bot, args=(random.Random(rng.random()), b)) for b in range(BOTS)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.6, 1.8))
        server.kill()
        self.stop.set()
        for thread in threads:
            thread.join(timeout=60)


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


def _reconcile_passes(server: ServerProcess) -> int:
    """How many reconciliation passes the server's log reports, over all its starts."""
    return server.log_path.read_text(errors="replace").count(RECONCILED)


def _restart_and_reconcile(server: ServerProcess) -> None:
    """Start the server again, and wait for its first reconciliation pass to end."""
    passes = _reconcile_passes(server)
    server.start()
    ended = wait_until(lambda: _reconcile_passes(server) > passes, timeout=60)
    assert ended, f"no reconciliation pass after the restart: {server.log_path.read_text()[-2000:]}"


@pytest.fixture(scope="module", params=["local", "minio"])
def crash_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[Snapshot]:
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


def _acked(attempts: list[Attempt], kind: str) -> list[Attempt]:
    return [a for a in attempts if a.kind == kind and a.outcome == "acked"]


def test_the_load_really_was_cut_by_the_kills(crash_run: list[Snapshot]) -> None:
    """Guards the other tests against passing vacuously: uploads were acknowledged, refused and cut."""
    attempts = crash_run[-1].attempts
    outcomes = {(a.kind, a.outcome) for a in attempts}
    assert {("upload", "acked"), ("chunk", "acked"), ("bad-upload", "refused")} <= outcomes
    assert sum(a.outcome == "cut" for a in attempts) >= len(crash_run)


def test_every_acknowledged_upload_reads_back_byte_identical(crash_run: list[Snapshot]) -> None:
    for snap in crash_run:
        for attempt in _acked(snap.attempts, "upload"):
            assert attempt.answer is not None
            recording = snap.visible.get(attempt.answer["id"])
            assert recording is not None, f"cycle {snap.cycle}: acknowledged upload {attempt.session} is gone"
            [media] = recording["media_files"]
            assert snap.raw_sha[media["id"]] == sha(attempt.data), f"cycle {snap.cycle}: {attempt.session}"


def test_every_acknowledged_bot_chunk_is_in_its_recording(crash_run: list[Snapshot]) -> None:
    for snap in crash_run:
        by_session = {r["session_uid"]: r for r in snap.visible.values() if r["source"] == "bot"}
        for session in snap.sessions:
            acked = [a.seq for a in session.attempts if a.outcome == "acked"]
            if not acked:
                continue
            recording = by_session.get(session.uid)
            assert recording is not None, f"cycle {snap.cycle}: bot session {session.uid} is gone"
            [media] = recording["media_files"]
            served = snap.raw_bot[media["id"]]
            if recording["status"] == "completed":
                assert pcm_of(served) == b"".join(pcm_of(c) for c in session.chunks)
            else:  # in progress: the chunks so far, back to back (a cut chunk may have made it too)
                prefixes = [
                    b"".join(session.chunks[:n]) for n in range(max(acked) + 1, len(session.chunks) + 1)
                ]
                assert served in prefixes, f"cycle {snap.cycle}: {session.uid} lost chunks"


def test_nothing_unacknowledged_is_visible_except_complete_cut_uploads(crash_run: list[Snapshot]) -> None:
    for snap in crash_run:
        uploads = {a.session: a for a in snap.attempts if a.kind in ("upload", "bad-upload")}
        chunks = {}
        for a in snap.attempts:
            if a.kind == "chunk":
                chunks.setdefault(a.session, []).append(a)
        for recording in snap.visible.values():
            uid = recording["session_uid"]
            if recording["source"] == "upload":
                attempt = uploads.get(uid)
                assert attempt is not None, f"cycle {snap.cycle}: recording {uid} nobody uploaded"
                assert attempt.kind == "upload" and attempt.outcome in ("acked", "cut"), (
                    f"cycle {snap.cycle}: {uid} is visible though the server answered {attempt.status}"
                )
                [media] = recording["media_files"]
                assert snap.raw_sha[media["id"]] == sha(attempt.data), f"cycle {snap.cycle}: {uid} partial"
            else:
                sent = chunks.get(uid, [])
                assert any(a.outcome in ("acked", "cut") for a in sent), (
                    f"cycle {snap.cycle}: bot recording {uid} from no accepted or cut chunk"
                )


def test_no_temp_or_partial_file_is_left_in_storage(crash_run: list[Snapshot]) -> None:
    for snap in crash_run:
        temp = [key for key in snap.files if TEMP_MARK in key]
        assert temp == [], f"cycle {snap.cycle}: temp files left after the restart: {temp[:5]}"
        for media in snap.rows["media_files"]:
            if media["state"] == "complete" and media["storage_key"] in snap.files:
                size, digest = snap.files[media["storage_key"]]
                assert (size, digest) == (media["file_size_bytes"], media["sha256"]), media["storage_key"]


def test_the_index_points_only_at_complete_objects_after_each_restart(crash_run: list[Snapshot]) -> None:
    for snap in crash_run:
        receiving = {m["id"] for m in snap.rows["media_files"] if m["state"] == "receiving"}
        missing = [m["storage_key"] for m in snap.rows["media_files"] if m["state"] == "complete"]
        missing = [key for key in missing if key not in snap.files]
        missing += [
            c["storage_key"]
            for c in snap.rows["chunks"]
            if c["media_id"] in receiving and snap.files.get(c["storage_key"], (None,))[0] != c["size"]
        ]
        assert missing == [], f"cycle {snap.cycle}: the index points at objects storage lacks: {missing[:5]}"


def _stray_sessions(cycle: int, stored: Inventory, rows: Rows) -> dict[str, list[str]]:
    """Objects the index does not account for, by the session (file name) of their recording.
    Temp files are not objects (see test_no_temp_or_partial_file_is_left_in_storage)."""
    files = {key: found for key, found in stored.items() if TEMP_MARK not in key}
    stray = unreferenced(files, rows)
    by_dir: dict[str, list[str]] = {}
    for key in stray:
        match = re.fullmatch(r"(recordings/\d+/\d+/)(.*)", key)
        assert match, f"cycle {cycle}: a stray object outside any recording: {key}"
        by_dir.setdefault(match[1], []).append(key)
    sessions: dict[str, list[str]] = {}
    for directory, keys in by_dir.items():
        names = {k for k in files if k.startswith(directory) and not k.endswith("/manifest.json")}
        uids = {k[len(directory) :].split(".", 1)[0] for k in names}
        assert len(uids) == 1, f"cycle {cycle}: {directory} holds {sorted(names)}"
        sessions[uids.pop()] = keys
    return sessions


def test_objects_the_index_lacks_come_only_from_requests_cut_by_a_kill(crash_run: list[Snapshot]) -> None:
    """As the kill left it, storage may hold objects of a request it cut between storing and indexing
    (the restart cleans them up: the next test), never of one that was acknowledged or refused. (What
    is served comes from the index, so these are never served: the tests above compare every served
    byte with what was sent.)"""
    for snap in crash_run:
        for uid, keys in _stray_sessions(snap.cycle, snap.killed_files, snap.killed_rows).items():
            sent = [a for a in snap.attempts if a.session == uid]
            assert any(a.outcome == "cut" for a in sent), f"cycle {snap.cycle}: {keys} of {uid}: {sent}"


def test_objects_of_requests_cut_by_a_kill_are_cleaned_up_after_the_restart(
    crash_run: list[Snapshot],
) -> None:
    """The reconciliation after a start deletes the objects of requests the kill cut before their
    manifest, and indexes recordings whose manifest was written but not indexed."""
    for snap in crash_run:
        assert _stray_sessions(snap.cycle, snap.files, snap.rows) == {}, f"cycle {snap.cycle}"
