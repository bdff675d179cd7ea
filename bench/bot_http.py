"""What bots.py says to the server: the upload request a bot sends (Vexa's bot contract: multipart
`file` + `metadata` JSON), one request on a new connection, GET and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json

BOUNDARY = "lite-bench-7d1f0c"


def request_bytes(
    port: int, key: str, session_uid: str, seq: int, chunk: bytes, is_final: bool = False
) -> bytes:
    metadata = json.dumps(
        {
            "session_uid": session_uid,
            "media_type": "audio",
            "format": "webm",
            "chunk_seq": seq,
            "is_final": is_final,
        }
    )
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{metadata}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="chunk.webm"\r\n'
            f"Content-Type: audio/webm\r\n\r\n"
        ).encode()
        + chunk
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST /internal/recordings/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n\r\n"
    ).encode()
    return head + body


async def one_request(port: int, payload: bytes, timeout: float) -> tuple[int, str]:
    """Send one request on a new connection; (status, body excerpt)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(payload)
        await asyncio.wait_for(writer.drain(), timeout)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await asyncio.wait_for(reader.readexactly(length), timeout) if length else b""
        return status, body[:200].decode(errors="replace")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class Stage:
    """Where an exchange is, so a failure can say where it happened."""

    def __init__(self) -> None:
        self.name = "connect"
        self.send_failed = False  # the server answered (and closed) before taking the whole body


async def exchange(
    port: int, payload: bytes, timeout: float, stage: Stage
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers lower-cased, body). The answer is read even
    when sending failed: a server may answer (503) before reading the body, then close."""
    async with asyncio.timeout(timeout):
        stage.name = "connect"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            stage.name = "send"
            send_error: OSError | None = None
            try:
                writer.write(payload)
                await writer.drain()
            except (ConnectionResetError, BrokenPipeError) as exc:
                send_error = exc
                stage.send_failed = True
            stage.name = "answer"
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError):
                if send_error is not None:
                    stage.name = "send"
                    raise send_error from None
                raise
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            body = await reader.readexactly(length) if length else b""
            return status, headers, body
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def error_kind(exc: BaseException, stage: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"timeout ({stage})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
        return f"reset ({stage})"
    if isinstance(exc, OSError):
        return f"OSError errno {exc.errno} ({stage})"
    return f"{type(exc).__name__} ({stage})"


async def http_get(port: int, path: str, key: str, timeout: float = 30.0) -> tuple[int, bytes]:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"
    status, _, body = await exchange(port, head.encode(), timeout, Stage())
    return status, body


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text: `name{labels}` -> value (labels kept as written)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


async def read_metrics(port: int, key: str) -> dict[str, float]:
    status, body = await http_get(port, "/metrics", key, timeout=10)
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}")
    return parse_metrics(body.decode())
