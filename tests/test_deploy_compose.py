"""Both docker compose files parse and say what matters, read with PyYAML (no container engine needed):
the local one mounts the recordings volume with its bind switch and keeps the index on a named volume,
both publish 8056, build this repo with the base-image argument, read an optional .env and use only
variables .env.example names, and the MinIO one runs MinIO, a bucket step and Lite on volumes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploykit import ROOT, env_example_names

yaml = pytest.importorskip("yaml")

COMPOSE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def compose(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# --- docker compose -----------------------------------------------------------------------------


def test_compose_local_mounts_recordings_volume_with_bind_switch() -> None:
    doc = compose("docker-compose.yml")
    volumes = doc["services"]["lite"]["volumes"]
    assert "${LOCAL_STORAGE_VOLUME_SOURCE:-recordings-data}:/data/recordings" in volumes
    assert "recordings-data" in doc["volumes"]


def test_compose_local_keeps_the_index_on_a_named_volume() -> None:
    doc = compose("docker-compose.yml")
    index_mounts = [v for v in doc["services"]["lite"]["volumes"] if v.endswith(":/data")]
    assert len(index_mounts) == 1
    assert index_mounts[0].split(":")[0] in doc["volumes"]


def test_compose_local_sets_container_paths_and_local_backend() -> None:
    env = compose_env(compose("docker-compose.yml")["services"]["lite"])
    assert env["STORAGE_BACKEND"] == "local"
    assert env["DATA_DIR"] == "/data"
    assert env["LOCAL_STORAGE_DIR"] == "/data/recordings"
    assert env["HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.minio.yml"])
def test_compose_publishes_8056_by_default(name: str) -> None:
    ports = compose(name)["services"]["lite"]["ports"]
    assert ports == ["${PORT:-8056}:${PORT:-8056}"]


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.minio.yml"])
def test_compose_builds_this_repo_with_base_image_arg(name: str) -> None:
    build = compose(name)["services"]["lite"]["build"]
    assert build["context"] == "."
    assert "BASE_IMAGE" in build["args"]


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.minio.yml"])
def test_compose_reads_optional_env_file(name: str) -> None:
    env_file = compose(name)["services"]["lite"]["env_file"]
    assert env_file == [{"path": ".env", "required": False}]


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.minio.yml"])
def test_compose_variables_are_in_env_example(name: str) -> None:
    doc = compose(name)
    used = set(COMPOSE_VAR.findall((ROOT / name).read_text()))
    for service in doc["services"].values():
        used |= set(compose_env(service))
    used -= {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}  # MinIO's own, fed from MINIO_ACCESS/SECRET_KEY
    assert used <= env_example_names(), used - env_example_names()


def test_compose_minio_runs_minio_bucket_step_and_server() -> None:
    services = compose("docker-compose.minio.yml")["services"]
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["create-bucket"]["image"].startswith("minio/mc")
    assert "mc mb" in " ".join(services["create-bucket"]["command"])
    assert services["lite"]["depends_on"]["create-bucket"]["condition"] == "service_completed_successfully"
    assert services["create-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_compose_minio_server_uses_minio_with_public_endpoint() -> None:
    services = compose("docker-compose.minio.yml")["services"]
    env = compose_env(services["lite"])
    assert env["STORAGE_BACKEND"] == "minio"
    assert env["MINIO_ENDPOINT"] == "minio:9000"
    public = env["MINIO_PUBLIC_ENDPOINT"]
    assert "localhost:9000" in public
    assert "9000:9000" in services["minio"]["ports"]


def test_compose_minio_keeps_index_and_objects_on_volumes() -> None:
    doc = compose("docker-compose.minio.yml")
    assert "lite-data:/data" in doc["services"]["lite"]["volumes"]
    assert "minio-data:/data" in doc["services"]["minio"]["volumes"]
    assert {"lite-data", "minio-data"} <= set(doc["volumes"])
