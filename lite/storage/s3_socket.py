"""The socket under a botocore GET answer, for splicing (lite.storage.socket_body).

botocore has no public way to hand over a response's connection, so this reaches through its layers:
`StreamingBody._raw_stream` (urllib3's HTTPResponse, opened with decode_content=False) -> `_fp`
(http.client's HTTPResponse, which knows the bytes left) -> `fp` (a buffered reader over the socket).
Each step is checked; anything unexpected (a TLS socket, a checksum-validating body, a chunked or
part-read answer, another urllib3) answers None, and the answer is then read as blocks as before.
"""

from __future__ import annotations

import http.client
import os
import socket
from typing import Any

from botocore.response import StreamingBody

from lite.storage.socket_body import SocketBody

PREFIX_LIMIT = 64 * 1024  # what the reader may hold already: its buffer is 8 KiB


def plain_socket(body: Any, length: int) -> SocketBody | None:
    """`body` (a GET answer not yet read) as a SocketBody of `length` bytes, or None."""
    # Exactly StreamingBody: its subclass that validates the store's checksum must see every byte.
    if type(body) is not StreamingBody:
        return None
    raw = getattr(body, "_raw_stream", None)
    response = getattr(raw, "_fp", None)
    if not isinstance(response, http.client.HTTPResponse) or response.chunked or response.length != length:
        return None
    if getattr(raw, "_fp_bytes_read", None) != 0 or getattr(raw, "decode_content", True):
        return None
    reader = response.fp
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    # Exactly socket.socket: an ssl.SSLSocket (a subclass) encrypts in user space.
    if type(sock) is not socket.socket or sock.type != socket.SOCK_STREAM or os.get_blocking(sock.fileno()):
        return None
    timeout = sock.gettimeout()
    # What the reader buffered past the head; with the socket non-blocking for this one read, an
    # empty buffer gives b"" instead of waiting for the store.
    sock.settimeout(0.0)
    try:
        prefix = reader.read1(min(length, PREFIX_LIMIT))
    finally:
        sock.settimeout(timeout)
    return SocketBody(sock.fileno(), prefix, length - len(prefix), timeout or 0.0, body.close)
