"""Lite's own settings: the defaults (local storage under data/), how a MinIO endpoint without a scheme
and empty AWS keys are read, and one clear line naming the variable when something is wrong, both from
load_settings and from a server that stops at its start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lite.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_serve_local_storage_under_data() -> None:
    settings = load_settings({})
    assert settings.storage_backend == "local"
    assert settings.local_storage_dir == Path("data/recordings")
    assert settings.local_fsync is True
    assert (settings.host, settings.port) == ("127.0.0.1", 8056)
    assert settings.max_upload_bytes == 4 * 1024**3
    assert settings.access_log is True


def test_minio_endpoint_without_scheme_takes_it_from_minio_secure() -> None:
    plain = load_settings({"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": "minio:9000"})
    secure = load_settings(
        {"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": "minio:9000", "MINIO_SECURE": "true"}
    )
    given = load_settings({"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": "https://m.example:9000"})
    assert plain.s3 and plain.s3.endpoint == "http://minio:9000"
    assert secure.s3 and secure.s3.endpoint == "https://minio:9000"
    assert given.s3 and given.s3.endpoint == "https://m.example:9000"
    assert plain.s3.bucket == "recordings" and plain.s3.path_style


def test_empty_aws_keys_mean_the_default_credential_chain() -> None:
    settings = load_settings({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": ""})
    assert settings.s3 and settings.s3.access_key is None and settings.s3.endpoint is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
        ({"STORAGE_BACKEND": "minio"}, "MINIO_ENDPOINT"),
        ({"PORT": "eighty"}, "PORT"),
        ({"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES"),
        ({"LOCAL_STORAGE_FSYNC": "maybe"}, "LOCAL_STORAGE_FSYNC"),
        ({"ACCESS_LOG": "sometimes"}, "ACCESS_LOG"),
        ({"WEBHOOK_URL": "ftp://x"}, "WEBHOOK_URL"),
    ],
)
def test_a_wrong_setting_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def run_server(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"STORAGE_BACKEND": "nope"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ENDPOINT": "http://127.0.0.1:9"}, "S3_BUCKET"),
        ({"DATA_DIR": "/proc/forbidden"}, "DATA_DIR"),
    ],
    ids=["unknown-backend", "unreachable-bucket", "unwritable-data-dir"],
)
def test_the_server_stops_at_start_with_one_line_and_no_traceback(env: dict[str, str], variable: str) -> None:
    result = run_server(env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_a_missing_s3_bucket_stops_the_server(moto_endpoint: str) -> None:
    result = run_server(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "does-not-exist",
            "S3_ENDPOINT": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "S3_BUCKET" in result.stderr
