"""Vexa's variable names (README, "Vexa's variables"): a Vexa compose environment configures Lite as it
configures Vexa, Vexa's MinIO, S3 and local variables choose the backend, bucket, keys and scheme in
Vexa's order of precedence, a wrong one is named, and those that mean nothing to Lite are ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lite.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


MINIO = {"STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": "minio:9000"}
S3 = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b"}
# What Vexa v0.10.7's compose gives its meeting-api (deploy/compose/docker-compose.yml), minus
# STORAGE_BACKEND, which its .env usually leaves to the code's default (minio).
VEXA_COMPOSE = {
    "MINIO_ENDPOINT": "minio:9000",
    "MINIO_ACCESS_KEY": "vexa-access-key",
    "MINIO_SECRET_KEY": "vexa-secret-key",
    "MINIO_BUCKET": "vexa",
    "MINIO_SECURE": "false",
    "MINIO_PUBLIC_ENDPOINT": "",
    "ADMIN_TOKEN": "token",
    "INTERNAL_API_SECRET": "vexa-internal-secret",
}


def test_a_vexa_compose_environment_configures_minio_as_vexa_does() -> None:
    settings = load_settings(VEXA_COMPOSE)
    assert settings.storage_backend == "minio" and settings.s3
    assert (settings.s3.endpoint, settings.s3.bucket) == ("http://minio:9000", "vexa")
    assert (settings.s3.access_key, settings.s3.secret_key) == ("vexa-access-key", "vexa-secret-key")
    assert settings.s3.public_endpoint is None
    assert (settings.meeting_token_secret, settings.internal_api_secret) == ("token", "vexa-internal-secret")


def test_vexas_commented_s3_block_configures_s3_with_its_key_names() -> None:
    settings = load_settings(
        {
            **VEXA_COMPOSE,
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT": "http://minio:9000",
            "S3_ACCESS_KEY": "k",
            "S3_SECRET_KEY": "s",
            "S3_BUCKET": "vexa",
        }
    )
    assert settings.s3 and settings.s3.endpoint == "http://minio:9000" and settings.s3.bucket == "vexa"
    assert (settings.s3.access_key, settings.s3.secret_key) == ("k", "s")
    assert settings.s3.key_variables == ("S3_ACCESS_KEY", "S3_SECRET_KEY")


@pytest.mark.parametrize(
    ("env", "backend", "variable"),
    [
        ({"MINIO_ENDPOINT": "minio:9000"}, "minio", "MINIO_ENDPOINT"),
        ({"MINIO_BUCKET": "vexa", "MINIO_ENDPOINT": "minio:9000"}, "minio", "MINIO_ENDPOINT"),
        ({"RECORDING_BUCKET": "r", "MINIO_ENDPOINT": "minio:9000"}, "minio", "MINIO_ENDPOINT"),
        (
            {"S3_ENDPOINT": "http://s3:9000", "MINIO_ENDPOINT": "minio:9000", "MINIO_BUCKET": "v"},
            "s3",
            "S3_ENDPOINT",
        ),
        ({"S3_BUCKET": "b"}, "s3", "S3_BUCKET"),
    ],
    ids=["minio-endpoint", "minio-bucket", "recording-bucket", "s3-endpoint-wins", "s3-bucket"],
)
def test_vexas_variables_without_storage_backend_choose_vexas_backend(
    env: dict[str, str], backend: str, variable: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="lite.config"):
        assert load_settings(env).storage_backend == backend
    [record] = caplog.records
    assert variable in record.getMessage() and "STORAGE_BACKEND" in record.getMessage()


@pytest.mark.parametrize(
    "env",
    [
        {"STORAGE_BACKEND": "local", "MINIO_ENDPOINT": "minio:9000", "S3_ENDPOINT": "http://s3"},
        {"MINIO_ENDPOINT": "", "S3_BUCKET": " "},
    ],
    ids=["explicit-local-wins", "empty-means-unset"],
)
def test_local_stays_when_chosen_or_no_vexa_variable_is_set(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    assert load_settings(env).storage_backend == "local"
    assert not caplog.records


def test_minio_chosen_by_vexas_variables_without_an_endpoint_refuses_naming_storage_backend() -> None:
    with pytest.raises(
        ConfigError, match=r"MINIO_ENDPOINT is required.*MINIO_BUCKET is set and STORAGE_BACKEND"
    ):
        load_settings({"MINIO_BUCKET": "vexa"})


@pytest.mark.parametrize(
    ("env", "bucket", "variable"),
    [
        ({}, "recordings", "MINIO_BUCKET"),
        ({"RECORDING_BUCKET": "r"}, "r", "RECORDING_BUCKET"),
        ({"MINIO_BUCKET": "m", "RECORDING_BUCKET": "r"}, "m", "MINIO_BUCKET"),
    ],
)
def test_the_minio_bucket_falls_back_to_recording_bucket_then_lites_default(
    env: dict[str, str], bucket: str, variable: str
) -> None:
    s3 = load_settings(MINIO | env).s3
    assert s3 and (s3.bucket, s3.bucket_variable) == (bucket, variable)


@pytest.mark.parametrize(
    ("env", "bucket", "variable"),
    [
        ({"S3_BUCKET": "s", "MINIO_BUCKET": "m", "RECORDING_BUCKET": "r"}, "s", "S3_BUCKET"),
        ({"MINIO_BUCKET": "m", "RECORDING_BUCKET": "r"}, "m", "MINIO_BUCKET"),
        ({"RECORDING_BUCKET": "r"}, "r", "RECORDING_BUCKET"),
    ],
)
def test_the_s3_bucket_falls_back_to_minio_bucket_then_recording_bucket(
    env: dict[str, str], bucket: str, variable: str
) -> None:
    s3 = load_settings({"STORAGE_BACKEND": "s3", **env}).s3
    assert s3 and (s3.bucket, s3.bucket_variable) == (bucket, variable)


AWS_PAIR = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "as"}
S3_PAIR = {"S3_ACCESS_KEY": "s", "S3_SECRET_KEY": "ss"}
MINIO_PAIR = {"MINIO_ACCESS_KEY": "m", "MINIO_SECRET_KEY": "ms"}
ENDPOINT = {"S3_ENDPOINT": "http://store:9000"}


@pytest.mark.parametrize(
    ("env", "keys", "variables"),
    [
        (
            AWS_PAIR | S3_PAIR | MINIO_PAIR | ENDPOINT,
            ("a", "as"),
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        ),
        (S3_PAIR | MINIO_PAIR, ("s", "ss"), ("S3_ACCESS_KEY", "S3_SECRET_KEY")),
        (MINIO_PAIR | ENDPOINT, ("m", "ms"), ("MINIO_ACCESS_KEY", "MINIO_SECRET_KEY")),
        (MINIO_PAIR, (None, None), ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
    ],
    ids=["aws-first", "then-s3", "then-minio-with-endpoint", "default-chain-on-aws"],
)
def test_s3_keys_come_from_aws_then_s3_then_minio_names(
    env: dict[str, str], keys: tuple[str | None, str | None], variables: tuple[str, str]
) -> None:
    s3 = load_settings(S3 | env).s3
    assert s3 and (s3.access_key, s3.secret_key) == keys and s3.key_variables == variables


@pytest.mark.parametrize(
    ("env", "endpoint"),
    [
        ({"S3_ENDPOINT": "store:9000"}, "https://store:9000"),
        ({"S3_ENDPOINT": "store:9000", "S3_SECURE": "false"}, "http://store:9000"),
        ({"S3_ENDPOINT": "http://store:9000/", "S3_SECURE": "true"}, "http://store:9000"),
    ],
)
def test_s3_secure_picks_the_scheme_of_an_s3_endpoint_without_one(env: dict[str, str], endpoint: str) -> None:
    s3 = load_settings(S3 | env).s3
    assert s3 and s3.endpoint == endpoint


def test_s3_signs_for_minio_public_endpoint_only_on_an_s3_endpoint() -> None:
    public = {"MINIO_PUBLIC_ENDPOINT": "localhost:9000", "S3_SECURE": "false"}
    on_store = load_settings(S3 | ENDPOINT | public).s3
    on_aws = load_settings(S3 | public).s3
    assert on_store and on_store.public_endpoint == "http://localhost:9000"
    assert on_aws and on_aws.public_endpoint is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        (S3 | {"S3_ACCESS_KEY": "s"}, "S3_SECRET_KEY"),
        (S3 | {"AWS_SECRET_ACCESS_KEY": "s"}, "AWS_ACCESS_KEY_ID"),
        (MINIO | {"MINIO_ACCESS_KEY": "m"}, "MINIO_SECRET_KEY"),
        (S3 | {"S3_SECURE": "maybe"}, "S3_SECURE"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET"),
    ],
    ids=["s3-secret", "aws-access", "minio-secret", "s3-secure", "no-bucket-at-all"],
)
def test_a_wrong_vexa_setting_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_vexa_variables_that_mean_nothing_to_lite_are_accepted_and_ignored() -> None:
    ignored = {
        "RECORDING_METADATA_MODE": "meeting_data",
        "RECORDING_ENABLED": "false",
        "CAPTURE_MODES": "audio,video",
        "LOCAL_STORAGE_VOLUME_SOURCE": "/srv/recordings",
    }
    assert load_settings(ignored) == load_settings({})


def test_vexas_local_storage_variables_configure_the_local_backend() -> None:
    settings = load_settings(
        {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": "/data/recordings", "LOCAL_STORAGE_FSYNC": "false"}
    )
    assert settings.local_storage_dir == Path("/data/recordings") and settings.local_fsync is False


def test_check_config_on_vexas_minio_variables_uses_minio_and_says_so(
    moto_endpoint: str, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATA_DIR": str(tmp_path / "data"),
        "MINIO_ENDPOINT": moto_endpoint.removeprefix("http://"),
        "MINIO_ACCESS_KEY": "testing",
        "MINIO_SECRET_KEY": "testing",
        "MINIO_BUCKET": f"vexa-{os.getpid()}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "lite", "check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: minio storage")
    [line] = [line for line in result.stderr.splitlines() if "STORAGE_BACKEND" in line]
    assert "MINIO_ENDPOINT" in line and "minio" in line
