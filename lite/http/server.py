"""Starting the server: settings, checks, then uvicorn. Bad settings end in one line, no traceback."""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
import os
import resource
import signal
import socket
import sys
import time
from types import FrameType
from typing import Any
from urllib.parse import unquote_plus

import uvicorn

from lite.config import ConfigError, load_settings
from lite.http.app import create_app
from lite.http.connections import guarded_protocol
from lite.http.draining import Draining
from lite.ops.datadir_lock import lock_data_dir, release
from lite.services import build_services

log = logging.getLogger("lite.http.server")

# Query parameters whose values an access-log line may show; every other value is redacted, so a
# credential is hidden whatever its spelling (`?token=`, `?TOKEN=`, `?%74oken=`, repeated, or a name
# a future route adds). Names are compared percent-decoded and case-folded.
SHOWN_QUERY_PARAMETERS = frozenset(
    {"limit", "offset", "buckets", "type", "status", "source", "session_uid", "meeting_id", "q", "search"}
)


def redact_query(path: str) -> str:
    """The request target with the value of every parameter not known to be harmless redacted."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    shown = []
    for pair in query.split("&"):
        name, eq, _value = pair.partition("=")
        if eq and unquote_plus(name).strip().casefold() not in SHOWN_QUERY_PARAMETERS:
            pair = f"{name}=[redacted]"
        elif not eq and pair:
            pair = "[redacted]"  # a bare value may be a secret pasted on its own
        shown.append(pair)
    return base + "?" + "&".join(shown)


class RedactTokens(logging.Filter):
    """Access-log lines show paths; playback URLs carry a credential in the query, never logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3 and isinstance(record.args[2], str):
            record.args = (*record.args[:2], redact_query(record.args[2]), *record.args[3:])
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


def _exit_cleanly(signum: int, frame: object) -> None:
    sys.exit(0)


def _more_file_descriptors(wanted: int) -> None:
    """Each connection is a descriptor; the usual soft limit (1,024) would refuse connections long
    before HTTP_MAX_CONNECTIONS. Raised up to the hard limit, which an unprivileged process may do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class RateLimitedLoopErrors:
    """The event loop's error reports (an accept() failing for want of descriptors, a transport
    error) at most once per message kind every `seconds`, with the count of those left out: an
    attacker that makes every accept fail must not fill the disk with log lines."""

    def __init__(self, seconds: float = 10.0) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        kind = str(context.get("message", ""))[:80]
        now = time.monotonic()
        if now - self._last.get(kind, -self.seconds) < self.seconds:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return
        self._last[kind] = now
        dropped = self._dropped.pop(kind, 0)
        if dropped:
            context = {**context, "message": f"{context.get('message')} ({dropped} more like it not logged)"}
        loop.default_exception_handler(context)


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain in front of its graceful shutdown (lite.http.draining).

    The first SIGTERM/SIGINT starts the drain (not ready, new requests 503, the listener open); a
    second one ends it at once. Then uvicorn shuts down as usual: it closes the listener and idle
    connections and waits for requests in flight. The drain is part of the shutdown timeout, so
    SIGTERM to exit stays within SHUTDOWN_TIMEOUT_SECONDS, which deployments size their grace for."""

    def __init__(self, config: uvicorn.Config, draining: Draining) -> None:
        super().__init__(config)
        self.draining = draining
        self.budget = float(config.timeout_graceful_shutdown or 0)
        self._announced = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs as a signal handler: only flags here (logging could re-enter a half-written stream).
        if self.draining.active:
            super().handle_exit(sig, frame)  # a second signal: shut down now
        else:
            self.draining.begin()

    async def on_tick(self, counter: int) -> bool:
        if self.draining.active and not self._announced:
            self._announced = True
            log.info("shutting down: not ready, new requests 503, for up to %g s", self.draining.max_seconds)
        if self.draining.active and not self.should_exit and self.draining.over():
            log.info("drained for %.1f s; closing the listener", self.draining.elapsed())
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # In-flight requests get what the drain left of the budget (at least a second).
        self.config.timeout_graceful_shutdown = max(1.0, self.budget - self.draining.elapsed())  # type: ignore[assignment]
        await super().shutdown(sockets)


async def _serve(server: uvicorn.Server) -> None:
    asyncio.get_running_loop().set_exception_handler(RateLimitedLoopErrors())
    await server.serve()


def main() -> None:
    # Recordings, the index and the server's secrets are nobody else's to read: files 0600, dirs 0700.
    os.umask(0o077)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        quiet_libraries()
        lock = lock_data_dir(settings.data_dir, "the server")  # before anything is written
        services = asyncio.run(build_services(settings))
    except ConfigError as exc:
        print(f"lite: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    _more_file_descriptors(settings.http.max_connections + 256)
    logging.getLogger("lite").info(
        "serving on http://%s:%d with %s storage, data in %s",
        settings.host,
        settings.port,
        settings.storage_backend,
        settings.data_dir,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT (after DrainingServer's drain), then re-raises
    # a signal it handled to the handler that was there before; without this one the process would
    # die of that signal (exit -15, or 143 in a container) instead of exiting 0 after a clean shutdown.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    draining = Draining(settings.shutdown_drain_seconds)
    config = uvicorn.Config(
        create_app(services, draining),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # Off when its lines would not be shown anyway: uvicorn builds each line's arguments first.
        access_log=settings.access_log and logging.getLevelName(settings.log_level.upper()) <= logging.INFO,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        timeout_keep_alive=settings.http.keepalive_timeout,  # type: ignore[arg-type]
        proxy_headers=False,
        server_header=False,
        http=guarded_protocol(settings.http),
        # uvloop serves a saturated server unfairly: with 64 connections of 256 KiB Ranges it had the
        # same throughput as asyncio's own loop but a p99 of 180-350 ms against 24-30 ms (bench/).
        loop="asyncio",
        log_config=log_config(),
    )
    # What start-up made (the app, its routes, the libraries) lives as long as the process: out of
    # the collector's sight, a full collection under load walks only what requests made (bench/).
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_serve(DrainingServer(config, draining)))
    finally:
        release(lock)
