"""After bots.py's session load: the finalize queue drains, and every session must end as one
completed recording with all its chunks (at most `--settle` s); the rest are lost."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any, NamedTuple, TypedDict

from bot_http import http_get, read_metrics


class SessionState(TypedDict):
    chunks: int
    bytes: int
    ids: set[Any]  # the recording ids the session's 201 answers named
    abandoned: bool


class Settled(NamedTuple):
    drained_s: float | None  # load end to lite_finalize_queue 0
    all_completed_s: float | None  # load end to every session completed (or abandoned)
    verdicts: dict[str, str]  # session_uid -> "completed", "abandoned" or why it is lost


async def wait_until_settled(
    args: argparse.Namespace,
    sessions: dict[str, SessionState],
    t0: float,
    load_end: float,
    queue_depth: list[tuple[float, float]],
) -> Settled:
    """Poll /metrics (adding to queue_depth) until the finalize queue is 0, then GET /recordings
    until every session is settled, once a second, until `--settle` s after the load."""
    drained_s: float | None = None
    settled_s: float | None = None
    verdicts: dict[str, str] = {}
    deadline = load_end + args.settle
    while True:
        now = time.monotonic()
        if drained_s is None:
            with contextlib.suppress(Exception):
                m = await read_metrics(args.port, args.key)
                queue_depth.append((now - t0, m.get("lite_finalize_queue", float("nan"))))
                if m.get("lite_finalize_queue") == 0:
                    drained_s = now - load_end
        if drained_s is not None:
            verdicts = await check_sessions(args, sessions)
            if all(v in ("completed", "abandoned") for v in verdicts.values()):
                settled_s = time.monotonic() - load_end
                break
        if time.monotonic() > deadline:
            if drained_s is None or not verdicts:
                verdicts = await check_sessions(args, sessions)
            break
        await asyncio.sleep(1.0)
    return Settled(drained_s, settled_s, verdicts)


async def check_sessions(args: argparse.Namespace, sessions: dict[str, SessionState]) -> dict[str, str]:
    """Each session's fate from GET /recordings (all pages): 'completed' when it is exactly one
    completed recording, the one its answers named, whose media has all the session's chunks."""
    found = await recordings_by_session(args, sessions)
    return {uid: verdict(state, found.get(uid, [])) for uid, state in sessions.items()}


async def recordings_by_session(
    args: argparse.Namespace, sessions: dict[str, SessionState]
) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    offset = 0
    while True:
        status, body = await http_get(args.port, f"/recordings/?limit=200&offset={offset}", args.key)
        if status != 200:
            raise RuntimeError(f"GET /recordings answered {status}: {body[:200]!r}")
        page = json.loads(body)
        for rec in page["recordings"]:
            if rec.get("session_uid") in sessions:
                found.setdefault(rec["session_uid"], []).append(rec)
        offset += len(page["recordings"])
        if not page["recordings"] or offset >= page["total"]:
            break
    return found


def verdict(state: SessionState, recs: list[dict[str, Any]]) -> str:
    if state["abandoned"]:
        return "abandoned"
    if not recs:
        return "no recording"
    if len(recs) > 1:
        return "several recordings"
    if recs[0]["status"] != "completed":
        return f"recording {recs[0]['status']}"
    if state["ids"] != {recs[0]["id"]}:
        return "answers named another recording"
    media = [m for m in recs[0].get("media_files", []) if m.get("type") == "audio"]
    count = media[0].get("chunk_count") if media else None
    if not media:
        return "no audio media"
    if count is not None and count != state["chunks"]:
        return "chunks missing"
    return "completed"
