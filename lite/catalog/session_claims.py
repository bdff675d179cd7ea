"""One recording per bot session across replicas: the session's claim object.

On shared storage a session's first chunks may reach two replicas at the same instant; each looks
for the session's recording, finds none, and (before this) made one of its own. Now each first
creates `sessions/<user_id>/<session_uid>.json` with If-None-Match: *, holding the recording it
would make (a manifest without media). One create wins; every other replica reads the claim and
joins that recording: same id, so the same deterministic chunk keys (lite.catalog.keys). Whoever
writes the recording's manifest first creates it from the claim's row; the others merge into it
(lite.catalog.manifest_writes), so nobody waits for the winner.

A delete removes the claim before the manifest. A replica that created the manifest from a claim
checks afterwards that the claim still names the recording (`still_claimed`); if not, the delete
came between its read of the claim and its write, and it takes its write back. If the delete's
removal of the claim comes after that check, its removal of the manifest comes after it too.

On a private volume (local) there is one process, and the session lock already makes one recording
per session: no claims are written there (lite.catalog.replicas.PrivateVolume never calls this).
"""

from __future__ import annotations

from lite.catalog.keys import session_claim_key
from lite.catalog.layout import manifest_bytes, parse_manifest
from lite.catalog.records import Recording
from lite.errors import Busy, WriteConflict
from lite.storage import Storage

ATTEMPTS = 3  # a claim found gone right after a conflict: removed by a delete in between


async def _read(storage: Storage, user_id: int, session_uid: str) -> Recording | None:
    found = await storage.get_tagged(session_claim_key(user_id, session_uid))
    return None if found is None else parse_manifest(found.data)[0]


async def claim(storage: Storage, recording: Recording) -> Recording:
    """The session's recording: `recording` if this replica's claim won, else the claimed one. A
    conflict on this replica's own retried write reads back its own recording (its id is unique)."""
    user_id, session_uid = recording.user_id, recording.session_uid
    for _ in range(ATTEMPTS):
        try:
            await storage.put_new(session_claim_key(user_id, session_uid), manifest_bytes(recording, []))
            return recording
        except WriteConflict:
            claimed = await _read(storage, user_id, session_uid)
        if claimed is not None:
            return claimed
    raise Busy(f"session {session_uid!r} is being started and deleted at once; send the chunk again")


async def still_claimed(storage: Storage, recording: Recording) -> bool:
    claimed = await _read(storage, recording.user_id, recording.session_uid)
    return claimed is not None and claimed.id == recording.id


async def release(storage: Storage, recording: Recording) -> None:
    """At a delete, before the manifest goes: the claim, if it names this recording (a session's
    earlier recording, deleted before, may have left its session to a newer one)."""
    if recording.source != "bot":
        return
    if await still_claimed(storage, recording):
        await storage.delete(session_claim_key(recording.user_id, recording.session_uid))
