"""The reconciliation after a start (lite.catalog.reconcile) cleans up what requests killed mid-way left:
the objects of uploads and bot sessions killed before their manifest are deleted and nothing else, a
recording whose manifest was written but not indexed is indexed, and the chunks of a media file
finalized just before a kill go or stay as the backend's source of truth says. On local, minio and s3
(moto), through the service layer.
"""

from __future__ import annotations

import pytest

from lite.sessions.bot_uploads import chunk_key
from tests.maintenancekit import WAV, send_chunk, variant
from tests.reconcilekit import Lite, fixture_lite, restarted  # noqa: F401 - a fixture (lite)


@pytest.mark.anyio
async def test_objects_of_requests_killed_before_their_manifest_are_deleted_and_nothing_else(
    lite: Lite,
) -> None:
    before = await lite.keys()
    upload_file = lite.orphan_key()
    first_chunk = chunk_key(lite.orphan_key("bot-1.wav"), 0)  # a bot session's first chunk
    for key in (upload_file, first_chunk):
        await lite.services.storage.put_bytes(key, WAV)
    outcome = await restarted(lite.services).reconcile()
    assert sorted(outcome.deleted) == sorted([upload_file, first_chunk])
    assert (outcome.indexed, outcome.left) == ([], [])
    assert await lite.keys() == before


@pytest.mark.anyio
async def test_a_recording_whose_manifest_was_written_but_not_indexed_is_indexed(lite: Lite) -> None:
    lost = lite.recordings[1]
    lite.services.index.delete_recording(lost)  # killed after the manifest, before the index
    before = await lite.keys()
    outcome = await restarted(lite.services).reconcile()
    assert (outcome.indexed, outcome.deleted) == ([lost], [])
    assert lite.services.index.get_recording(lite.user_id, lost) is not None
    assert await lite.keys() == before


@pytest.mark.anyio
async def test_chunks_under_a_media_file_finalized_just_before_a_kill(
    lite: Lite, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed inside finalization, after the completed manifest was saved and before the index heard
    of it. On minio/s3 the index takes the manifest in (another replica may have finalized it), so
    the chunks are debris and go; on local the index decides, and the idle finalizer will finish it
    again from the chunks, which stay."""
    services = lite.services
    for seq in (0, 1):
        await send_chunk(services, lite.user_id, variant(seq), "meeting", seq, final=False)
    [media] = services.index.receiving_media()
    recording = services.index.get_recording_by_id(media.recording_id)
    assert recording is not None
    chunks = [c.storage_key for c in services.index.chunks_of(media.id)]

    def killed(*args: object) -> None:
        raise RuntimeError("SIGKILL")

    with monkeypatch.context() as patch:
        patch.setattr(services.index, "finish_media", killed)
        with pytest.raises(RuntimeError):
            await services.finalizer.finalize(recording, force=True)
    outcome = await restarted(services).reconcile()
    keys = await lite.keys()
    assert media.storage_key in keys
    if backend == "local":
        assert outcome.deleted == [] and set(chunks) <= keys
    else:
        assert sorted(outcome.deleted) == sorted(chunks) and not set(chunks) & keys
        [now] = services.index.media_for([recording.id])
        assert now.state == "complete"
