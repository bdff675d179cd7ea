"""What `import-vexa` makes of one Vexa recording prefix: its session and media files, from the keys
(lite.catalog.vexa_layout) and, for a single `.webm`/`.mp4`, its streams (video or audio)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from anyio import to_thread

from lite.catalog.keys import check_session_uid, media_key
from lite.catalog.vexa_layout import VexaObject, parse
from lite.errors import LiteError
from lite.media import formats
from lite.media.opening import open_media
from lite.media.probe import probe_duration, probe_sample_rate
from lite.storage import ObjectInfo, Storage

ASSEMBLED = ("webm", "wav")  # what Vexa (and Lite) assemble chunks of


class ImportFailed(Exception):
    """This recording cannot be imported; the message says why (for the report)."""


class NotVexa(Exception):
    """Nothing under this recording prefix is in Vexa's key layout: skipped, left alone."""


@dataclass
class Media:
    media_type: str
    fmt: str
    key: str  # the playable object, or where the chunks are assembled to
    how: str  # for the dry run's listing
    sources: list[ObjectInfo]  # Vexa's objects it comes from (timestamps, copying)
    chunks: list[tuple[int, ObjectInfo]] = field(default_factory=list)  # to assemble; empty: key is it


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def streams(storage: Storage, key: str) -> tuple[bool, bool]:
    """(has audio, has video): read from the headers with Lite's demuxers; (False, False) if unreadable."""
    try:
        reader = storage.open_seekable(key)
    except LiteError:
        return False, False
    try:
        with open_media(reader) as container:
            return bool(container.streams.audio), bool(container.streams.video)
    except Exception:  # garbage or an unknown format: nothing plays
        return False, False
    finally:
        reader.close()


def probed(storage: Storage, key: str) -> tuple[float | None, int | None]:
    """(duration, sample rate) the file's headers state, each read afresh (as Lite's uploads do)."""
    found = []
    for probe in (probe_duration, probe_sample_rate):
        reader = storage.open_seekable(key)
        try:
            found.append(probe(reader))
        finally:
            reader.close()
    return found[0], found[1]


async def plan(
    source: Storage, ids: tuple[int, int], prefix: str, names: dict[str, ObjectInfo], left: list[str]
) -> tuple[str, list[Media]]:
    """The session and its media files; objects not used are added to `left` (left alone)."""
    parsed = {name: parse(name) for name in names}
    sessions = sorted({obj.session_uid for obj in parsed.values() if obj is not None})
    if not sessions:
        raise NotVexa()
    session_uid = sessions[0]  # Vexa: one session per recording; any other is left alone, and listed
    try:
        check_session_uid(session_uid)
    except LiteError as exc:
        raise ImportFailed(f"session {session_uid[:64]!r}: {exc.detail}") from None
    folders: dict[str, list[tuple[VexaObject, ObjectInfo]]] = defaultdict(list)
    singles: list[tuple[VexaObject, ObjectInfo]] = []
    for name, obj in parsed.items():
        if obj is None or obj.session_uid != session_uid:
            left.append(prefix + name)
        elif obj.media_type is None:
            singles.append((obj, names[name]))
        else:
            folders[obj.media_type].append((obj, names[name]))
    media: dict[str, Media] = {}
    for media_type, objects in sorted(folders.items()):
        media[media_type] = _from_folder(ids, session_uid, media_type, objects, names)
        singles = [(o, i) for o, i in singles if i.key != media[media_type].key]  # assembled earlier
    for obj, info in sorted(singles, key=lambda pair: pair[0].fmt != "wav"):  # a .wav is the audio
        media_type = "audio"
        if obj.fmt != "wav":
            _, video = await to_thread.run_sync(streams, source, info.key)
            media_type = "video" if video else "audio"
        if media_type in media:
            left.append(f"{info.key} (a second {media_type} file of the session)")
            continue
        media[media_type] = Media(media_type, obj.fmt, info.key, "a single file", [info])
    return session_uid, list(media.values())


def _from_folder(
    ids: tuple[int, int],
    session_uid: str,
    media_type: str,
    objects: list[tuple[VexaObject, ObjectInfo]],
    names: dict[str, ObjectInfo],
) -> Media:
    infos = [info for _, info in objects]
    masters = [(obj, info) for obj, info in objects if obj.is_master]
    if masters:
        obj, info = masters[0]
        chunk_count = len(objects) - len(masters)
        return Media(media_type, obj.fmt, info.key, f"its master ({chunk_count} chunks beside it)", infos)
    fmts = {obj.fmt for obj, _ in objects}
    if len(fmts) > 1:
        raise ImportFailed(f"the {media_type} chunks mix formats ({', '.join(sorted(fmts))})")
    fmt = fmts.pop()
    if fmt not in formats.FORMATS:
        raise ImportFailed(f"the {media_type} chunks are {fmt}, which Lite does not serve")
    chunks = sorted(((obj.seq or 0, info) for obj, info in objects), key=lambda pair: (pair[0], pair[1].key))
    key = media_key(*ids, session_uid, media_type, fmt)
    assembled = names.get(key.rsplit("/", 1)[1])
    if assembled is not None:  # a run killed before the manifest left it (stored atomically)
        return Media(media_type, fmt, key, "the file assembled by an earlier run", [*infos, assembled])
    if fmt in ASSEMBLED:
        counted = f"{len(chunks)} chunk{'s' if len(chunks) > 1 else ''}"
        return Media(media_type, fmt, key, f"{counted}, assembled", infos, chunks)
    if len(chunks) == 1:
        return Media(media_type, fmt, chunks[0][1].key, "its only chunk", infos)
    raise ImportFailed(f"{len(chunks)} {media_type} chunks in {fmt} cannot be joined (only webm and wav)")
