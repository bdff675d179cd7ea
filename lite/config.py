"""Settings, read from the environment in one place.

A bad setting raises ConfigError naming the variable; the entry points print that one line and exit,
so an operator never has to read a traceback to find a typo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("local", "minio", "s3")
GiB = 1024**3
MiB = 1024**2


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str | None  # None: AWS's own endpoint
    public_endpoint: str | None  # the host browsers use, for presigned URLs
    region: str
    access_key: str | None  # None: boto3's default credential chain
    secret_key: str | None
    path_style: bool
    create_bucket: bool  # minio: create a missing bucket; s3: a missing bucket is an error
    # The variables these came from, so an error can say which one to fix.
    endpoint_variable: str = "S3_ENDPOINT"
    bucket_variable: str = "S3_BUCKET"
    key_variables: tuple[str, str] = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    # botocore's checksum modes: "when_required" by default on every endpoint (see lite/storage/s3.py)
    request_checksums: str = "when_required"
    response_checksums: str = "when_required"


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
    # minio/s3: unaccounted objects younger than this may be writes in flight on another replica
    reconcile_grace_seconds: float = 3600.0
    playback_signing_key: str | None = None
    playback_token_seconds: int = 6 * 3600
    presign_seconds: int = 3600
    shutdown_timeout_seconds: int = 30
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # Per-user webhook URLs may point at private networks (otherwise refused: lite.accounts.webhook_targets)
    webhook_allow_private_networks: bool = False
    post_meeting_hooks: tuple[str, ...] = ()  # Vexa's POST_MEETING_HOOKS: more system webhook URLs
    # Seconds between delivery attempts of one webhook event (Vexa's schedule), and when to give up
    webhook_retry_seconds: tuple[float, ...] = (1.0, 2.0, 4.0, 60.0, 300.0, 1800.0, 7200.0)
    webhook_max_age_seconds: float = 24 * 3600.0
    log_level: str = "info"
    max_chunks: int = 100_000  # chunk_seq of a bot session: 0..max_chunks (14 days of 12 s chunks)
    meeting_token_secret: str | None = None  # Vexa's ADMIN_TOKEN: signs the bot's MeetingToken
    internal_api_secret: str | None = None  # Vexa's INTERNAL_API_SECRET: another bot credential
    http: ConnectionLimits = ConnectionLimits()

    @property
    def index_path(self) -> Path:
        return self.data_dir / "lite.db"


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


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


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name, "").strip()
    return raw or default


def _endpoint(raw: str, secure: bool) -> str:
    # MinIO users often write "minio:9000"; a full URL is used as is.
    if "://" in raw:
        return raw.rstrip("/")
    return f"{'https' if secure else 'http'}://{raw}".rstrip("/")


def _s3_settings(env: Mapping[str, str], backend: str) -> S3Settings:
    if backend == "minio":
        endpoint = _str(env, "MINIO_ENDPOINT")
        if not endpoint:
            raise ConfigError("MINIO_ENDPOINT is required when STORAGE_BACKEND=minio (e.g. minio:9000)")
        secure = _bool(env, "MINIO_SECURE", False)
        public = _str(env, "MINIO_PUBLIC_ENDPOINT")
        return S3Settings(
            bucket=_str(env, "MINIO_BUCKET", "recordings") or "recordings",
            endpoint=_endpoint(endpoint, secure),
            public_endpoint=_endpoint(public, secure) if public else None,
            region=_str(env, "AWS_REGION", "us-east-1") or "us-east-1",
            access_key=_str(env, "MINIO_ACCESS_KEY"),
            secret_key=_str(env, "MINIO_SECRET_KEY"),
            path_style=True,
            create_bucket=True,
            endpoint_variable="MINIO_ENDPOINT",
            bucket_variable="MINIO_BUCKET",
            key_variables=("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"),
            **_checksum_modes(env),
        )
    bucket = _str(env, "S3_BUCKET")
    if not bucket:
        raise ConfigError("S3_BUCKET is required when STORAGE_BACKEND=s3")
    endpoint = _str(env, "S3_ENDPOINT")
    return S3Settings(
        bucket=bucket,
        endpoint=_endpoint(endpoint, True) if endpoint else None,
        public_endpoint=None,
        region=_str(env, "AWS_REGION", "us-east-1") or "us-east-1",
        access_key=_str(env, "AWS_ACCESS_KEY_ID"),
        secret_key=_str(env, "AWS_SECRET_ACCESS_KEY"),
        path_style=_bool(env, "S3_PATH_STYLE", bool(endpoint)),
        create_bucket=False,
        **_checksum_modes(env),
    )


def _checksum_modes(env: Mapping[str, str]) -> dict[str, str]:
    """botocore's own variables, honoured when set (e.g. "when_supported" for AWS's extra checks)."""
    modes = {}
    for field, variable in (
        ("request_checksums", "AWS_REQUEST_CHECKSUM_CALCULATION"),
        ("response_checksums", "AWS_RESPONSE_CHECKSUM_VALIDATION"),
    ):
        value = (_str(env, variable, "when_required") or "when_required").lower()
        if value not in ("when_required", "when_supported"):
            raise ConfigError(f"{variable} must be when_required or when_supported, not {value!r}")
        modes[field] = value
    return modes


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
    backend = (_str(env, "STORAGE_BACKEND", "local") or "local").lower()
    if backend not in BACKENDS:
        raise ConfigError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
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
    return Settings(
        storage_backend=backend,
        data_dir=data_dir,
        local_storage_dir=local_dir,
        local_fsync=_bool(env, "LOCAL_STORAGE_FSYNC", True),
        s3=_s3_settings(env, backend) if backend != "local" else None,
        admin_api_token=_str(env, "ADMIN_API_TOKEN"),
        host=_str(env, "HOST", "127.0.0.1") or "127.0.0.1",
        port=_int(env, "PORT", 8056, minimum=1),
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 4 * GiB, minimum=1),
        chunk_max_bytes=_int(env, "RECORDING_CHUNK_MAX_BYTES", 32 * MiB, minimum=1),
        idle_finalize_seconds=float(_int(env, "RECORDING_IDLE_FINALIZE_SECONDS", 300, minimum=1)),
        reconcile_grace_seconds=float(_int(env, "RECONCILE_GRACE_SECONDS", 3600, minimum=0)),
        playback_signing_key=_str(env, "PLAYBACK_SIGNING_KEY"),
        playback_token_seconds=_int(env, "PLAYBACK_TOKEN_SECONDS", 6 * 3600, minimum=10),
        presign_seconds=_int(env, "PRESIGNED_URL_SECONDS", 3600, minimum=10),
        shutdown_timeout_seconds=_int(env, "SHUTDOWN_TIMEOUT_SECONDS", 30, minimum=1),
        webhook_url=webhook_url,
        webhook_secret=_str(env, "WEBHOOK_SECRET"),
        webhook_allow_private_networks=_bool(env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False),
        post_meeting_hooks=_urls(env, "POST_MEETING_HOOKS"),
        webhook_retry_seconds=_seconds_list(env, "WEBHOOK_RETRY_SECONDS", Settings.webhook_retry_seconds),
        webhook_max_age_seconds=float(_int(env, "WEBHOOK_MAX_AGE_SECONDS", 24 * 3600, minimum=1)),
        log_level=log_level,
        max_chunks=_int(env, "RECORDING_MAX_CHUNKS", 100_000, minimum=1),
        # Vexa v0.10.7 verifies MeetingTokens with ADMIN_TOKEN, else ADMIN_API_TOKEN (Lite's admin
        # token, which may also be generated; lite.services falls back to that one).
        meeting_token_secret=_str(env, "ADMIN_TOKEN"),
        internal_api_secret=_str(env, "INTERNAL_API_SECRET"),
        http=ConnectionLimits(
            header_timeout=float(_int(env, "HTTP_HEADER_TIMEOUT_SECONDS", 10, minimum=1)),
            body_timeout=float(_int(env, "HTTP_BODY_TIMEOUT_SECONDS", 30, minimum=1)),
            keepalive_timeout=float(_int(env, "HTTP_KEEPALIVE_TIMEOUT_SECONDS", 5, minimum=1)),
            max_connections=_int(env, "HTTP_MAX_CONNECTIONS", 4096, minimum=16),
        ),
    )
