"""SIGKILL the server again and again while clients upload whole files and bot chunks concurrently
(tests/crashkit.py): what storage and the index hold after every restart. No temp or partial file is
left, the index points only at complete objects, objects the index lacks as the kill left them come
only from requests the kill cut, and the reconciliation after the restart cleans those up.
"""

from __future__ import annotations

import re

from tests.crashkit import Rows, Snapshot, fixture_crash_run  # noqa: F401 - a fixture (crash_run)
from tests.faultkit import TEMP_MARK, Inventory, unreferenced


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


def _left_for_the_sweep(rows: Rows) -> set[str]:
    """Chunk objects the index still lists for a master it has complete. The finalizer deletes them
    after indexing the master (after the final chunk's answer), object first, then its row; a kill in
    between leaves them, and the start-up sweep removes them (the next test checks it did)."""
    complete = {m["id"] for m in rows["media_files"] if m["state"] == "complete"}
    return {c["storage_key"] for c in rows["chunks"] if c["media_id"] in complete}


def test_objects_the_index_lacks_come_only_from_requests_cut_by_a_kill(crash_run: list[Snapshot]) -> None:
    """As the kill left it, storage may hold objects of a request it cut between storing and indexing
    (the restart cleans them up: the next test), never of one that was acknowledged or refused, apart
    from a complete master's chunks the finalizer had not yet deleted. (What is served comes from the
    index, so these are never served: the tests above compare every served byte with what was sent.)"""
    for snap in crash_run:
        sweep = _left_for_the_sweep(snap.killed_rows)
        for uid, keys in _stray_sessions(snap.cycle, snap.killed_files, snap.killed_rows).items():
            if set(keys) <= sweep:
                continue
            sent = [a for a in snap.attempts if a.session == uid]
            assert any(a.outcome == "cut" for a in sent), f"cycle {snap.cycle}: {keys} of {uid}: {sent}"


def test_objects_of_requests_cut_by_a_kill_are_cleaned_up_after_the_restart(
    crash_run: list[Snapshot],
) -> None:
    """The reconciliation after a start deletes the objects of requests the kill cut before their
    manifest, and indexes recordings whose manifest was written but not indexed."""
    for snap in crash_run:
        assert _stray_sessions(snap.cycle, snap.files, snap.rows) == {}, f"cycle {snap.cycle}"
