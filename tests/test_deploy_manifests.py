"""The deployment files parse and say what matters: ports, probes, volumes, strategies, secrets.

No container engine or cluster needed: every YAML under deploy/kubernetes and both compose files are
read with PyYAML, the Dockerfile and .env.example as text. (scripts/container-smoke.sh builds and runs
the image for real.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
PORT = 8056
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
COMPOSE_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_docs(option: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((K8S / option).glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs.extend(load_all(path))
    return docs


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c.get("env", [])}


def env_example_names() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def compose(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


def compose_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# --- every file parses --------------------------------------------------------------------------

ALL_K8S = sorted(K8S.rglob("*.yaml"))


def test_kubernetes_folder_has_both_options() -> None:
    assert (K8S / "local" / "deployment.yaml").is_file()
    assert (K8S / "s3" / "deployment.yaml").is_file()


@pytest.mark.parametrize("path", ALL_K8S, ids=lambda p: str(p.relative_to(K8S)))
def test_kubernetes_file_parses_with_kind_and_name(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), f"{path}: apiVersion/kind missing"
        if doc["kind"] != "Kustomization":
            assert doc["metadata"]["name"]


@pytest.mark.parametrize("option", ["local", "s3"])
def test_kustomization_lists_every_manifest_of_its_option(option: str) -> None:
    kustomization = yaml.safe_load((K8S / option / "kustomization.yaml").read_text())
    files = {p.name for p in (K8S / option).glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


@pytest.mark.parametrize("option", ["local", "s3"])
def test_deployment_selector_matches_pod_labels_and_service(option: str) -> None:
    docs = k8s_docs(option)
    deployment, service = one(docs, "Deployment"), one(docs, "Service")
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("option", ["local", "s3"])
def test_container_and_service_use_port_8056(option: str) -> None:
    docs = k8s_docs(option)
    c = container(one(docs, "Deployment"))
    assert [p["containerPort"] for p in c["ports"]] == [PORT]
    assert env_of(c)["PORT"]["value"] == str(PORT)
    service_ports = one(docs, "Service")["spec"]["ports"]
    assert [p["targetPort"] for p in service_ports] == [PORT]


@pytest.mark.parametrize("option", ["local", "s3"])
def test_probes_readyz_and_healthz_on_8056(option: str) -> None:
    c = container(one(k8s_docs(option), "Deployment"))
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": PORT}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": PORT}


@pytest.mark.parametrize("option", ["local", "s3"])
def test_pod_runs_as_the_image_user_not_root(option: str) -> None:
    deployment = one(k8s_docs(option), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container(deployment)["securityContext"]["allowPrivilegeEscalation"] is False


@pytest.mark.parametrize("option", ["local", "s3"])
def test_grace_period_outlasts_shutdown_timeout(option: str) -> None:
    deployment = one(k8s_docs(option), "Deployment")
    timeout = int(env_of(container(deployment))["SHUTDOWN_TIMEOUT_SECONDS"]["value"])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > timeout


@pytest.mark.parametrize("option", ["local", "s3"])
def test_kubernetes_env_names_are_in_env_example(option: str) -> None:
    names = set(env_of(container(one(k8s_docs(option), "Deployment"))))
    assert names <= env_example_names()


# --- option A: local backend on a PVC -----------------------------------------------------------


def test_option_a_is_one_replica_with_recreate() -> None:
    spec = one(k8s_docs("local"), "Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"


def test_option_a_explains_recreate() -> None:
    text = (K8S / "local" / "deployment.yaml").read_text()
    assert "ReadWriteOnce" in text and "SQLite" in text


def test_option_a_mounts_its_pvc_at_data() -> None:
    docs = k8s_docs("local")
    pvc = one(docs, "PersistentVolumeClaim")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(one(docs, "Deployment"))["volumeMounts"]}
    assert volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_option_a_uses_local_backend_under_data() -> None:
    env = env_of(container(one(k8s_docs("local"), "Deployment")))
    assert env["STORAGE_BACKEND"]["value"] == "local"
    assert env["DATA_DIR"]["value"] == "/data"
    assert env["LOCAL_STORAGE_DIR"]["value"].startswith("/data/")


# --- option B: object storage, several replicas ------------------------------------------------


def test_option_b_runs_several_replicas_on_s3() -> None:
    deployment = one(k8s_docs("s3"), "Deployment")
    assert deployment["spec"]["replicas"] >= 2
    env = env_of(container(deployment))
    assert env["STORAGE_BACKEND"]["value"] == "s3"
    assert env["S3_BUCKET"]["value"]


def test_option_b_takes_credentials_and_shared_secrets_from_its_secret() -> None:
    docs = k8s_docs("s3")
    secret = one(docs, "Secret")
    env = env_of(container(one(docs, "Deployment")))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ADMIN_API_TOKEN", "PLAYBACK_SIGNING_KEY"):
        assert "value" not in env[name], f"{name} must not be inline"
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]


def test_option_b_has_no_persistent_volume() -> None:
    docs = k8s_docs("s3")
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])


def test_option_b_rolls_without_dropping_capacity() -> None:
    strategy = one(k8s_docs("s3"), "Deployment")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


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
