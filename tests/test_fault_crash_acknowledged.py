"""SIGKILL the server again and again while clients upload whole files and bot chunks concurrently
(tests/crashkit.py): what the clients were told holds after every restart. The load really was cut by
the kills; every acknowledged upload reads back byte-identical and every acknowledged bot chunk is in
its recording; nothing unacknowledged is visible, except an upload committed before the kill ate its
201 ("cut"), which is then complete and byte-identical. What the server refused never is.
"""

from __future__ import annotations

from tests.crashkit import Attempt, Snapshot, fixture_crash_run  # noqa: F401 - a fixture (crash_run)
from tests.faultkit import sha
from tests.test_bot_upload import pcm_of


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
