"""Storage settings: which backend, and the object store's bucket, endpoint and keys.

Read in Lite's names and in Vexa's (../README.md, "Vexa's variables"), so an environment written for
Vexa's recording storage configures Lite the same way. `lite.config` re-exports what others import.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

BACKENDS = ("local", "minio", "s3")
# Set without STORAGE_BACKEND, these mean Vexa's default backend, minio (a Vexa environment names no
# backend and stores on MinIO); S3_ENDPOINT wins over them as at Vexa's HEAD, S3_BUCKET alone means s3.
VEXA_MINIO_VARIABLES = (
    "MINIO_ENDPOINT",
    "MINIO_BUCKET",
    "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY",
    "MINIO_PUBLIC_ENDPOINT",
    "MINIO_SECURE",
    "RECORDING_BUCKET",
)
AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
S3_KEYS = ("S3_ACCESS_KEY", "S3_SECRET_KEY")
MINIO_KEYS = ("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY")

log = logging.getLogger("lite.config")


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
    key_variables: tuple[str, str] = AWS_KEYS
    # botocore's checksum modes: "when_required" by default on every endpoint (see lite/storage/s3.py)
    request_checksums: str = "when_required"
    response_checksums: str = "when_required"


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name, "").strip()
    return raw or default


def choose_backend(env: Mapping[str, str]) -> tuple[str, str | None]:
    """The backend, and the Vexa variable that chose it when STORAGE_BACKEND is unset (else None).

    Lite's default is local, but an environment carrying Vexa's object-storage variables never
    stores silently on local disk: it gets the backend Vexa would use, with one log line."""
    backend = env_str(env, "STORAGE_BACKEND")
    if backend:
        backend = backend.lower()
        if backend not in BACKENDS:
            raise ConfigError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        return backend, None
    minio = next((name for name in VEXA_MINIO_VARIABLES if env_str(env, name)), None)
    if env_str(env, "S3_ENDPOINT"):
        backend, chosen = "s3", "S3_ENDPOINT"
    elif minio:
        backend, chosen = "minio", minio
    elif env_str(env, "S3_BUCKET"):
        backend, chosen = "s3", "S3_BUCKET"
    else:
        return "local", None
    log.warning(
        "STORAGE_BACKEND is not set and %s is (Vexa's name): storing on %s, as Vexa does;"
        " set STORAGE_BACKEND to choose",
        chosen,
        backend,
    )
    return backend, chosen


def _endpoint(raw: str, secure: bool) -> str:
    # MinIO users often write "minio:9000"; a full URL is used as is.
    if "://" in raw:
        return raw.rstrip("/")
    return f"{'https' if secure else 'http'}://{raw}".rstrip("/")


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str | None, str]:
    """The first of `names` that is set, and its name (the first name when none is)."""
    for name in names:
        if value := env_str(env, name):
            return value, name
    return None, names[0]


def _keys(
    env: Mapping[str, str], pairs: tuple[tuple[str, str], ...]
) -> tuple[str | None, str | None, tuple[str, str]]:
    """The first pair of key variables of which either is set; none set: boto3's default chain."""
    for access_name, secret_name in pairs:
        access, secret = env_str(env, access_name), env_str(env, secret_name)
        if access and not secret:
            raise ConfigError(f"{secret_name} is required with {access_name}")
        if secret and not access:
            raise ConfigError(f"{access_name} is required with {secret_name}")
        if access:
            return access, secret, (access_name, secret_name)
    return None, None, pairs[0]


def _why(backend: str, chosen_by: str | None) -> str:
    if not chosen_by:
        return f"when STORAGE_BACKEND={backend}"
    return f"for {backend}, chosen because {chosen_by} is set and STORAGE_BACKEND is not"


def s3_settings(env: Mapping[str, str], backend: str, chosen_by: str | None = None) -> S3Settings:
    """minio or s3, in Lite's names and Vexa's (v0.10.7 `storage.py`, HEAD's `S3Storage`)."""
    region = env_str(env, "AWS_REGION", "us-east-1") or "us-east-1"
    if backend == "minio":
        endpoint = env_str(env, "MINIO_ENDPOINT")
        if not endpoint:
            raise ConfigError(f"MINIO_ENDPOINT is required {_why(backend, chosen_by)} (e.g. minio:9000)")
        secure = env_bool(env, "MINIO_SECURE", False)
        public = env_str(env, "MINIO_PUBLIC_ENDPOINT")
        bucket, bucket_variable = _first(env, ("MINIO_BUCKET", "RECORDING_BUCKET"))
        access, secret, key_variables = _keys(env, (MINIO_KEYS,))
        return S3Settings(
            bucket=bucket or "recordings",
            endpoint=_endpoint(endpoint, secure),
            public_endpoint=_endpoint(public, secure) if public else None,
            region=region,
            access_key=access,
            secret_key=secret,
            path_style=True,
            create_bucket=True,
            endpoint_variable="MINIO_ENDPOINT",
            bucket_variable=bucket_variable,
            key_variables=key_variables,
            **_checksum_modes(env),
        )
    bucket, bucket_variable = _first(env, ("S3_BUCKET", "MINIO_BUCKET", "RECORDING_BUCKET"))
    if not bucket:
        raise ConfigError(f"S3_BUCKET is required {_why(backend, chosen_by)}")
    endpoint = env_str(env, "S3_ENDPOINT")
    secure = env_bool(env, "S3_SECURE", True)
    # MinIO's keys and public endpoint count only for a store reached through S3_ENDPOINT (as at
    # Vexa's HEAD); on AWS itself, Vexa's compose leftovers must not replace the default chain.
    pairs = (AWS_KEYS, S3_KEYS, MINIO_KEYS) if endpoint else (AWS_KEYS, S3_KEYS)
    access, secret, key_variables = _keys(env, pairs)
    public = env_str(env, "MINIO_PUBLIC_ENDPOINT") if endpoint else None
    return S3Settings(
        bucket=bucket,
        endpoint=_endpoint(endpoint, secure) if endpoint else None,
        public_endpoint=_endpoint(public, secure) if public else None,
        region=region,
        access_key=access,
        secret_key=secret,
        path_style=env_bool(env, "S3_PATH_STYLE", bool(endpoint)),
        create_bucket=False,
        bucket_variable=bucket_variable,
        key_variables=key_variables,
        **_checksum_modes(env),
    )


def _checksum_modes(env: Mapping[str, str]) -> dict[str, str]:
    """botocore's own variables, honoured when set (e.g. "when_supported" for AWS's extra checks)."""
    modes = {}
    for field, variable in (
        ("request_checksums", "AWS_REQUEST_CHECKSUM_CALCULATION"),
        ("response_checksums", "AWS_RESPONSE_CHECKSUM_VALIDATION"),
    ):
        value = (env_str(env, variable, "when_required") or "when_required").lower()
        if value not in ("when_required", "when_supported"):
            raise ConfigError(f"{variable} must be when_required or when_supported, not {value!r}")
        modes[field] = value
    return modes
