"""A final chunk that reaches a second replica while the first completes the recording (a bot's
resend of its final chunk, or a load balancer's retry): the second stores the chunk, then finds the
media complete when it changes the manifest. It is refused (409, as a resend after completion is on
one replica) and the object it stored goes: the recording is its manifest and its one master."""

from __future__ import annotations

import pytest

from lite.catalog.records import Recording
from lite.errors import Conflict
from lite.services import Services
from tests.test_replica_races import (
    CHUNKS,
    assert_one_complete_master,
    fixture_bucket_env,  # noqa: F401 - a fixture
    fixture_replicas,  # noqa: F401 - a fixture
    keys_under,
    masters_of,
    send,
    settled,
    user_on_both,
)

pytestmark = pytest.mark.anyio


async def test_a_final_chunk_stored_while_another_replica_completes_leaves_nothing_behind(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    user_id = await user_on_both(a, b, "late-final@example.com")
    last = len(CHUNKS) - 1
    for seq in range(last):
        answer = await send((a, b)[seq % 2], user_id, "late", seq)
    recording_id = int(answer["recording_id"])
    await send(a, user_id, "late", last, final=True)
    await settled(a)  # completed on a: master stored, chunks removed

    async def as_read_before_it_completed(user: int, session_uid: str) -> Recording | None:
        return b.index.bot_recording(user, session_uid)  # b's index: still in progress

    monkeypatch.setattr(b.catalog.replicas, "session_recording", as_read_before_it_completed)
    with pytest.raises(Conflict):
        await send(b, user_id, "late", last, final=True)
    prefix = f"recordings/{user_id}/{recording_id}/"
    expected = [prefix + "manifest.json", *await masters_of(a, user_id, "late")]
    assert sorted(await keys_under(a, prefix)) == sorted(expected)
    await assert_one_complete_master(a, user_id, "late", set(range(len(CHUNKS))))
