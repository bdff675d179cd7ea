"""Starting the server: settings, checks, then uvicorn. Bad settings end in one line, no traceback."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import signal
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lite.config import ConfigError, load_settings
from lite.services import build_services
from lite.web import create_app

MAX_REQUEST_HEAD = 64 * 1024
TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s]*")


class RedactTokens(logging.Filter):
    """Access-log lines show paths; playback URLs carry a credential in `?token=`, never logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            path = TOKEN_IN_QUERY.sub(r"\1token=[redacted]", record.args[2])
            record.args = (*record.args[:2], path, *record.args[3:])
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    return config


# Libraries that log secrets or private data at DEBUG: botocore logs request signatures (a presigned
# URL's among them), headers and bodies; httpx logs request URLs (a webhook URL may hold a secret).
# LOG_LEVEL=debug is for Lite's own loggers; these stay at the level given here at most.
QUIET_LIBRARIES = {
    "botocore": logging.INFO,
    "boto3": logging.INFO,
    "s3transfer": logging.INFO,
    "urllib3": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}


def quiet_libraries() -> None:
    for name, most in QUIET_LIBRARIES.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(most, logger.getEffectiveLevel()))


class HeadLimitedHttpTools(HttpToolsProtocol):
    """httptools (several times faster than h11) with a bound on a request's head: by itself it
    buffers a header of any size (a 50 MB header was read whole, CPU-bound). A head larger than
    MAX_REQUEST_HEAD is answered 400 and the connection closed.

    Bytes are counted only while the head is incomplete and after the parser has seen them: one read
    can hold a small head and a large body (a bot's chunk, a pipelined request), which is fine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._received = 0  # bytes received while the head was incomplete: bounds buffering
        self._head_size = 0  # the head's own size as parsed: the exact limit, like h11's

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_size > MAX_REQUEST_HEAD:
            raise ValueError("request head too large")  # httptools turns this into a 400 answer
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._received, self._head_size = True, 0, 0

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        if self._received > MAX_REQUEST_HEAD:
            return  # answered 400, closing
        self._received += len(data)
        super().data_received(data)
        if self._in_head and self._received > MAX_REQUEST_HEAD and not self.transport.is_closing():
            self.send_400_response("Request line and headers are too large.")


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


def main() -> None:
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        quiet_libraries()
        services = asyncio.run(build_services(settings))
    except ConfigError as exc:
        print(f"lite: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.getLogger("lite").info(
        "serving on http://%s:%d with %s storage, data in %s",
        settings.host,
        settings.port,
        settings.storage_backend,
        settings.data_dir,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler that
    # was there before; without this one the process would die of that signal (exit -15, or 143 in
    # a container) instead of exiting 0 after a clean shutdown.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        proxy_headers=False,
        server_header=False,
        http=HeadLimitedHttpTools,
        # uvloop serves a saturated server unfairly: with 64 connections of 256 KiB Ranges it had the
        # same throughput as asyncio's own loop but a p99 of 180-350 ms against 24-30 ms (bench/).
        loop="asyncio",
        log_config=log_config(),
    )
