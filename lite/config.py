"""Settings, read from the environment here (the storage backend's in lite.config_storage).

A bad setting raises ConfigError naming the variable; the entry points print that one line and exit,
so an operator never has to read a traceback to find a typo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lite.config_storage import (
    BACKENDS,
    ConfigError,
    S3Settings,
    choose_backend,
    s3_settings,
)
from lite.config_storage import env_bool as _bool
from lite.config_storage import env_str as _str

__all__ = [
    "BACKENDS",
    "ConfigError",
    "ConnectionLimits",
    "GiB",
    "MiB",
    "S3Settings",
    "Settings",
    "load_settings",
]

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class ConnectionLimits:
    """The HTTP server's defences against slow and idle clients (lite.http.connections)."""

    header_timeout: float = 10.0  # seconds to send a complete request head
    body_timeout: float = 30.0  # seconds a request body may pause
    keepalive_timeout: float = 5.0  # seconds an idle kept-alive connection stays open
    max_connections: int = 4096  # open connections; past it the longest-idle one makes room


@dataclass(frozen=True)
class Settings:
    storage_backend: str = "local"
    data_dir: Path = Path("./data")
    local_storage_dir: Path = Path("./data/recordings")
    local_fsync: bool = True
    s3: S3Settings | None = None
    admin_api_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8056
    max_upload_bytes: int = 4 * GiB
    chunk_max_bytes: int = 32 * MiB
    idle_finalize_seconds: float = 300.0
    # Final chunks are acknowledged once stored; FINALIZE_WORKERS assemble them from a queue. The
    # answer to a final chunk may wait FINALIZE_WAIT_MS for the master (0: never waits).
    finalize_workers: int = 2
    finalize_queue_max: int = 10_000
    finalize_wait_ms: int = 0
    # Chunk writes in flight per process; past it a bot is told 503 + Retry-After before its body is read.
    bot_max_inflight_chunks: int = 16
    bot_retry_after_seconds: int = 2
    # minio/s3: unaccounted objects younger than this may be writes in flight on another replica
    reconcile_grace_seconds: float = 3600.0
    playback_signing_key: str | None = None
    playback_token_seconds: int = 6 * 3600
    presign_seconds: int = 3600
    # minio/s3: /raw answers a GET of a complete file with a 302 to a presigned URL, so the store
    # sends the bytes (browsers must reach it: MINIO_PUBLIC_ENDPOINT); off, Lite relays them
    raw_redirect: bool = False
    shutdown_timeout_seconds: int = 30
    # Part of the timeout: after SIGTERM, at most this long not ready (new requests 503) before the
    # listener closes, so load balancers stop sending first (lite.http.draining)
    shutdown_drain_seconds: int = 10
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Per-user webhook URLs may point at private networks (otherwise refused: lite.accounts.webhook_targets)
    webhook_allow_private_networks: bool = False
    post_meeting_hooks: tuple[str, ...] = ()  # Vexa's POST_MEETING_HOOKS: more system webhook URLs
    # Seconds between delivery attempts of one webhook event (Vexa's schedule), and when to give up
    webhook_retry_seconds: tuple[float, ...] = (1.0, 2.0, 4.0, 60.0, 300.0, 1800.0, 7200.0)
    webhook_max_age_seconds: float = 24 * 3600.0
    log_level: str = "info"
    access_log: bool = True  # a line per request at info level (about 50 µs of CPU each: bench/README.md)
    max_chunks: int = 100_000  # chunk_seq of a bot session: 0..max_chunks (14 days of 12 s chunks)
    meeting_token_secret: str | None = None  # Vexa's ADMIN_TOKEN: signs the bot's MeetingToken
    internal_api_secret: str | None = None  # Vexa's INTERNAL_API_SECRET: another bot credential
    metrics_token: str | None = None  # set: GET /metrics needs "Authorization: Bearer <it>"; unset: open
    http: ConnectionLimits = ConnectionLimits()

    @property
    def index_path(self) -> Path:
        return self.data_dir / "lite.db"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _urls(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in (_str(env, name) or "").split(",") if u.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://, not {url!r}")
    return urls


def _seconds_list(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = _str(env, name)
    if not raw:
        return default
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} must be comma-separated seconds (e.g. 60,300,1800), not {raw!r}") from None
    if not values or any(not 0 < v <= 86400 for v in values):
        raise ConfigError(f"{name}: every delay must be between 0 and 86400 seconds")
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    backend, chosen_by = choose_backend(env)
    data_dir = Path(_str(env, "DATA_DIR", "./data") or "./data")
    local_dir = Path(_str(env, "LOCAL_STORAGE_DIR") or data_dir / "recordings")
    log_level = (_str(env, "LOG_LEVEL", "info") or "info").lower()
    if log_level not in ("critical", "error", "warning", "info", "debug"):
        raise ConfigError(
            f"LOG_LEVEL must be one of critical, error, warning, info, debug, not {log_level!r}"
        )
    webhook_url = _str(env, "WEBHOOK_URL")
    if webhook_url:
        _urls({"WEBHOOK_URL": webhook_url}, "WEBHOOK_URL")
    shutdown_timeout = _int(env, "SHUTDOWN_TIMEOUT_SECONDS", 30, minimum=1)
    # The drain comes out of the shutdown timeout (SIGTERM to exit stays within it): unset, 10 s,
    # or half a shorter timeout, so in-flight requests keep the larger part of it.
    shutdown_drain = _int(env, "SHUTDOWN_DRAIN_SECONDS", min(10, shutdown_timeout // 2), minimum=0)
    if shutdown_drain >= shutdown_timeout:
        raise ConfigError(
            f"SHUTDOWN_DRAIN_SECONDS ({shutdown_drain}) must be less than SHUTDOWN_TIMEOUT_SECONDS"
            f" ({shutdown_timeout}): the drain is part of it"
        )
    return Settings(
        storage_backend=backend,
        data_dir=data_dir,
        local_storage_dir=local_dir,
        local_fsync=_bool(env, "LOCAL_STORAGE_FSYNC", True),
        s3=s3_settings(env, backend, chosen_by) if backend != "local" else None,
        admin_api_token=_str(env, "ADMIN_API_TOKEN"),
        host=_str(env, "HOST", "127.0.0.1") or "127.0.0.1",
        port=_int(env, "PORT", 8056, minimum=1),
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 4 * GiB, minimum=1),
        chunk_max_bytes=_int(env, "RECORDING_CHUNK_MAX_BYTES", 32 * MiB, minimum=1),
        idle_finalize_seconds=float(_int(env, "RECORDING_IDLE_FINALIZE_SECONDS", 300, minimum=1)),
        finalize_workers=_int(env, "FINALIZE_WORKERS", 2, minimum=1),
        finalize_queue_max=_int(env, "FINALIZE_QUEUE_MAX", 10_000, minimum=1),
        finalize_wait_ms=_int(env, "FINALIZE_WAIT_MS", 0),
        bot_max_inflight_chunks=_int(env, "BOT_MAX_INFLIGHT_CHUNKS", 16, minimum=1),
        bot_retry_after_seconds=_int(env, "BOT_RETRY_AFTER_SECONDS", 2, minimum=1),
        reconcile_grace_seconds=float(_int(env, "RECONCILE_GRACE_SECONDS", 3600, minimum=0)),
        playback_signing_key=_str(env, "PLAYBACK_SIGNING_KEY"),
        playback_token_seconds=_int(env, "PLAYBACK_TOKEN_SECONDS", 6 * 3600, minimum=10),
        presign_seconds=_int(env, "PRESIGNED_URL_SECONDS", 3600, minimum=10),
        raw_redirect=_bool(env, "RAW_REDIRECT_TO_STORE", False),
        shutdown_timeout_seconds=shutdown_timeout,
        shutdown_drain_seconds=shutdown_drain,
        webhook_url=webhook_url,
        webhook_secret=_str(env, "WEBHOOK_SECRET"),
        webhook_allow_private_networks=_bool(env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False),
        post_meeting_hooks=_urls(env, "POST_MEETING_HOOKS"),
        webhook_retry_seconds=_seconds_list(env, "WEBHOOK_RETRY_SECONDS", Settings.webhook_retry_seconds),
        webhook_max_age_seconds=float(_int(env, "WEBHOOK_MAX_AGE_SECONDS", 24 * 3600, minimum=1)),
        log_level=log_level,
        access_log=_bool(env, "ACCESS_LOG", True),
        max_chunks=_int(env, "RECORDING_MAX_CHUNKS", 100_000, minimum=1),
        # Vexa v0.10.7 verifies MeetingTokens with ADMIN_TOKEN, else ADMIN_API_TOKEN (Lite's admin
        # token, which may also be generated; lite.services falls back to that one).
        meeting_token_secret=_str(env, "ADMIN_TOKEN"),
        internal_api_secret=_str(env, "INTERNAL_API_SECRET"),
        metrics_token=_str(env, "METRICS_TOKEN"),
        http=ConnectionLimits(
            header_timeout=float(_int(env, "HTTP_HEADER_TIMEOUT_SECONDS", 10, minimum=1)),
            body_timeout=float(_int(env, "HTTP_BODY_TIMEOUT_SECONDS", 30, minimum=1)),
            keepalive_timeout=float(_int(env, "HTTP_KEEPALIVE_TIMEOUT_SECONDS", 5, minimum=1)),
            max_connections=_int(env, "HTTP_MAX_CONNECTIONS", 4096, minimum=16),
        ),
    )
