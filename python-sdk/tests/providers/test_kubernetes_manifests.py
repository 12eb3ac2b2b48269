"""`deploy/kubernetes/`: every manifest, raw and as Kustomize renders it, against the Kubernetes schemas.

The rendered checks use `kubectl kustomize` (kubectl's built-in Kustomize, offline); they are
skipped, saying so, where kubectl is not installed. The raw files are always checked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.providers.k8s_schema import errors, validate

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes"
KUSTOMIZATIONS = [DEPLOY / "base", DEPLOY / "overlays" / "gvisor"]


def test_every_raw_manifest_is_a_valid_object() -> None:
    files = sorted((DEPLOY / "base").glob("*.yaml"))
    kinds = set()
    for path in files:
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            validate(document)
            kinds.add(document["kind"])
    assert kinds == {"Deployment", "Service", "PodDisruptionBudget"}


def test_the_schema_rejects_what_the_api_server_would() -> None:
    deployment = yaml.safe_load((DEPLOY / "base" / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    assert any("readinessprobe" in e for e in errors(deployment))
    deployment = yaml.safe_load((DEPLOY / "base" / "deployment.yaml").read_text())
    deployment["spec"]["replicas"] = "four"
    assert errors(deployment)


def render(kustomization: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Kustomize rendering was not checked")
    out = subprocess.run([kubectl, "kustomize", str(kustomization)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_rendered_fleet_is_valid_and_consistent(kustomization: Path) -> None:
    objects = {d["kind"]: d for d in render(kustomization)}
    assert set(objects) == {"Deployment", "Service", "PodDisruptionBudget"}
    for obj in objects.values():
        validate(obj)
    deployment, service, pdb = objects["Deployment"], objects["Service"], objects["PodDisruptionBudget"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in ports
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env["PORT"]) == ports["http"] and env["HOST"] == "0.0.0.0"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert pdb["spec"]["maxUnavailable"] == 1


def test_overlay_sets_namespace_replicas_image_and_runtime_class() -> None:
    objects = {d["kind"]: d for d in render(DEPLOY / "overlays" / "gvisor")}
    assert {o["metadata"]["namespace"] for o in objects.values()} == {"rl-envs"}
    spec = objects["Deployment"]["spec"]
    assert spec["replicas"] == 8 and spec["template"]["spec"]["runtimeClassName"] == "gvisor"
    assert spec["template"]["spec"]["containers"][0]["image"] == "registry.example.com/openenv/gridworld-env:1.0.0"
