"""`KubernetesProvider`: each server is one Pod plus one Service (`openenv[kubernetes]`).

Contract:

* `start()` creates, in `namespace`, a Pod running `image` (container `env`, port `port` named
  `http`, `HOST=0.0.0.0` and `PORT`, a readiness probe on `GET /health`, no service-account
  token, no privilege escalation, `restartPolicy: Never`: a replica that dies stays dead and the
  pool replaces it) and a ClusterIP Service selecting exactly that Pod; it polls the Pod until its
  `Ready` condition is `True` and returns a `KubernetesServer` whose `base_url` is the Service's
  in-cluster URL `http://NAME.NAMESPACE.svc.cluster.local:PORT` (`url_template` changes it).
  This is the shape the public implementation's provider creates (one Pod and one Service each).
* A Pod that fails (phase `Failed`, or a container waiting with an image or crash error) or is
  not ready within `ready_timeout_s` raises `ConnectError` naming the reason; its Pod and
  Service are deleted first. An API error raises `ConnectError` with the API's status message.
* `KubernetesServer.stop()` deletes the Service and the Pod (404 ignored; idempotent).
* Warm pools: with `warm_pool="NAME"`, where the `agent-sandbox` CRDs are installed (the
  `sandboxclaims.extensions.agents.x-k8s.io` CustomResourceDefinition exists), `start()` instead
  creates a `SandboxClaim` (`extensions.agents.x-k8s.io/v1beta1`, `spec.warmPoolRef.name`), waits
  for its `Ready` condition (a terminal `Ready=False` reason raises `ConnectError`), reads the
  claimed Sandbox's name from `status.sandbox.name` and its `status.serviceFQDN`, and `stop()`
  deletes the claim. Where the CRDs are absent it falls back to a Pod and a Service.
* `pod_manifest(name)` and `service_manifest(name)` give the objects as the API receives them
  (plain dicts), for review or for `kubectl apply`.
* Options are checked when the provider is made: a bad name, label, pull policy, port or
  resource key raises `ValueError` naming it.

Every object is built with the official client's models (`kubernetes.client`); the tests
validate them against the Kubernetes API's OpenAPI schemas and drive the call sequence against a
recorded API server on loopback. No live cluster is reached in this repository's tests.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from openenv.errors import ConnectError

__all__ = ["KubernetesProvider", "KubernetesServer", "SandboxClaimServer"]

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESOURCE_KINDS = ("requests", "limits")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
REPLICA_LABEL = "openenv.dev/replica"
CLAIM_GROUP, CLAIM_VERSION, CLAIM_PLURAL = "extensions.agents.x-k8s.io", "v1beta1", "sandboxclaims"
SANDBOX_GROUP, SANDBOX_VERSION, SANDBOX_PLURAL = "agents.x-k8s.io", "v1beta1", "sandboxes"
CLAIM_CRD = f"{CLAIM_PLURAL}.{CLAIM_GROUP}"
# Ready=False reasons of a SandboxClaim that its controller does not recover from by itself
TERMINAL_CLAIM_REASONS = frozenset(
    {
        "InvalidMetadata",
        "EnvVarsInjectionRejected",
        "VolumeClaimTemplatesError",
        "ClaimExpired",
        "SandboxExpired",
        "InvalidConfiguration",
        "PodFailed",
        "PodSucceeded",
    }
)
WAITING_ERRORS = (
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
)


def _client() -> Any:
    try:
        from kubernetes import client
    except ImportError:
        raise ConnectError("KubernetesProvider needs the official client: pip install 'openenv[kubernetes]'") from None
    return client


def _check_label_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not all(_DNS_LABEL.match(p) for p in prefix.split("."))):
        raise ValueError(f"label key {key!r}: bad prefix")
    if len(name) > 63 or not _LABEL_NAME.match(name):
        raise ValueError(f"label key {key!r}: bad name")


@dataclass
class KubernetesServer:
    """A Pod and its Service started by `KubernetesProvider`."""

    base_url: str
    name: str
    namespace: str
    core: Any

    def stop(self) -> None:
        """Delete the Service and the Pod (404 ignored); idempotent."""
        _delete(self.core, self.name, self.namespace)


@dataclass
class SandboxClaimServer:
    """A Sandbox claimed from an agent-sandbox warm pool by `KubernetesProvider`."""

    base_url: str
    name: str
    namespace: str
    sandbox: str
    custom: Any

    def stop(self) -> None:
        """Delete the SandboxClaim (404 ignored); idempotent. The controller releases the Sandbox."""
        _delete_claim(self.custom, self.name, self.namespace)


def _delete_claim(custom: Any, name: str, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        custom.delete_namespaced_custom_object(CLAIM_GROUP, CLAIM_VERSION, namespace, CLAIM_PLURAL, name)
    except ApiException as exc:
        if exc.status != 404:
            raise ConnectError(f"deleting SandboxClaim {name} in {namespace} failed: {_reason(exc)}") from None


def _delete(core: Any, name: str, namespace: str) -> None:
    from kubernetes.client.exceptions import ApiException

    for delete in (core.delete_namespaced_service, core.delete_namespaced_pod):
        try:
            delete(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise ConnectError(f"deleting {name} in {namespace} failed: {_reason(exc)}") from None


def _reason(exc: Any) -> str:
    """The `message` of the API's Status body, else the HTTP status."""
    import json

    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {exc.status}: {message or exc.reason}"


@dataclass
class KubernetesProvider:
    """Start each server as a Pod and a Service in a cluster.

    Attributes:
        image: the environment image (it serves on `PORT`, binding `HOST`, like every OpenEnv image).
        namespace: where the objects go (not created by the provider).
        port: the container's port.
        name_prefix: objects are named `PREFIX-<12 hex>`.
        labels: extra labels on the Pod and the Service.
        resources: `{"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {...}}`.
        image_pull_policy: `Always`, `IfNotPresent` or `Never`.
        runtime_class_name: e.g. `gvisor` or `kata` for a sandboxed runtime.
        image_pull_secrets: names of Secrets for a private registry.
        service_account_name: a service account (its token is still not mounted).
        run_as_user: a numeric user to run as (sets `runAsNonRoot`); the reference images use 10001.
        env: extra environment variables of the container.
        args: arguments of the container (the image's command is kept).
        ready_timeout_s: bound on the Pod becoming ready.
        poll_interval_s: time between readiness polls.
        url_template: `{service}`, `{namespace}` and `{port}` are filled in.
        warm_pool: an agent-sandbox `SandboxWarmPool` to claim from where its CRDs are installed.
        api_client: a `kubernetes.client.ApiClient`; default: in-cluster config, else kubeconfig.
    """

    image: str
    namespace: str = "default"
    port: int = 8000
    name_prefix: str = "openenv"
    labels: dict[str, str] = field(default_factory=dict)
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    image_pull_policy: str = "IfNotPresent"
    runtime_class_name: str | None = None
    image_pull_secrets: list[str] = field(default_factory=list)
    service_account_name: str | None = None
    run_as_user: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    ready_timeout_s: float = 300.0
    poll_interval_s: float = 1.0
    url_template: str = "http://{service}.{namespace}.svc.cluster.local:{port}"
    warm_pool: str | None = None
    api_client: Any = None
    _claims: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.image or any(c.isspace() for c in self.image):
            raise ValueError(f"image: {self.image!r} is not an image reference")
        if len(self.namespace) > 63 or not _DNS_LABEL.match(self.namespace):
            raise ValueError(f"namespace: {self.namespace!r} is not a DNS label")
        if len(self.name_prefix) > 40 or not _DNS_LABEL.match(self.name_prefix):
            raise ValueError(f"name_prefix: {self.name_prefix!r} is not a DNS label of at most 40 characters")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port: {self.port} is not between 1 and 65535")
        if self.image_pull_policy not in PULL_POLICIES:
            raise ValueError(f"image_pull_policy: {self.image_pull_policy!r} is not one of {', '.join(PULL_POLICIES)}")
        for key, value in self.labels.items():
            _check_label_key(key)
            if len(value) > 63 or not _LABEL_VALUE.match(value):
                raise ValueError(f"labels[{key!r}]: {value!r} is not a label value")
        for kind, amounts in self.resources.items():
            if kind not in RESOURCE_KINDS:
                raise ValueError(f"resources: {kind!r} is not one of {', '.join(RESOURCE_KINDS)}")
            for resource, amount in amounts.items():
                if not isinstance(amount, str) or not amount:
                    raise ValueError(f"resources[{kind!r}][{resource!r}]: give the quantity as a string, e.g. '500m'")
        for name in (self.runtime_class_name, self.service_account_name, self.warm_pool, *self.image_pull_secrets):
            if name is not None and (len(name) > 253 or not all(_DNS_LABEL.match(p) for p in name.split("."))):
                raise ValueError(f"{name!r} is not a valid object name")
        if self.run_as_user is not None and self.run_as_user < 1:
            raise ValueError("run_as_user must be a non-root numeric user (>= 1)")
        if self.ready_timeout_s <= 0 or self.poll_interval_s <= 0:
            raise ValueError("ready_timeout_s and poll_interval_s must be positive")

    # -- objects ------------------------------------------------------------------------------------
    def _labels(self, name: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": "openenv",
            "app.kubernetes.io/managed-by": "openenv",
            **self.labels,
            REPLICA_LABEL: name,
        }

    def pod(self, name: str) -> Any:
        """The Pod as a `kubernetes.client.V1Pod`."""
        k8s = _client()
        env = {**self.env, "HOST": "0.0.0.0", "PORT": str(self.port)}
        security = k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            run_as_non_root=True if self.run_as_user is not None else None,
            run_as_user=self.run_as_user,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        )
        container = k8s.V1Container(
            name="env",
            image=self.image,
            image_pull_policy=self.image_pull_policy,
            args=list(self.args) or None,
            ports=[k8s.V1ContainerPort(name="http", container_port=self.port, protocol="TCP")],
            env=[k8s.V1EnvVar(name=k, value=v) for k, v in env.items()],
            resources=k8s.V1ResourceRequirements(
                requests=self.resources.get("requests"), limits=self.resources.get("limits")
            )
            if self.resources
            else None,
            readiness_probe=k8s.V1Probe(
                http_get=k8s.V1HTTPGetAction(path="/health", port="http"),
                period_seconds=2,
                timeout_seconds=2,
                failure_threshold=3,
            ),
            security_context=security,
        )
        spec = k8s.V1PodSpec(
            containers=[container],
            restart_policy="Never",
            automount_service_account_token=False,
            runtime_class_name=self.runtime_class_name,
            service_account_name=self.service_account_name,
            image_pull_secrets=[k8s.V1LocalObjectReference(name=s) for s in self.image_pull_secrets] or None,
            termination_grace_period_seconds=10,
        )
        metadata = k8s.V1ObjectMeta(name=name, namespace=self.namespace, labels=self._labels(name))
        return k8s.V1Pod(api_version="v1", kind="Pod", metadata=metadata, spec=spec)

    def service(self, name: str) -> Any:
        """The Service as a `kubernetes.client.V1Service`."""
        k8s = _client()
        return k8s.V1Service(
            api_version="v1",
            kind="Service",
            metadata=k8s.V1ObjectMeta(name=name, namespace=self.namespace, labels=self._labels(name)),
            spec=k8s.V1ServiceSpec(
                type="ClusterIP",
                selector={REPLICA_LABEL: name},
                ports=[k8s.V1ServicePort(name="http", port=self.port, target_port="http", protocol="TCP")],
            ),
        )

    def pod_manifest(self, name: str) -> dict[str, Any]:
        """The Pod as the API server receives it (JSON-ready dict)."""
        manifest: dict[str, Any] = _client().ApiClient().sanitize_for_serialization(self.pod(name))
        return manifest

    def service_manifest(self, name: str) -> dict[str, Any]:
        """The Service as the API server receives it (JSON-ready dict)."""
        manifest: dict[str, Any] = _client().ApiClient().sanitize_for_serialization(self.service(name))
        return manifest

    # -- lifecycle ----------------------------------------------------------------------------------
    def _core(self) -> Any:
        k8s = _client()
        if self.api_client is None:
            from kubernetes import config

            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException:
                try:
                    config.load_kube_config()  # type: ignore[no-untyped-call]
                except Exception as exc:
                    raise ConnectError(f"no Kubernetes configuration (in-cluster or kubeconfig): {exc}") from None
            self.api_client = k8s.ApiClient()
        return k8s.CoreV1Api(self.api_client)

    def claim_manifest(self, name: str) -> dict[str, Any]:
        """The SandboxClaim as the API server receives it (warm-pool mode)."""
        return {
            "apiVersion": f"{CLAIM_GROUP}/{CLAIM_VERSION}",
            "kind": "SandboxClaim",
            "metadata": {"name": name, "namespace": self.namespace, "labels": self._labels(name)},
            "spec": {"warmPoolRef": {"name": self.warm_pool}},
        }

    def uses_claims(self) -> bool:
        """Whether `start()` claims from the warm pool: `warm_pool` is set and the CRD is installed."""
        if self.warm_pool is None:
            return False
        if self._claims is None:
            from kubernetes.client.exceptions import ApiException

            self._core()
            extensions = _client().ApiextensionsV1Api(self.api_client)
            try:
                extensions.read_custom_resource_definition(CLAIM_CRD)
                self._claims = True
            except ApiException as exc:
                if exc.status != 404:
                    raise ConnectError(f"looking up the {CLAIM_CRD} CRD failed: {_reason(exc)}") from None
                self._claims = False
        return self._claims

    def start(self) -> KubernetesServer | SandboxClaimServer:
        from kubernetes.client.exceptions import ApiException

        if self.uses_claims():
            return self._claim()
        core = self._core()
        name = f"{self.name_prefix}-{uuid.uuid4().hex[:12]}"
        try:
            core.create_namespaced_pod(self.namespace, self.pod(name))
        except ApiException as exc:
            raise ConnectError(f"creating Pod {name} in {self.namespace} failed: {_reason(exc)}") from None
        try:
            core.create_namespaced_service(self.namespace, self.service(name))
            self._wait_ready(core, name)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                _delete(core, name, self.namespace)
            if isinstance(exc, ApiException):
                raise ConnectError(f"starting {name} in {self.namespace} failed: {_reason(exc)}") from None
            raise
        url = self.url_template.format(service=name, namespace=self.namespace, port=self.port)
        return KubernetesServer(url, name, self.namespace, core)

    def _claim(self) -> SandboxClaimServer:
        from kubernetes.client.exceptions import ApiException

        custom = _client().CustomObjectsApi(self.api_client)
        name = f"{self.name_prefix}-{uuid.uuid4().hex[:12]}"
        try:
            custom.create_namespaced_custom_object(
                CLAIM_GROUP, CLAIM_VERSION, self.namespace, CLAIM_PLURAL, self.claim_manifest(name)
            )
        except ApiException as exc:
            raise ConnectError(f"creating SandboxClaim {name} in {self.namespace} failed: {_reason(exc)}") from None
        try:
            sandbox = self._wait_claim(custom, name)
            found = custom.get_namespaced_custom_object(
                SANDBOX_GROUP, SANDBOX_VERSION, self.namespace, SANDBOX_PLURAL, sandbox
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):
                _delete_claim(custom, name, self.namespace)
            if isinstance(exc, ApiException):
                raise ConnectError(f"claiming from warm pool {self.warm_pool} failed: {_reason(exc)}") from None
            raise
        fqdn = (found.get("status") or {}).get("serviceFQDN") if isinstance(found, dict) else None
        if isinstance(fqdn, str) and fqdn:
            url = f"http://{fqdn}:{self.port}"
        else:
            url = self.url_template.format(service=sandbox, namespace=self.namespace, port=self.port)
        return SandboxClaimServer(url, name, self.namespace, sandbox, custom)

    def _wait_claim(self, custom: Any, name: str) -> str:
        """Poll the claim until Ready; returns the claimed Sandbox's name."""
        deadline = time.monotonic() + self.ready_timeout_s
        last = "no status yet"
        while True:
            claim = custom.get_namespaced_custom_object(CLAIM_GROUP, CLAIM_VERSION, self.namespace, CLAIM_PLURAL, name)
            status = claim.get("status") or {}
            for condition in status.get("conditions") or []:
                if condition.get("type") != "Ready":
                    continue
                reason = condition.get("reason") or ""
                if condition.get("status") == "True":
                    sandbox = (status.get("sandbox") or {}).get("name")
                    if isinstance(sandbox, str) and sandbox:
                        return sandbox
                elif reason in TERMINAL_CLAIM_REASONS:
                    raise ConnectError(f"SandboxClaim {name} failed: {reason}: {condition.get('message') or ''}")
                last = f"Ready={condition.get('status')} {reason}".strip()
            if time.monotonic() >= deadline:
                raise ConnectError(f"SandboxClaim {name} was not ready within {self.ready_timeout_s:g} s ({last})")
            time.sleep(self.poll_interval_s)

    def _wait_ready(self, core: Any, name: str) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        last = "no status yet"
        while True:
            pod = core.read_namespaced_pod(name, self.namespace)
            status = pod.status
            if status is not None:
                if status.phase in ("Failed", "Succeeded"):
                    raise ConnectError(f"Pod {name} ended ({status.phase}): {_pod_problem(status) or status.reason}")
                problem = _pod_problem(status)
                if problem is not None:
                    raise ConnectError(f"Pod {name} cannot start: {problem}")
                if any(c.type == "Ready" and c.status == "True" for c in status.conditions or []):
                    return
                last = f"phase {status.phase}"
            if time.monotonic() >= deadline:
                raise ConnectError(f"Pod {name} was not ready within {self.ready_timeout_s:g} s ({last})")
            time.sleep(self.poll_interval_s)


def _pod_problem(status: Any) -> str | None:
    """A container state that will not resolve by waiting (image or crash errors)."""
    for container in status.container_statuses or []:
        state = container.state
        if state is None:
            continue
        if state.waiting is not None and state.waiting.reason in WAITING_ERRORS:
            return f"{container.name}: {state.waiting.reason}: {state.waiting.message or ''}".rstrip(": ")
        if state.terminated is not None:
            terminated = state.terminated
            return f"{container.name} exited with code {terminated.exit_code} ({terminated.reason or 'no reason'})"
    return None
