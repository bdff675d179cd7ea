"""Fixed answers sent straight at the ASGI level (the gates in lite.http.gates): encoded once, in
the API's error shape, so turning a request away costs no work per request."""

from __future__ import annotations

import json

from litestar.types import Receive, Scope, Send


class Canned503:
    """`503 {"detail", "code", "retry_after"}` with `Retry-After`; with `close`, `Connection: close`
    too (uvicorn then closes the connection after it, and the client reconnects elsewhere)."""

    def __init__(self, detail: str, code: str, retry_after: int, close: bool = False) -> None:
        self.body = json.dumps({"detail": detail, "code": code, "retry_after": retry_after}).encode()
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ] + ([(b"connection", b"close")] if close else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Sent with the request body unread: it may be large, and nothing is going to use it."""
        await send({"type": "http.response.start", "status": 503, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})
