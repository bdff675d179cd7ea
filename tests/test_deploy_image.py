"""The image's files, read as text (scripts/container-smoke.sh builds and runs the image for real): the
Dockerfile takes its base image as an argument, exposes 8056 with a /data volume and a /healthz check,
installs dependencies before the code and creates a non-root user the entrypoint drops to;
.dockerignore keeps data and git out of the context; and .env.example names every setting the server,
compose and lite/config*.py read, once, with a comment.
"""

from __future__ import annotations

import re

import pytest

from tests.deploykit import PORT, ROOT, env_example_names

SETTINGS = """STORAGE_BACKEND DATA_DIR LOCAL_STORAGE_DIR LOCAL_STORAGE_FSYNC
MINIO_ENDPOINT MINIO_ACCESS_KEY MINIO_SECRET_KEY MINIO_BUCKET MINIO_SECURE MINIO_PUBLIC_ENDPOINT
S3_BUCKET AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_ENDPOINT
ADMIN_API_TOKEN HOST PORT MAX_UPLOAD_BYTES SHUTDOWN_TIMEOUT_SECONDS PLAYBACK_SIGNING_KEY
RECORDING_CHUNK_MAX_BYTES RECORDING_IDLE_FINALIZE_SECONDS WEBHOOK_URL WEBHOOK_SECRET POST_MEETING_HOOKS
WEBHOOK_ALLOW_PRIVATE_NETWORKS WEBHOOK_RETRY_SECONDS WEBHOOK_MAX_AGE_SECONDS LOG_LEVEL
LOCAL_STORAGE_VOLUME_SOURCE RECORDING_MAX_CHUNKS ADMIN_TOKEN INTERNAL_API_SECRET
HTTP_HEADER_TIMEOUT_SECONDS HTTP_BODY_TIMEOUT_SECONDS HTTP_KEEPALIVE_TIMEOUT_SECONDS HTTP_MAX_CONNECTIONS
AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION
S3_PATH_STYLE S3_SECURE S3_ACCESS_KEY S3_SECRET_KEY RECORDING_BUCKET METRICS_TOKEN
"""  # every variable the server and compose read


# --- Dockerfile, entrypoint, .env.example ------------------------------------------------------


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions(keyword: str) -> list[str]:
    text = dockerfile().replace("\\\n", " ")
    return [line.split(None, 1)[1].strip() for line in text.splitlines() if line.startswith(keyword + " ")]


def test_dockerfile_base_image_is_an_arg_defaulting_to_slim() -> None:
    assert instructions("ARG")[0] == "BASE_IMAGE=python:3.12-slim"
    assert instructions("FROM") == ["${BASE_IMAGE}"]


def test_dockerfile_exposes_8056_and_declares_data_volume() -> None:
    assert instructions("EXPOSE") == [str(PORT)]
    assert instructions("VOLUME") == ["/data"]


def test_dockerfile_healthcheck_asks_healthz() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    assert "/healthz" in healthcheck and "python" in healthcheck


def test_dockerfile_entrypoint_is_the_script() -> None:
    assert instructions("ENTRYPOINT") == ['["/entrypoint.sh"]']


def test_dockerfile_installs_deps_from_pyproject_before_the_code() -> None:
    text = dockerfile()
    assert text.index("COPY pyproject.toml") < text.index("pip install") < text.index("COPY lite")
    assert "--no-cache-dir" in text


def test_dockerfile_defaults_local_backend_under_data() -> None:
    env = " ".join(instructions("ENV"))
    settings = "STORAGE_BACKEND=local DATA_DIR=/data LOCAL_STORAGE_DIR=/data/recordings HOST=0.0.0.0"
    for setting in settings.split():
        assert setting in env


def test_dockerfile_creates_a_non_root_user() -> None:
    assert "useradd --uid" in dockerfile()
    assert "ARG LITE_UID=10001" in dockerfile()
    # No USER: the entrypoint starts as root only to chown /data, then drops to this user.
    assert all(user not in ("root", "0") for user in instructions("USER"))


def test_entrypoint_drops_to_the_user_and_execs() -> None:
    text = (ROOT / "entrypoint.sh").read_text()
    assert "setpriv --reuid" in text
    assert "python -m lite check-config" in text
    assert re.search(r"^\s*exec setpriv .* -- \"\$@\"$", text, re.M)
    assert re.search(r"^exec \"\$@\"$", text, re.M)


def test_dockerignore_keeps_data_and_git_out_of_the_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", "data", ".env", ".venv"):
        assert entry in ignored


def test_env_example_names_every_setting_once_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    seen: list[str] = []
    for i, line in enumerate(lines):
        m = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line)
        if m:
            seen.append(m.group(1))
            assert lines[i - 1].startswith("# "), f"{m.group(1)} has no comment line above it"
    assert len(seen) == len(set(seen))
    required = set(SETTINGS.split())
    assert required <= set(seen), required - set(seen)


def test_env_example_covers_every_variable_the_config_reads() -> None:
    sources = sorted((ROOT / "lite").glob("config*.py"))
    if not sources:
        pytest.skip("lite/config.py not present")
    # Every string literal in the settings modules that is a whole variable name (FOO_BAR, HOST, PORT).
    text = "".join(path.read_text() for path in sources)
    read = set(re.findall(r"""["']([A-Z][A-Z0-9]*_[A-Z0-9_]+|HOST|PORT)["']""", text))
    assert read, "found no variable names in lite/config*.py"
    assert read <= env_example_names(), read - env_example_names()
