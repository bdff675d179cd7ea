"""Helpers for the fault and hostile-input tests: long mode, streamed multipart bodies, random WAV
files, a moto process the test can stop and pause, and inventories of storage and the index."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.conftest import s3_client, wait_for_port

# LITE_LONG_TESTS=1 runs the bigger loops (more crash cycles); CI runs the short ones.
LONG = os.environ.get("LITE_LONG_TESTS") == "1"
TEMP_MARK = ".part-"  # lite.storage.local's temp-file marker; kept literal so a rename is noticed
# sessions/: bot sessions' claims on shared storage (lite.catalog.session_claims), kept until a delete
CATALOG_PREFIXES = ("users/", "api-keys/", "api-key-ids/", "sessions/")
MANIFEST = "manifest.json"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_wav(nbytes: int, rate: int = 16000) -> bytes:
    """A valid 16-bit mono WAV of about `nbytes`, with random (so unique) samples."""
    frames = max(2, nbytes // 2)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(os.urandom(frames * 2))
    return buf.getvalue()


def multipart(
    fields: Iterable[tuple[str, str]],
    blocks: Iterable[bytes],
    filename: str = "upload.wav",
    boundary: str = "lite-test-boundary",
    after: Iterable[tuple[str, str]] = (),
) -> Iterator[bytes]:
    """A multipart/form-data body, streamed: the fields, then the file part block by block, then
    `after` fields. Send with content_type(boundary)."""

    def field(name: str, value: str) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()

    for name, value in fields:
        yield field(name, value)
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from blocks
    yield b"\r\n"
    for name, value in after:
        yield field(name, value)
    yield f"--{boundary}--\r\n".encode()


def content_type(boundary: str = "lite-test-boundary") -> dict[str, str]:
    return {"content-type": f"multipart/form-data; boundary={boundary}"}


def blocks_of(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class MotoProcess:
    """moto's S3 server on a fixed port, which the test may pause (a hang) or kill (a refusal)."""

    def __init__(self, port: int, journal: Path | None = None) -> None:
        self.port = port
        self.journal = journal  # with one, every request is journaled and replayed after a restart
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoProcess:
        """Start (again, on the same port). moto keeps its objects in memory only; with a journal the
        requests of earlier runs are replayed first, so a restart keeps the data as MinIO's does."""
        env = dict(os.environ)
        if self.journal is not None:
            env["MOTO_RECORDER_FILEPATH"] = str(self.journal)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        wait_for_port(self.port)
        if self.journal is not None:
            self._replay()
            httpx.post(f"{self.endpoint}/moto-api/recorder/start-recording").raise_for_status()
        return self

    def _replay(self) -> None:
        """Send the journaled requests again (moto's own replay stops at the first failure, and a
        request cut mid-body by a kill is journaled with a short body: those are skipped)."""
        if self.journal is None or not self.journal.exists():
            return
        with httpx.Client(base_url=self.endpoint, timeout=60) as client:
            for entry in _journal_entries(self.journal.read_text()):
                body = entry.get("body") or b""
                if entry.get("body_encoded"):
                    body = base64.b64decode(body)
                headers = {k: v for k, v in entry["headers"].items() if k.lower() != "transfer-encoding"}
                declared = headers.get("Content-Length")
                if declared is not None and int(declared) != len(body):
                    continue
                url = urlsplit(entry["url"])
                path = url.path + (f"?{url.query}" if url.query else "")
                client.request(entry["method"], path, headers=headers, content=body)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self):  # type: ignore[no-untyped-def]
        return s3_client(self.endpoint)


def _journal_entries(text: str) -> Iterator[dict[str, Any]]:
    """moto's threads append to the journal concurrently, so a line may hold several entries."""
    decoder = json.JSONDecoder()
    for line in text.splitlines():
        position = 0
        while position < len(line):
            try:
                entry, position = decoder.raw_decode(line, position)
            except ValueError:
                break  # a torn entry: its request never completed
            yield entry


class Gate:
    """A TCP forwarder on a fixed port in front of another one. close() makes the port refuse
    connections and drops the open ones; open() listens on the same port again."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port, self.target_port = port, target_port
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> Gate:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def close(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            conns, self.conns = self.conns, []
        if listener is not None:
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


# inventories


def index_rows(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The index's recordings, media files and chunks, read-only (the server may be running)."""
    conn = sqlite3.connect(f"file:{data_dir / 'lite.db'}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return {
            table: [dict(row) for row in conn.execute(f"SELECT * FROM {table}")]
            for table in ("recordings", "media_files", "chunks")
        }
    finally:
        conn.close()


Inventory = dict[str, tuple[int, str]]  # key -> (size, sha256)


def local_files(root: Path) -> Inventory:
    """Every file under the local storage root (temp files included), by key."""
    found: Inventory = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found[path.relative_to(root).as_posix()] = (len(data), sha(data))
    return found


def bucket_objects(client: Any, bucket: str) -> Inventory:
    found: Inventory = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            data = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = (len(data), sha(data))
    return found


def unreferenced(files: Inventory, rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Stored objects that the index does not account for: not a media file's key, not a chunk of
    a media file still receiving, not the catalog (users, keys), not an indexed recording's manifest."""
    media_keys = {m["storage_key"] for m in rows["media_files"]}
    # A chunk stored just before a kill, not yet indexed, still belongs to its in-progress recording
    # (the bot resends it, which replaces it).
    chunk_dirs = tuple(
        m["storage_key"] + ".chunks/" for m in rows["media_files"] if m["state"] == "receiving"
    )
    recording_prefixes = {f"recordings/{r['user_id']}/{r['id']}/" for r in rows["recordings"]}
    stray = []
    for key in files:
        if key in media_keys or key.startswith(chunk_dirs) or key.startswith(CATALOG_PREFIXES):
            continue
        if key.endswith("/" + MANIFEST) and key[: -len(MANIFEST)] in recording_prefixes:
            continue
        stray.append(key)
    return sorted(stray)


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
