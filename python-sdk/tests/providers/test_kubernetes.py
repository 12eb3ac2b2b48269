"""`KubernetesProvider` against a recorded API server on loopback, with the official client.

The server is a real HTTP server (stdlib `http.server`, 127.0.0.1, a free port) that answers like a
Kubernetes API server from `k8s_recorded/responses.json`, following a per-test script for the Pod's
status. It records every request; each request body and each answer is validated against the
vendored Kubernetes v1.37.0 schemas. No live cluster is involved.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from openenv.errors import ConnectError
from openenv.providers.kubernetes import KubernetesProvider

from tests.providers.k8s_schema import validate

RECORDED = json.loads((Path(__file__).parent / "k8s_recorded" / "responses.json").read_text())
PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9-]+)/(?P<kind>pods|services)(?:/(?P<name>[a-z0-9-]+))?$")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sandboxclaims.extensions.agents.x-k8s.io"
CUSTOM_PATH = re.compile(
    r"^/apis/(?P<group>[a-z0-9.-]+)/v1beta1/namespaces/(?P<ns>[a-z0-9-]+)/(?P<kind>sandboxclaims|sandboxes)"
    r"(?:/(?P<name>[a-z0-9-]+))?$"
)
META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


class FakeApiServer:
    """Answers Pod and Service create/read/delete as recorded; the Pod's reads follow `pod_script`."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.pod_script: list[str] = ["pod_ready"]
        self.claim_script: list[str] = ["claim_ready"]
        self.crds_installed = False
        self.refuse_create: str | None = None
        self.reads = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                server.handle(self, "POST")

            def do_GET(self) -> None:
                server.handle(self, "GET")

            def do_DELETE(self) -> None:
                server.handle(self, "DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        validate(body)  # every answer has the API's own shape
        data = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def status(self, handler: BaseHTTPRequestHandler, key: str, name: str, namespace: str) -> None:
        recorded = RECORDED[key]
        text = json.dumps(recorded["body"]).replace("$NAME", name).replace("$NAMESPACE", namespace)
        self.answer(handler, recorded["code"], json.loads(text))

    def send_custom(self, handler: BaseHTTPRequestHandler, code: int, body: dict[str, Any]) -> None:
        validate(body["metadata"], META)  # no agent-sandbox CRD schema is vendored: metadata only
        data = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle_custom(self, handler: BaseHTTPRequestHandler, method: str, match: Any, body: Any) -> None:
        ns, kind, name = match["ns"], match["kind"], match["name"]
        if kind == "sandboxes":
            text = json.dumps(RECORDED["sandbox_warm"]["body"]).replace("$NAMESPACE", ns)
            return self.send_custom(handler, 200, json.loads(text))
        if method == "POST":
            validate(body["metadata"], META)
            stored = copy.deepcopy(body)
            stored["metadata"].update(RECORDED["claim_created"]["metadata"])
            self.objects[(ns, kind, body["metadata"]["name"])] = stored
            return self.send_custom(handler, 201, stored)
        stored = self.objects.get((ns, kind, name))
        if stored is None:
            return self.status(handler, "not_found", name, ns)
        if method == "GET":
            step = self.claim_script[min(self.reads, len(self.claim_script) - 1)]
            self.reads += 1
            stored["status"] = RECORDED[step]["status"]
            return self.send_custom(handler, 200, stored)
        del self.objects[(ns, kind, name)]
        return self.send_custom(handler, 200, stored)

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        path = handler.path.split("?")[0]
        self.requests.append((method, path, body))
        if path == CRD_PATH:
            return self.status(handler, "crd_sandboxclaims" if self.crds_installed else "not_found", "x", "x")
        custom = CUSTOM_PATH.match(path)
        if custom:
            return self.handle_custom(handler, method, custom, body)
        match = PATH.match(path)
        assert match, path
        ns, kind, name = match["ns"], match["kind"], match["name"]
        if method == "POST":
            validate(body)  # what the provider sends is a valid object
            name = body["metadata"]["name"]
            if self.refuse_create == kind:
                return self.status(handler, "forbidden", name, ns)
            recorded = RECORDED["pod_created" if kind == "pods" else "service_created"]
            stored = copy.deepcopy(body)
            stored["metadata"].update(recorded["metadata"])
            stored["spec"].update(recorded.get("spec", {}))
            stored["status"] = recorded["status"]
            self.objects[(ns, kind, name)] = stored
            return self.answer(handler, recorded["code"], stored)
        stored_object = self.objects.get((ns, kind, name))
        if stored_object is None:
            return self.status(handler, "not_found", name, ns)
        if method == "GET":
            step = self.pod_script[min(self.reads, len(self.pod_script) - 1)]
            self.reads += 1
            stored_object["status"] = RECORDED[step]["status"]
            return self.answer(handler, 200, stored_object)
        del self.objects[(ns, kind, name)]
        deleted = copy.deepcopy(stored_object)
        deleted["metadata"].update(RECORDED["pod_deleted" if kind == "pods" else "service_deleted"].get("metadata", {}))
        return self.answer(handler, 200, deleted)


@pytest.fixture
def api() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def provider(api: FakeApiServer, **options: Any) -> KubernetesProvider:
    configuration = k8s.Configuration(host=api.url)
    return KubernetesProvider(
        "openenv/echo-env:local",
        namespace="rl-envs",
        api_client=k8s.ApiClient(configuration),
        poll_interval_s=0.01,
        **options,
    )


def test_start_creates_pod_and_service_then_waits_for_ready(api: FakeApiServer) -> None:
    api.pod_script = ["pod_scheduled", "pod_running_unready", "pod_ready"]
    options = {
        "labels": {"team": "rl"},
        "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "image_pull_policy": "Always",
        "runtime_class_name": "gvisor",
        "image_pull_secrets": ["regcred"],
        "service_account_name": "env-runner",
        "run_as_user": 10001,
    }
    server = provider(api, **options).start()
    name = server.name
    assert re.fullmatch(r"openenv-[0-9a-f]{12}", name)
    assert server.base_url == f"http://{name}.rl-envs.svc.cluster.local:8000"
    methods = [(m, p) for m, p, _ in api.requests]
    assert methods == [
        ("POST", "/api/v1/namespaces/rl-envs/pods"),
        ("POST", "/api/v1/namespaces/rl-envs/services"),
        ("GET", f"/api/v1/namespaces/rl-envs/pods/{name}"),
        ("GET", f"/api/v1/namespaces/rl-envs/pods/{name}"),
        ("GET", f"/api/v1/namespaces/rl-envs/pods/{name}"),
    ]
    pod, service = api.requests[0][2], api.requests[1][2]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "openenv/echo-env:local" and container["imagePullPolicy"] == "Always"
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"] == options["resources"]
    assert {"name": "HOST", "value": "0.0.0.0"} in container["env"]
    assert pod["spec"]["runtimeClassName"] == "gvisor" and pod["spec"]["automountServiceAccountToken"] is False
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["spec"]["serviceAccountName"] == "env-runner"
    assert pod["metadata"]["labels"]["team"] == "rl"
    assert service["spec"]["selector"] == {"openenv.dev/replica": name}
    assert pod["metadata"]["labels"]["openenv.dev/replica"] == name
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    # the answers deserialise into the official client's models
    read = k8s.CoreV1Api(provider(api).api_client).read_namespaced_pod(name, "rl-envs")
    assert isinstance(read, k8s.V1Pod) and read.status.phase == "Running" and read.metadata.uid

    api.requests.clear()
    server.stop()
    assert [(m, p) for m, p, _ in api.requests] == [
        ("DELETE", f"/api/v1/namespaces/rl-envs/services/{name}"),
        ("DELETE", f"/api/v1/namespaces/rl-envs/pods/{name}"),
    ]
    assert not api.objects
    server.stop()  # idempotent: 404s are ignored


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (["pod_scheduled", "pod_image_pull_backoff"], "ImagePullBackOff"),
        (["pod_running_unready", "pod_failed"], "ended \\(Failed\\): env exited with code 1"),
    ],
)
def test_a_pod_that_cannot_start_is_reported_and_cleaned_up(
    api: FakeApiServer, script: list[str], message: str
) -> None:
    api.pod_script = script
    with pytest.raises(ConnectError, match=message):
        provider(api).start()
    assert not api.objects  # Pod and Service deleted
    assert [m for m, _, _ in api.requests][-2:] == ["DELETE", "DELETE"]


def test_not_ready_in_time_is_a_timeout(api: FakeApiServer) -> None:
    api.pod_script = ["pod_running_unready"]
    with pytest.raises(ConnectError, match=r"not ready within 0\.2 s \(phase Running\)"):
        provider(api, ready_timeout_s=0.2).start()
    assert not api.objects


def test_api_errors_carry_the_status_message(api: FakeApiServer) -> None:
    api.refuse_create = "pods"
    with pytest.raises(ConnectError, match="HTTP 403: pods is forbidden"):
        provider(api).start()
    api.refuse_create = "services"
    with pytest.raises(ConnectError, match="HTTP 403"):
        provider(api).start()
    assert not api.objects  # the Pod created before the refusal was deleted


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"image": "bad image"}, "image"),
        ({"namespace": "Not_A_Label"}, "namespace"),
        ({"image_pull_policy": "Sometimes"}, "image_pull_policy"),
        ({"port": 70000}, "port"),
        ({"labels": {"team": "has space"}}, "labels"),
        ({"labels": {"bad key!": "x"}}, "label key"),
        ({"resources": {"requets": {"cpu": "1"}}}, "resources"),
        ({"resources": {"limits": {"cpu": 1}}}, "resources"),
        ({"runtime_class_name": "GVisor"}, "GVisor"),
        ({"run_as_user": 0}, "run_as_user"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"image": "openenv/echo-env:local", **options}
    with pytest.raises(ValueError, match=re.escape(field)):
        KubernetesProvider(**arguments)


def test_manifests_of_every_option_combination_validate() -> None:
    plain = KubernetesProvider("openenv/echo-env:local")
    validate(plain.pod_manifest("openenv-000000000000"))
    validate(plain.service_manifest("openenv-000000000000"))
    full = KubernetesProvider(
        "registry.example/openenv/gridworld:1.0",
        namespace="envs",
        port=9000,
        labels={"example.com/team": "rl"},
        resources={"limits": {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}},
        runtime_class_name="kata",
        args=["--max-sessions", "64"],
        env={"LOG_LEVEL": "info"},
    )
    pod = full.pod_manifest("openenv-111111111111")
    validate(pod)
    validate(full.service_manifest("openenv-111111111111"))
    assert pod["spec"]["containers"][0]["args"] == ["--max-sessions", "64"]


def test_warm_pool_without_the_crds_falls_back_to_pod_and_service(api: FakeApiServer) -> None:
    server = provider(api, warm_pool="echo-pool").start()
    assert [(m, p) for m, p, _ in api.requests][:3] == [
        ("GET", CRD_PATH),
        ("POST", "/api/v1/namespaces/rl-envs/pods"),
        ("POST", "/api/v1/namespaces/rl-envs/services"),
    ]
    server.stop()


def test_warm_pool_claims_a_sandbox_where_the_crds_are_installed(api: FakeApiServer) -> None:
    api.crds_installed = True
    api.claim_script = ["claim_pending", "claim_pending", "claim_ready"]
    kube = provider(api, warm_pool="echo-pool")
    assert kube.uses_claims()
    server = kube.start()
    name = server.name
    claims = "/apis/extensions.agents.x-k8s.io/v1beta1/namespaces/rl-envs/sandboxclaims"
    assert [(m, p) for m, p, _ in api.requests] == [
        ("GET", CRD_PATH),
        ("POST", claims),
        ("GET", f"{claims}/{name}"),
        ("GET", f"{claims}/{name}"),
        ("GET", f"{claims}/{name}"),
        ("GET", "/apis/agents.x-k8s.io/v1beta1/namespaces/rl-envs/sandboxes/warm-echo-7xk2p"),
    ]
    claim = api.requests[1][2]
    assert claim["apiVersion"] == "extensions.agents.x-k8s.io/v1beta1" and claim["kind"] == "SandboxClaim"
    assert claim["spec"] == {"warmPoolRef": {"name": "echo-pool"}}
    assert claim["metadata"]["labels"]["openenv.dev/replica"] == name
    assert server.base_url == "http://warm-echo-7xk2p.rl-envs.svc.cluster.local:8000"  # status.serviceFQDN
    api.requests.clear()
    server.stop()
    assert [(m, p) for m, p, _ in api.requests] == [("DELETE", f"{claims}/{name}")]
    server.stop()  # idempotent


def test_a_claim_that_expires_is_reported_and_deleted(api: FakeApiServer) -> None:
    api.crds_installed = True
    api.claim_script = ["claim_pending", "claim_expired"]
    with pytest.raises(ConnectError, match="ClaimExpired"):
        provider(api, warm_pool="echo-pool").start()
    assert not api.objects and api.requests[-1][0] == "DELETE"
