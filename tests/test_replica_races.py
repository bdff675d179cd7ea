"""Two replicas on one bucket (issue 19): a bot session's chunks reach both, at the same instant
too, and a delete on one races a finalize on the other. Whatever the interleaving: one recording and
one master per session, every acknowledged chunk in it, and nothing of a deleted recording left
behind or brought back by a rebuild.

The replicas are two Services on their own data directories, sharing one bucket on moto (which
enforces conditional writes), driven directly so that the races are many and reproducible.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from lite.accounts.bot_auth import BotIdentity
from lite.catalog.keys import session_claim_key
from lite.catalog.layout import MANIFEST
from lite.config import load_settings
from lite.errors import Conflict, LiteError
from lite.http.multipart import FilePart
from lite.services import Services, build_services
from tests.conftest import ADMIN_TOKEN, backend_env, new_user_key
from tests.mediakit import wav_bytes
from tests.procserver import ServerProcess
from tests.test_bot_upload import send_chunk

pytestmark = pytest.mark.anyio
T = TypeVar("T")
ROUNDS = 8
CHUNKS = [wav_bytes(1.0, freq=200 + 60 * n) for n in range(4)]  # distinct bytes per chunk
HEADER = 44  # the standard WAV header of wav_bytes (the master keeps one, then every chunk's samples)


async def two_replicas(env: dict[str, str], tmp_path: Path) -> tuple[Services, Services]:
    a = await build_services(load_settings(env))
    b = await build_services(load_settings({**env, "DATA_DIR": str(tmp_path / "replica-b")}))
    return a, b


@pytest.fixture(name="bucket_env")
def fixture_bucket_env(moto_endpoint: str, tmp_path: Path) -> dict[str, str]:
    return backend_env("s3", tmp_path, moto_endpoint)


@pytest.fixture(name="replicas")
async def fixture_replicas(
    bucket_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[Services, Services]]:
    a, b = await two_replicas(bucket_env, tmp_path)
    assert a.storage.conditional_writes and b.storage.conditional_writes
    yield a, b
    await asyncio.gather(a.finalize_queue.aclose(), b.finalize_queue.aclose())
    await a.aclose()
    await b.aclose()


async def user_on_both(a: Services, b: Services, email: str) -> int:
    user = await a.auth.create_user(email, None)
    await b.catalog.load_user(user.id)
    return user.id


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _form(data: bytes, metadata: str) -> AsyncIterator[tuple[str, str | FilePart]]:
    yield "metadata", metadata
    yield "file", FilePart("chunk.wav", _once(data))


async def send(
    services: Services, user_id: int, session: str, seq: int, final: bool = False
) -> dict[str, Any]:
    meta = json.dumps({"session_uid": session, "format": "wav", "chunk_seq": seq, "is_final": final})
    return await services.bot_uploads.upload_chunk(BotIdentity(user_id), _form(CHUNKS[seq], meta))


async def after(delay: float, work: Awaitable[T]) -> T:
    await asyncio.sleep(max(delay, 0))
    return await work


async def keys_under(services: Services, prefix: str) -> list[str]:
    return [info.key async for info in services.storage.list(prefix)]


async def manifests_of(services: Services, user_id: int, session: str) -> list[dict[str, Any]]:
    found = []
    for key in await keys_under(services, f"recordings/{user_id}/"):
        if key.endswith("/" + MANIFEST):
            doc = json.loads(await services.storage.read_bytes(key))
            if doc["recording"]["session_uid"] == session:
                found.append(doc)
    return found


async def masters_of(services: Services, user_id: int, session: str) -> list[str]:
    return [
        key
        for key in await keys_under(services, f"recordings/{user_id}/")
        if f"/{session}." in key and ".chunks/" not in key and not key.endswith(MANIFEST)
    ]


async def settled(*replicas: Services) -> None:
    """Until no queued finalize is still running on any replica."""
    for _ in range(600):
        if not any(r.finalize_queue._pending for r in replicas):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("finalizing never ended")


async def assert_one_complete_master(services: Services, user_id: int, session: str, acked: set[int]) -> None:
    [manifest] = await manifests_of(services, user_id, session)
    assert manifest["recording"]["status"] == "completed", manifest
    [master] = await masters_of(services, user_id, session)
    data = await services.storage.read_bytes(master)
    samples = data[HEADER:]
    assert samples == b"".join(CHUNKS[seq][HEADER:] for seq in range(len(CHUNKS)))
    for seq in acked:
        assert CHUNKS[seq][HEADER:] in samples  # every acknowledged chunk's bytes are in the master


async def test_first_chunks_at_the_same_instant_on_both_replicas_make_one_recording(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    user_id = await user_on_both(a, b, "instant@example.com")
    for n in range(ROUNDS):
        session = f"instant-{n}"
        # Half the rounds: the same first chunk to both (a bot's resend); else chunks 0 and 1.
        seqs = (0, 0) if n % 2 else (0, 1)
        answers = await asyncio.gather(send(a, user_id, session, seqs[0]), send(b, user_id, session, seqs[1]))
        assert answers[0]["recording_id"] == answers[1]["recording_id"], answers
        assert len(await manifests_of(a, user_id, session)) == 1
        acked = set(seqs)
        for seq in range(max(seqs) + 1, len(CHUNKS)):  # the rest alternately, the last one final
            await send((a, b)[seq % 2], user_id, session, seq, final=seq == len(CHUNKS) - 1)
            acked.add(seq)
        await settled(a, b)
        await assert_one_complete_master(a, user_id, session, acked)
        assert len(await manifests_of(b, user_id, session)) == 1


async def test_alternating_chunks_and_a_final_chunk_to_both_at_once_make_one_master(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    user_id = await user_on_both(a, b, "alternate@example.com")
    last = len(CHUNKS) - 1
    for n in range(ROUNDS):
        session = f"alternate-{n}"
        for seq in range(last):
            await send((a, b)[(seq + n) % 2], user_id, session, seq)
        both = await asyncio.gather(
            send(a, user_id, session, last, final=True),
            send(b, user_id, session, last, final=True),
            return_exceptions=True,
        )
        # A copy that reaches its replica after the other completed the media is refused, as a late
        # resend is on one replica (409; test_replica_late_final): the other is acknowledged.
        answers = [answer for answer in both if not isinstance(answer, BaseException)]
        assert answers and all(isinstance(x, Conflict) for x in both if isinstance(x, BaseException)), both
        assert {answer["recording_id"] for answer in answers} == {answers[0]["recording_id"]}
        await settled(a, b)
        await assert_one_complete_master(a, user_id, session, set(range(len(CHUNKS))))
        prefix = f"recordings/{user_id}/{answers[0]['recording_id']}/"
        assert sorted(await keys_under(a, prefix)) == sorted(
            [prefix + MANIFEST, *await masters_of(a, user_id, session)]
        )  # the chunks are gone once the master is complete


async def test_a_delete_on_one_replica_while_the_other_finalizes_leaves_nothing(
    replicas: tuple[Services, Services], bucket_env: dict[str, str], tmp_path: Path
) -> None:
    a, b = replicas
    user_id = await user_on_both(a, b, "deleter@example.com")
    rng = random.Random(19)
    last = len(CHUNKS) - 1
    for n in range(ROUNDS * 2):
        session = f"deleted-{n}"
        for seq in range(last):
            await send((a, b)[seq % 2], user_id, session, seq)
        [manifest] = await manifests_of(a, user_id, session)
        recording_id = manifest["recording"]["id"]
        # Which starts first, and by how much: the delete lands before the final chunk is stored,
        # while it is, while its master is assembled, or after the recording completed.
        lead = rng.uniform(-0.05, 0.2)

        final, deleted = await asyncio.gather(
            after(-lead, send(b, user_id, session, last, final=True)),
            after(lead, a.recordings.delete(user_id, recording_id)),
            return_exceptions=True,
        )
        assert isinstance(deleted, dict) and deleted["status"] == "deleted", deleted  # always succeeds
        if isinstance(final, BaseException):  # the chunk came after the delete: refused, never a crash
            assert isinstance(final, LiteError), final
        await settled(a, b)
        assert await keys_under(a, f"recordings/{user_id}/{recording_id}/") == [], f"round {n}"
        assert await keys_under(a, session_claim_key(user_id, session)) == []
    # A fresh index rebuilt from the bucket (a replica with a new disk) brings nothing back.
    fresh = await build_services(load_settings({**bucket_env, "DATA_DIR": str(tmp_path / "fresh")}))
    try:
        await fresh.rebuild_if_empty()
        assert fresh.index.recording_states(user_id) == {}
    finally:
        await fresh.aclose()
    assert await keys_under(a, f"recordings/{user_id}/") == []
    assert await keys_under(a, f"sessions/{user_id}/") == []


async def test_on_a_store_that_ignores_the_conditions_the_fallback_works_without_a_race(
    s3rver_endpoint: str, tmp_path: Path
) -> None:
    """s3rver overwrites whatever the headers say: every conditional write checks first, then
    writes (docs/object-storage.md). Without a race that is all it takes."""
    a, b = await two_replicas(backend_env("s3", tmp_path, s3rver_endpoint), tmp_path)
    try:
        assert not a.storage.conditional_writes
        user_id = await user_on_both(a, b, "fallback@example.com")
        answers = [
            await send((a, b)[seq % 2], user_id, "plain", seq, final=seq == len(CHUNKS) - 1)
            for seq in range(len(CHUNKS))
        ]
        assert {answer["recording_id"] for answer in answers} == {answers[0]["recording_id"]}
        await settled(a, b)
        await assert_one_complete_master(a, user_id, "plain", set(range(len(CHUNKS))))
        assert await keys_under(a, session_claim_key(user_id, "plain")) != []
        await b.recordings.delete(user_id, answers[0]["recording_id"])
        assert await keys_under(a, f"recordings/{user_id}/") == []
        assert await keys_under(a, f"sessions/{user_id}/") == []
    finally:
        await asyncio.gather(a.finalize_queue.aclose(), b.finalize_queue.aclose())
        await a.aclose()
        await b.aclose()


def test_two_server_processes_get_a_sessions_first_chunks_at_once(
    bucket_env: dict[str, str], tmp_path: Path
) -> None:
    """The same race through HTTP, on two real replicas (server processes) on one bucket."""
    servers = [
        ServerProcess(
            bucket_env | {"DATA_DIR": str(tmp_path / f"process-{i}")}, tmp_path / f"process-{i}.log"
        ).start()
        for i in range(2)
    ]
    apis: list[httpx.Client] = []
    try:
        with httpx.Client(base_url=servers[0].url, headers={"X-Admin-API-Key": ADMIN_TOKEN}) as admin:
            _, key = new_user_key(admin, "processes@example.com")
        apis = [httpx.Client(base_url=s.url, headers={"X-API-Key": key}, timeout=60) for s in servers]
        sessions = [f"process-{n}" for n in range(4)]
        with ThreadPoolExecutor(2) as pool:
            for session in sessions:
                firsts = list(pool.map(lambda api, s=session: send_chunk(api, CHUNKS[0], 0, session=s), apis))
                assert [answer.status_code for answer in firsts] == [201, 201], [a.text for a in firsts]
                for seq in range(1, len(CHUNKS)):
                    final = seq == len(CHUNKS) - 1
                    answer = send_chunk(apis[seq % 2], CHUNKS[seq], seq, session=session, final=final)
                    assert answer.status_code == 201, answer.text
        for api in apis:
            listed = api.get("/recordings", params={"limit": 100}).json()["recordings"]
            assert sorted(r["session_uid"] for r in listed) == sessions  # one recording per session
            assert {r["status"] for r in listed} == {"completed"}
    finally:
        for api in apis:
            api.close()
        for server in servers:
            server.stop()
