"""The Kubernetes manifests parse and say what matters, read with PyYAML (no cluster needed): both options
exist and every file has a kind and a name, each kustomization lists its option's manifests, selectors
match, port 8056 and the probes, a non-root pod, a grace period that outlasts the shutdown timeout and
only settings .env.example names; option A is one local-backend replica with Recreate on a PVC at /data,
option B several s3 replicas rolling without lost capacity, with secrets from its Secret and no volume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploykit import PORT, ROOT, env_example_names

yaml = pytest.importorskip("yaml")

K8S = ROOT / "deploy" / "kubernetes"


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
