"""Raw HTTP/1.1 over a socket, for requests no well-behaved client library will send."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit


def send(
    url: str, head: str, body: bytes = b"", timeout: float = 10.0, half_close: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """Send `head` (request line and headers, without the blank line) and `body`; read one answer.

    `half_close=False` keeps the sending side open, for a server expected to answer before the body
    is complete (a half-closed socket reads to the server as a client that went away)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header_block, _, payload = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, payload


def detail(payload: bytes) -> Any:
    return json.loads(payload)["detail"]
