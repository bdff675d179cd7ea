"""The clients of the crash tests: whole-file uploaders (some sending what the server must refuse) and
meeting bots sending chunks, all recording what they sent and what they were told ("acked", "refused",
or "cut": no answer, the kill), until the server is killed at a random moment. A bot resumes its
session after a restart, resending what was not acknowledged.
"""

from __future__ import annotations

import itertools
import json
import random
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faultkit import blocks_of, content_type, multipart, random_wav
from tests.procserver import ServerProcess

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
