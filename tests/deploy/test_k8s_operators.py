"""deploy/k8s's opt-in components: each rendered on the dev overlay, and all of them in overlays/platform.

Every custom resource is validated against its operator's own CRD (``crds.py``: KEDA, prometheus-operator and
Strimzi at the versions deploy/k8s/crds/versions.env pins), and a resource that breaks its CRD is shown to be
refused. Then what a schema cannot say: the KEDA triggers name the consumer groups and topics the services
really use and stop at their partition count, the Strimzi topics are the contract's, the ServiceMonitors find the
Services, the PrometheusRule is rules.yml, and the NetworkPolicies let through exactly who talks to whom.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest
import yaml

from switchboard_contracts.topics import TOPIC_SPECS, Topic
from switchboard_platform.netsafety import AddressKind, classify
from switchboard_platform.settings import ServiceSettings

from .apps import APP_IDS, APPS, ROOT, App
from .crds import KUBERNETES_VERSION, CustomResourceSchemas, custom_resource_schemas, is_custom
from .kustomize import K8S, Obj, Render, render_kustomization

pytestmark = pytest.mark.deploy

COMPONENTS = sorted(path.name for path in (K8S / "components").iterdir() if path.is_dir())
RULES = ROOT / "deploy" / "observability" / "prometheus" / "rules.yml"
PARTITIONS = {spec.topic: spec.partitions for spec in TOPIC_SPECS}


@pytest.fixture(scope="module")
def schemas() -> CustomResourceSchemas:
    return custom_resource_schemas()


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Render]:
    """Each component on the dev overlay (which has Kafka and MongoDB in the cluster), rendered side by side:
    each kustomize run is a second of mostly waiting on its own process."""
    directories = {}
    for component in COMPONENTS:
        directory = directories[component] = tmp_path_factory.mktemp(component)
        (directory / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    # Relative: kustomize refuses absolute paths to other kustomizations.
                    "resources": [os.path.relpath(K8S / "overlays" / "dev", directory)],
                    "components": [os.path.relpath(K8S / "components" / component, directory)],
                }
            )
        )
    with ThreadPoolExecutor(max_workers=len(COMPONENTS)) as pool:
        futures = {
            name: pool.submit(render_kustomization, directory, f"dev+{name}")
            for name, directory in directories.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def platform() -> Render:
    return render_kustomization(K8S / "overlays" / "platform", "platform")


def _all_renders(components: dict[str, Render], platform: Render) -> list[Render]:
    return [*components.values(), platform]


# ---------------------------------------------------------------------------------------------------------
# every object, every render


def test_every_component_is_used_by_an_overlay() -> None:
    used = set()
    for overlay in (K8S / "overlays").iterdir():
        kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
        used |= {Path(path).name for path in kustomization.get("components", [])}
    assert set(COMPONENTS) <= used


def test_every_custom_resource_matches_its_operators_crd(
    schemas: CustomResourceSchemas, components: dict[str, Render], platform: Render
) -> None:
    errors = [
        f"{render.overlay}: {error}"
        for render in _all_renders(components, platform)
        for obj in render.objects
        if is_custom(obj)
        for error in schemas.errors(obj)
    ]
    assert errors == []


def test_the_renders_hold_every_kind_of_custom_resource_the_crds_define(
    schemas: CustomResourceSchemas, platform: Render
) -> None:
    # Nothing is validated against a CRD nobody uses, and nothing custom escapes validation.
    rendered = {(obj["apiVersion"], obj["kind"]) for obj in platform.objects if is_custom(obj)}
    assert rendered == set(schemas.schemas)


def test_every_builtin_object_of_the_components_matches_the_kubernetes_api(
    components: dict[str, Render],
) -> None:
    # What each component adds or changes: the dev overlay's own objects are test_k8s.py's.
    dev = render_kustomization(K8S / "overlays" / "dev", "dev").objects
    errors = []
    for render in components.values():
        for obj in render.objects:
            if is_custom(obj) or obj in dev:
                continue
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{render.overlay} {obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert errors == []


def _set(path: str, value: Any) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        *parents, leaf = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[leaf] = value

    return mutate


def _delete(path: str) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        *parents, leaf = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[leaf]

    return mutate


BROKEN = {
    # a misspelt field, which the API server would prune silently
    "KafkaTopic spec.partition": ("KafkaTopic", "platform.events", _set("spec.partition", 12)),
    "ScaledObject maxReplicaCount as text": (
        "ScaledObject",
        "dispatcher",
        _set("spec.maxReplicaCount", "six"),
    ),
    "ScaledObject trigger without metadata": (
        "ScaledObject",
        "dispatcher",
        _delete("spec.triggers.0.metadata"),
    ),
    "Kafka listener of an unknown type": (
        "Kafka",
        "switchboard",
        _set("spec.kafka.listeners.0.type", "magic"),
    ),
    "KafkaNodePool with an unknown role": ("KafkaNodePool", "dual-role", _set("spec.roles", ["leader"])),
    "ServiceMonitor endpoint as a string": ("ServiceMonitor", "dispatcher", _set("spec.endpoints", "http")),
    "PrometheusRule rule without expr": (
        "PrometheusRule",
        "switchboard",
        _delete("spec.groups.0.rules.0.expr"),
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_custom_resource_that_breaks_its_crd_is_refused(
    schemas: CustomResourceSchemas, platform: Render, case: str
) -> None:
    kind, name, mutate = BROKEN[case]
    broken = copy.deepcopy(platform.get(kind, name))
    assert schemas.errors(broken) == []
    mutate(broken)
    assert schemas.errors(broken) != []


def test_a_custom_resource_no_cached_crd_serves_is_refused(schemas: CustomResourceSchemas) -> None:
    # kafka.strimzi.io/v1beta2, which Strimzi 1.x no longer serves.
    topic = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": {"name": "t"},
        "spec": {},
    }
    assert schemas.errors(topic) == ["KafkaTopic/t: no CRD serves kafka.strimzi.io/v1beta2 KafkaTopic"]


# ---------------------------------------------------------------------------------------------------------
# autoscaling


SCALED = {"dispatcher": {"fanout": Topic.PLATFORM_EVENTS, "deliveries": Topic.DELIVERIES}}
SCALED["ai-responder"] = {"responder": Topic.PLATFORM_EVENTS}


def _settings(render: Render) -> ServiceSettings:
    """Settings with the render's topic namespace, to ask for the names the services would use."""
    (config,) = [
        obj for obj in render.all("ConfigMap") if obj["metadata"]["name"].startswith("switchboard-config")
    ]
    # Unvalidated: only the naming methods are used, and production settings would want real secrets.
    return ServiceSettings.model_construct(topic_namespace=config["data"].get("SB_TOPIC_NAMESPACE", ""))


@pytest.mark.parametrize("name", list(SCALED))
def test_keda_scales_on_the_groups_and_topics_the_service_consumes(platform: Render, name: str) -> None:
    settings = _settings(platform)
    triggers = platform.get("ScaledObject", name)["spec"]["triggers"]
    found = {
        (t["metadata"]["consumerGroup"], t["metadata"]["topic"]) for t in triggers if t["type"] == "kafka"
    }
    assert found == {
        (settings.group_id(name, purpose), settings.topic(topic)) for purpose, topic in SCALED[name].items()
    }


@pytest.mark.parametrize("name", list(SCALED))
def test_keda_stops_at_the_partition_count(platform: Render, name: str) -> None:
    # One partition feeds one member of a group: a replica beyond the partition count would idle.
    spec = platform.get("ScaledObject", name)["spec"]
    assert spec["maxReplicaCount"] == min(PARTITIONS[topic] for topic in SCALED[name].values())
    assert all(t["metadata"].get("allowIdleConsumers", "false") == "false" for t in spec["triggers"])


@pytest.mark.parametrize("name", list(SCALED))
def test_keda_reads_the_bootstrap_servers_from_the_target_containers_environment(
    platform: Render, name: str
) -> None:
    scaled = platform.get("ScaledObject", name)
    deployment = platform.get("Deployment", scaled["spec"]["scaleTargetRef"]["name"])
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    config = {
        key
        for entry in container.get("envFrom", [])
        for obj in platform.all("ConfigMap")
        if obj["metadata"]["name"] == entry.get("configMapRef", {}).get("name")
        for key in obj.get("data", {})
    }
    assert {t["metadata"]["bootstrapServersFromEnv"] for t in scaled["spec"]["triggers"]} <= config


@pytest.mark.parametrize(
    ("component", "names"),
    [("keda", ["dispatcher", "ai-responder"]), ("autoscaling", ["ingress", "registry"])],
)
def test_an_autoscaled_deployment_has_no_fixed_replica_count(
    components: dict[str, Render], component: str, names: list[str]
) -> None:
    # A replicas field would reset the autoscaler's count on every apply.
    render = components[component]
    assert {name: render.get("Deployment", name)["spec"].get("replicas") for name in names} == dict.fromkeys(
        names
    )


# ---------------------------------------------------------------------------------------------------------
# Strimzi


def test_strimzi_topics_are_the_contracts(platform: Render) -> None:
    topics = {obj["metadata"]["name"]: obj["spec"] for obj in platform.all("KafkaTopic")}
    assert topics == {
        spec.topic.value: {"partitions": spec.partitions, "replicas": 3, "config": spec.broker_configs()}
        for spec in TOPIC_SPECS
    }


def test_the_contract_declares_compaction_and_retention_the_topics_carry() -> None:
    # The generated topics follow the contract; this pins the contract's own promises (README, ADR 0004).
    by_topic = {spec.topic: spec.broker_configs() for spec in TOPIC_SPECS}
    assert by_topic[Topic.CONFIG]["cleanup.policy"] == "compact"
    assert all("retention.ms" in configs for topic, configs in by_topic.items() if topic is not Topic.CONFIG)


def test_strimzi_topics_and_node_pool_belong_to_the_kafka_cluster(platform: Render) -> None:
    (kafka,) = platform.all("Kafka")
    owners = {obj["metadata"]["labels"]["strimzi.io/cluster"] for obj in platform.all("KafkaTopic")}
    owners |= {obj["metadata"]["labels"]["strimzi.io/cluster"] for obj in platform.all("KafkaNodePool")}
    assert owners == {kafka["metadata"]["name"]}


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_strimzi_points_the_services_at_the_clusters_plain_listener(platform: Render, app: App) -> None:
    (kafka,) = platform.all("Kafka")
    (listener,) = [item for item in kafka["spec"]["kafka"]["listeners"] if item["tls"] is False]
    (config,) = [
        obj for obj in platform.all("ConfigMap") if obj["metadata"]["name"].startswith("switchboard-config")
    ]
    assert (
        config["data"]["SB_KAFKA_BOOTSTRAP"]
        == f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    )


def test_strimzi_brokers_hold_three_copies_of_what_they_cannot_lose(platform: Render) -> None:
    (pool,) = platform.all("KafkaNodePool")
    config = platform.get("Kafka", "switchboard")["spec"]["kafka"]["config"]
    assert pool["spec"]["replicas"] >= 3
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == (3, 2)


# ---------------------------------------------------------------------------------------------------------
# monitoring


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_a_service_monitor_scrapes_each_services_metrics_port(platform: Render, app: App) -> None:
    monitor = platform.get("ServiceMonitor", app.name)["spec"]
    service = platform.get("Service", app.name)
    (endpoint,) = monitor["endpoints"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_the_prometheus_rule_is_the_rule_file(platform: Render) -> None:
    (rule,) = platform.all("PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


# ---------------------------------------------------------------------------------------------------------
# network policies: who may talk to whom


def _selects(policy: Obj, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _pod_labels(render: Render, name: str) -> dict[str, str]:
    for obj in render.objects:
        if obj["kind"] in {"Deployment", "StatefulSet"} and obj["metadata"]["name"] == name:
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert isinstance(labels, dict)
            return labels
    raise AssertionError(f"{render.overlay} renders no workload {name}")


def _policies(render: Render, pod: dict[str, str], direction: str) -> list[Obj]:
    return [
        policy
        for policy in render.all("NetworkPolicy")
        if _selects(policy, pod) and direction in policy["spec"]["policyTypes"]
    ]


@pytest.fixture
def policed(components: dict[str, Render]) -> Render:
    return components["network-policies"]


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_every_service_is_denied_by_default_both_ways(policed: Render, app: App) -> None:
    pod = _pod_labels(policed, app.name)
    assert _policies(policed, pod, "Ingress")
    assert _policies(policed, pod, "Egress")


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_only_the_ingress_is_open_to_the_world(policed: Render, app: App) -> None:
    pod = _pod_labels(policed, app.name)
    open_rules = [
        rule
        for policy in _policies(policed, pod, "Ingress")
        for rule in policy["spec"].get("ingress", [])
        if not rule.get("from")
    ]
    assert bool(open_rules) is (app.name == "ingress")


def test_the_services_never_let_each_other_in(policed: Render) -> None:
    # They talk through Kafka only: no policy admits a Switchboard pod as a peer.
    pods = [_pod_labels(policed, app.name) for app in APPS]
    admitted = [
        policy["metadata"]["name"]
        for policy in policed.all("NetworkPolicy")
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "podSelector" in peer
        and any(_selects({"spec": {"podSelector": peer["podSelector"]}}, pod) for pod in pods)
    ]
    assert admitted == []


def _egress_peers(render: Render, pod: dict[str, str]) -> list[tuple[Obj, list[Obj]]]:
    return [
        (peer, rule.get("ports", []))
        for policy in _policies(render, pod, "Egress")
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [])
    ]


@pytest.mark.parametrize("target", ["kafka", "mongo"])
@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_every_service_reaches_the_in_cluster_kafka_and_mongodb(
    policed: Render, app: App, target: str
) -> None:
    pod = _pod_labels(policed, app.name)
    target_labels = _pod_labels(policed, target)
    service_ports = {port["port"] for port in policed.get("Service", target)["spec"]["ports"]}
    allowed = {
        port["port"]
        for peer, ports in _egress_peers(policed, pod)
        if "podSelector" in peer and _selects({"spec": {"podSelector": peer["podSelector"]}}, target_labels)
        for port in ports
    }
    assert service_ports <= allowed


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_public_egress_is_for_the_services_with_an_http_client_and_excludes_private_ranges(
    policed: Render, app: App
) -> None:
    pod = _pod_labels(policed, app.name)
    blocks = [peer["ipBlock"] for peer, _ in _egress_peers(policed, pod) if "ipBlock" in peer]
    assert bool(blocks) is (app.name in {"dispatcher", "ai-responder"})
    # Whatever the services' own address check refuses, the policy refuses too.
    for address in (
        "10.1.2.3",
        "172.20.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "127.0.0.1",
        "fd00::1",
        "fe80::1",
    ):
        ip = ipaddress.ip_address(address)
        assert classify(ip) is not AddressKind.PUBLIC
        reachable = [
            block
            for block in blocks
            if ip in ipaddress.ip_network(block["cidr"])
            and not any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
        ]
        assert reachable == [], address


# ---------------------------------------------------------------------------------------------------------
# tracing: every service exports over OTLP/HTTP, and the network policies let it reach the collector

OTLP_HTTP_PORT = 4318


def _config(render: Render, app: App) -> dict[str, str]:
    """What the service reads from the ConfigMaps its container takes whole (envFrom)."""
    config: dict[str, str] = {}
    for entry in render.container(app).get("envFrom", []):
        if "configMapRef" in entry:
            config.update(render.config_maps[entry["configMapRef"]["name"]])
    return config


@pytest.mark.parametrize("render_name", ["tracing", "platform"])
@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_tracing_exports_every_service_to_a_collectors_otlp_http_port(
    components: dict[str, Render], platform: Render, render_name: str, app: App
) -> None:
    config = _config({**components, "platform": platform}[render_name], app)
    endpoint = urlsplit(config.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    assert config.get("OTEL_TRACES_EXPORTER") == "otlp"
    # The services speak only OTLP/HTTP: gRPC (4317) would stop them at start-up.
    assert config.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "http/protobuf"
    assert (endpoint.scheme, endpoint.port) == ("http", OTLP_HTTP_PORT)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_without_the_tracing_component_nothing_is_traced(components: dict[str, Render], app: App) -> None:
    # Off by default: the dev overlay alone, rendered with another component.
    assert "OTEL_TRACES_EXPORTER" not in _config(components["monitoring"], app)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_every_service_may_send_traces_to_a_labelled_collector_namespace(policed: Render, app: App) -> None:
    pod = _pod_labels(policed, app.name)
    allowed = [
        port["port"]
        for peer, ports in _egress_peers(policed, pod)
        if peer.get("namespaceSelector") == {"matchLabels": {"switchboard.io/traces": "true"}}
        and "podSelector" not in peer
        for port in ports
    ]
    assert allowed == [OTLP_HTTP_PORT]
