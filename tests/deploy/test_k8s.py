"""The Kubernetes deployment: deploy/k8s's overlays rendered by kustomize and checked without a cluster.

``kubectl kustomize`` (or a standalone ``kustomize build``) renders each overlay exactly as ``kubectl apply -k``
would send it. The tests parse that output, validate every object against the Kubernetes API's own schemas
(kubernetes-validate ships them, so this needs no network), and then check what a schema cannot: probes and
hardening, that every SB_* variable a pod gets is a setting its service really reads, that secret settings come
only from the Secret, and what each overlay promises (dev: Kafka and MongoDB in the cluster, development
secrets; prod: none of those, production mode, pinned images, replicas and autoscalers; platform: prod with
every opt-in component, whose own checks are in test_k8s_operators.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type hints
import pytest

from switchboard_platform.settings import Environment, is_placeholder

from .apps import (
    APP_IDS,
    APPS,
    DOCKERFILE,
    ROOT,
    App,
    accepted_env,
    deploy_local_kafka_version,
    image_user,
    required_secret_env,
    secret_env,
)
from .crds import is_custom
from .kustomize import K8S, Obj, Render, render_kustomization

pytestmark = pytest.mark.deploy

OVERLAYS = ("dev", "prod", "platform")
#: The overlays for production: external MongoDB, an operator's Secret (never rendered), production mode.
PRODUCTION = ("prod", "platform")
NAMESPACE = "switchboard"
SECRET = "switchboard-secrets"  # the operator's Secret in production; generated (with a hash suffix) in dev
MONGO_IMAGE = "mongo:7.0"
# The API the manifests are validated against: kubectl 1.32's. Every field they use is GA by that version.
KUBERNETES_VERSION = "1.32"
TOPICS_COMMAND = [
    "python",
    "-m",
    "switchboard_platform.kafka_admin",
    "ensure-topics",
    "--bootstrap",
    "$(SB_KAFKA_BOOTSTRAP)",
    "--namespace",
    "$(SB_TOPIC_NAMESPACE)",
    "--replication-factor",
    "$(TOPIC_REPLICATION_FACTOR)",
]

REPLICAS: dict[str, dict[str, int | None]] = {
    "dev": {"ingress": 1, "registry": 1, "ai-responder": 1, "dispatcher": 1},
    # None: an autoscaler owns the count (HorizontalPodAutoscalers; KEDA's for the consumers in platform).
    "prod": {"ingress": None, "registry": None, "ai-responder": 2, "dispatcher": 2},
    "platform": {"ingress": None, "registry": None, "ai-responder": None, "dispatcher": None},
}
TOPIC_REPLICATION_FACTOR = {"dev": "1", "prod": "3", "platform": "3"}
ALL_SECRET_ENV = set().union(*(secret_env(app.settings) for app in APPS))


# ---------------------------------------------------------------------------------------------------------
# rendering


@pytest.fixture(scope="module")
def renders() -> dict[str, Render]:
    return {overlay: render_kustomization(K8S / "overlays" / overlay, overlay) for overlay in OVERLAYS}


@pytest.fixture(params=OVERLAYS)
def render(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    overlay = request.param
    assert isinstance(overlay, str)
    return renders[overlay]


# ---------------------------------------------------------------------------------------------------------
# environment variables: where each value comes from


@dataclass(frozen=True)
class EnvSource:
    kind: str  # "value", "configMap", "secret" or "field"
    name: str = ""  # the ConfigMap or Secret
    key: str = ""
    value: str | None = None


def _env_sources(container: Obj, render: Render) -> dict[str, EnvSource]:
    """Every variable the container gets, from envFrom and env (env wins, as in the kubelet)."""
    sources: dict[str, EnvSource] = {}
    for entry in container.get("envFrom", []):
        prefix = entry.get("prefix", "")
        if "configMapRef" in entry:
            name = entry["configMapRef"]["name"]
            assert name in render.config_maps, f"envFrom names ConfigMap {name}, which is not rendered"
            for key in render.config_maps[name]:
                sources[prefix + key] = EnvSource("configMap", name, key)
        else:
            # Secrets are referenced key by key, so each service gets only its own and the manifests say which.
            pytest.fail(f"{container['name']}: envFrom {entry} (use env with secretKeyRef for secrets)")
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            sources[entry["name"]] = EnvSource(
                "configMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
            )
        elif "secretKeyRef" in ref:
            sources[entry["name"]] = EnvSource(
                "secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
            )
        elif ref:
            sources[entry["name"]] = EnvSource("field")
        else:
            sources[entry["name"]] = EnvSource("value", value=str(entry.get("value", "")))
    return sources


def _resolve(source: EnvSource, render: Render) -> str:
    """The value a ConfigMap-backed or literal variable has in this render."""
    if source.kind == "value":
        assert source.value is not None
        return source.value
    assert source.kind == "configMap", source
    return render.config_maps[source.name][source.key]


def _split_image(image: str) -> tuple[str, str]:
    """(repository, tag or digest) of an image reference; the second part is "" when it has neither."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, digest
    if ":" in image.rsplit("/", 1)[-1]:
        repository, tag = image.rsplit(":", 1)
        return repository, tag
    return image, ""


def _pod_images(pod: Obj) -> set[str]:
    return {container["image"] for container in [*pod.get("initContainers", []), *pod["containers"]]}


def _is_the_secret(name: str, render: Render) -> bool:
    """The one Secret of the deployment: rendered with kustomize's hash suffix in dev, the operator's in prod."""
    if render.overlay in PRODUCTION:
        return name == SECRET
    return name in render.secrets and re.fullmatch(rf"{SECRET}-[a-z0-9]+", name) is not None


def _app_config(render: Render, app: App, variable: str) -> str:
    return _resolve(_env_sources(render.container(app), render)[variable], render)


# ---------------------------------------------------------------------------------------------------------
# the whole render


def test_every_object_matches_the_kubernetes_api_schema(render: Render) -> None:
    # Strict: an unknown field (a misspelt readinessProbe) fails instead of being dropped by the API server.
    # Custom resources are checked against their operators' CRDs (test_k8s_operators.py).
    errors = []
    for obj in render.objects:
        if is_custom(obj):
            continue
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{where}: {exc.message}")
    assert errors == []


def test_everything_lands_in_the_switchboard_namespace(render: Render) -> None:
    namespaces = {obj["metadata"].get("namespace") for obj in render.objects if obj["kind"] != "Namespace"}
    assert namespaces == {NAMESPACE}


def test_namespace_enforces_the_restricted_pod_security_standard(render: Render) -> None:
    labels = render.get("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_object_is_labelled_part_of_switchboard(render: Render) -> None:
    unlabelled = [
        f"{obj['kind']}/{obj['metadata']['name']}"
        for obj in render.objects
        if obj["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") != "switchboard"
    ]
    assert unlabelled == []


def test_every_pod_meets_the_restricted_pod_security_standard(render: Render) -> None:
    # What the namespace's label makes the API server enforce, checked here so a violation fails in review
    # rather than as pods that never get created. Kafka and MongoDB in dev included.
    violations = []
    for name, pod in render.workloads():
        pod_context = pod.get("securityContext", {})
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            context = container.get("securityContext", {})
            where = f"{name}/{container['name']}"
            if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
                violations.append(f"{where}: runAsNonRoot")
            if context.get("runAsUser", pod_context.get("runAsUser", 0)) == 0:
                violations.append(f"{where}: no numeric non-root runAsUser")
            seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {}))
            if seccomp.get("type") != "RuntimeDefault":
                violations.append(f"{where}: seccompProfile")
            if context.get("allowPrivilegeEscalation") is not False:
                violations.append(f"{where}: allowPrivilegeEscalation")
            capabilities = context.get("capabilities", {})
            if capabilities.get("drop") != ["ALL"] or capabilities.get("add"):
                violations.append(f"{where}: capabilities")
    assert violations == []


def test_every_pod_keeps_away_from_the_kubernetes_api_and_service_links(render: Render) -> None:
    # Service links matter most for dev's Kafka: its image turns every KAFKA_* variable into a broker setting,
    # and a Service named kafka injects KAFKA_PORT and friends.
    offenders = [
        name
        for name, pod in render.workloads()
        if pod.get("automountServiceAccountToken") is not False or pod.get("enableServiceLinks") is not False
    ]
    assert offenders == []


def test_every_container_has_cpu_and_memory_requests_and_limits(render: Render) -> None:
    missing = [
        f"{name}/{container['name']}: {part}.{resource}"
        for name, pod in render.workloads()
        for container in [*pod.get("initContainers", []), *pod["containers"]]
        for part in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in container.get("resources", {}).get(part, {})
    ]
    assert missing == []


def test_every_reference_resolves_to_a_rendered_configmap_key_or_the_secret(render: Render) -> None:
    # A missing ConfigMap key keeps a pod in CreateContainerConfigError. The Secret is rendered in dev and must
    # exist already in prod, so there it is only checked by name.
    broken = []
    for name, pod in render.workloads():
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            for variable, source in _env_sources(container, render).items():
                if source.kind == "configMap" and source.key not in render.config_maps.get(source.name, {}):
                    broken.append(
                        f"{name}/{container['name']} {variable}: ConfigMap {source.name} {source.key}"
                    )
                if source.kind == "secret" and not (
                    _is_the_secret(source.name, render)
                    and (render.overlay in PRODUCTION or source.key in render.secrets[source.name])
                ):
                    broken.append(f"{name}/{container['name']} {variable}: Secret {source.name} {source.key}")
    assert broken == []


def test_configmaps_hold_no_secret_setting(render: Render) -> None:
    leaked = {key for data in render.config_maps.values() for key in data} & ALL_SECRET_ENV
    assert leaked == set()


# ---------------------------------------------------------------------------------------------------------
# each service


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_service_selects_its_pods_on_its_port(render: Render, app: App) -> None:
    deployment = render.deployment(app)
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = render.get("Service", app.name)["spec"]
    (port,) = service["ports"]
    (container_port,) = [p for p in render.container(app)["ports"] if p["name"] == port["targetPort"]]
    assert selector.items() <= pod_labels.items()
    assert service["selector"] == selector
    assert (port["port"], container_port["containerPort"]) == (app.port, app.port)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_runs_its_own_image(render: Render, app: App) -> None:
    # The last two path parts, so an operator's registry in front (newName) still counts.
    repositories = {
        "/".join(_split_image(image)[0].split("/")[-2:]) for image in _pod_images(render.pod(app))
    }
    assert repositories == {f"switchboard/{app.name}"}


@pytest.mark.parametrize(
    ("probe", "path"),
    [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")],
)
@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_probe_asks_its_http_port(render: Render, app: App, probe: str, path: str) -> None:
    container = render.container(app)
    get = container[probe]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert (get["path"], ports.get(get["port"], get["port"])) == (path, app.port)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_startup_probe_outlasts_the_config_catch_up(render: Render, app: App) -> None:
    # Start-up ensures MongoDB indexes, connects to Kafka and, for ingress and ai-responder, waits up to the
    # catch-up timeout for the config view; liveness must not restart a pod that is still doing that. A
    # minute on top is for the rest (MongoDB's server selection alone may take 5 s per attempt).
    startup = render.container(app)["startupProbe"]
    budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)  # Kubernetes' defaults
    field = app.settings.model_fields.get("config_catch_up_timeout_s")
    catch_up = float(field.default) if field is not None else 0.0
    assert budget >= catch_up + 60


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_runs_as_its_images_non_root_uid(render: Render, app: App) -> None:
    context = render.pod(app)["securityContext"]
    assert (context["runAsNonRoot"], str(context["runAsUser"])) == (True, image_user(DOCKERFILE))


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_containers_have_a_read_only_root_and_an_empty_dir_tmp(render: Render, app: App) -> None:
    pod = render.pod(app)
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    problems = []
    for container in [*pod["initContainers"], *pod["containers"]]:
        mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts", [])}
        if container["securityContext"].get("readOnlyRootFilesystem") is not True:
            problems.append(f"{container['name']}: writable root filesystem")
        # S108: "/tmp" is the container's mount path being checked, not a temporary file of this test.
        if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):  # noqa: S108
            problems.append(f"{container['name']}: no emptyDir at /tmp")
    assert problems == []


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_is_scraped_by_prometheus_on_its_port(render: Render, app: App) -> None:
    annotations = render.deployment(app)["spec"]["template"]["metadata"]["annotations"]
    keys = ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")
    assert {key: annotations.get(key) for key in keys} == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(app.port),
        "prometheus.io/path": "/metrics",
    }


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_gets_only_variables_its_settings_or_tracing_read(render: Render, app: App) -> None:
    # A misspelt or another service's variable would be ignored silently (extra="ignore"); the OTEL_* ones are
    # those the telemetry module honours.
    unknown = set(_env_sources(render.container(app), render)) - accepted_env(app.settings)
    assert unknown == set()


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_secret_settings_come_from_the_secret(render: Render, app: App) -> None:
    sources = _env_sources(render.container(app), render)
    wrong = {
        variable: source
        for variable, source in sources.items()
        if variable in secret_env(app.settings)
        and not (source.kind == "secret" and _is_the_secret(source.name, render) and source.key == variable)
    }
    assert wrong == {}


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_gets_every_secret_its_settings_declare(render: Render, app: App) -> None:
    # A secret setting left out would run on its development default, or stop the service in production.
    assert required_secret_env(app.settings) <= set(_env_sources(render.container(app), render))


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_ensures_the_topics_before_it_starts(render: Render, app: App) -> None:
    init = render.init_container(app)
    # $(VAR) is expanded by the kubelet only for variables the container defines; any other stays literal.
    referenced = set(re.findall(r"\$\((\w+)\)", " ".join(init["command"])))
    assert init["command"] == TOPICS_COMMAND
    assert referenced <= set(_env_sources(init, render))


@pytest.mark.parametrize("variable", ["SB_KAFKA_BOOTSTRAP", "SB_TOPIC_NAMESPACE"])
@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_ensures_the_topics_where_it_uses_them(render: Render, app: App, variable: str) -> None:
    init_value = _resolve(_env_sources(render.init_container(app), render)[variable], render)
    assert init_value == _app_config(render, app, variable)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_topics_get_the_overlays_replication_factor(render: Render, app: App) -> None:
    source = _env_sources(render.init_container(app), render)["TOPIC_REPLICATION_FACTOR"]
    assert _resolve(source, render) == TOPIC_REPLICATION_FACTOR[render.overlay]


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_replicas(render: Render, app: App) -> None:
    assert render.deployment(app)["spec"].get("replicas") == REPLICAS[render.overlay][app.name]


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_disruption_budget_covers_its_pods_and_never_blocks_a_drain(render: Render, app: App) -> None:
    # maxUnavailable 1, not minAvailable: a node drain can still evict a dev overlay's single replica.
    budget = render.get("PodDisruptionBudget", app.name)["spec"]
    pod_labels = render.deployment(app)["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    assert (budget.get("maxUnavailable"), budget.get("minAvailable")) == (1, None)


# ---------------------------------------------------------------------------------------------------------
# dev overlay


@pytest.fixture
def dev(renders: dict[str, Render]) -> Render:
    return renders["dev"]


@pytest.fixture
def prod(renders: dict[str, Render]) -> Render:
    return renders["prod"]


def _statefulset_container(render: Render, name: str) -> Obj:
    (container,) = render.get("StatefulSet", name)["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_dev_kafka_image_is_the_version_deploy_local_and_compose_run(dev: Render) -> None:
    assert _statefulset_container(dev, "kafka")["image"] == f"apache/kafka:{deploy_local_kafka_version()}"


def test_dev_mongo_image_is_mongo_7(dev: Render) -> None:
    assert _statefulset_container(dev, "mongo")["image"] == MONGO_IMAGE


@pytest.mark.parametrize("name", ["kafka", "mongo"])
def test_dev_infrastructure_is_one_pod_with_a_persistent_volume(dev: Render, name: str) -> None:
    spec = dev.get("StatefulSet", name)["spec"]
    claims = {claim["metadata"]["name"] for claim in spec.get("volumeClaimTemplates", [])}
    mounts = {mount["name"] for mount in _statefulset_container(dev, name).get("volumeMounts", [])}
    assert spec["replicas"] == 1
    assert claims
    assert claims <= mounts


def _selects(service: Obj, workload: Obj) -> bool:
    return bool(
        service["spec"]["selector"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_dev_apps_reach_kafka_where_it_advertises_itself(dev: Render, app: App) -> None:
    bootstrap = _app_config(dev, app, "SB_KAFKA_BOOTSTRAP")
    host, port = bootstrap.rsplit(":", 1)
    service = dev.get("Service", host)
    kafka = _statefulset_container(dev, "kafka")
    advertised = {entry["name"]: entry.get("value") for entry in kafka["env"]}["KAFKA_ADVERTISED_LISTENERS"]
    assert _selects(service, dev.get("StatefulSet", "kafka"))
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
    assert f"PLAINTEXT://{bootstrap}" in advertised.split(",")


def test_dev_apps_reach_the_in_cluster_mongo(dev: Render) -> None:
    (secret,) = dev.secrets.values()
    match = re.fullmatch(r"mongodb://([\w.-]+):(\d+)/", secret["SB_MONGODB_URL"])
    assert match, secret["SB_MONGODB_URL"]
    service = dev.get("Service", match.group(1))
    assert _selects(service, dev.get("StatefulSet", "mongo"))
    assert int(match.group(2)) in {p["port"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_dev_runs_in_development_mode(dev: Render, app: App) -> None:
    assert _app_config(dev, app, "SB_ENVIRONMENT") == Environment.DEVELOPMENT.value


def test_dev_secret_values_are_placeholders_production_refuses(dev: Render) -> None:
    # If the development Secret ever meets SB_ENVIRONMENT=production, the services stop instead of running
    # with publicly known tokens. The MongoDB URL is exempt from that check (it need not hold a password).
    (secret,) = dev.secrets.values()
    real = {
        key: value for key, value in secret.items() if key != "SB_MONGODB_URL" and not is_placeholder(value)
    }
    assert real == {}


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_dev_images_are_the_locally_built_dev_tag(dev: Render, app: App) -> None:
    assert _pod_images(dev.pod(app)) == {f"switchboard/{app.name}:dev"}


def test_dev_has_no_autoscaler(dev: Render) -> None:
    assert dev.all("HorizontalPodAutoscaler") == []


# ---------------------------------------------------------------------------------------------------------
# prod overlay


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_prod_runs_in_production_mode(prod: Render, app: App) -> None:
    assert _app_config(prod, app, "SB_ENVIRONMENT") == Environment.PRODUCTION.value


def test_prod_renders_no_secret(prod: Render) -> None:
    # The operator (or an external secrets operator) owns it; applying the overlay must never overwrite it.
    assert prod.all("Secret") == []


def test_prod_contains_none_of_the_development_secret_values(dev: Render, prod: Render) -> None:
    (secret,) = dev.secrets.values()
    leaked = [key for key, value in secret.items() if value and value in prod.text]
    assert leaked == []


def test_prod_runs_no_kafka_or_mongodb_of_its_own(prod: Render) -> None:
    infrastructure = [
        f"{obj['kind']}/{obj['metadata']['name']}"
        for obj in prod.objects
        if obj["kind"] in {"StatefulSet", "PersistentVolumeClaim"}
        or obj["metadata"]["name"] in {"kafka", "mongo", "mongodb"}
    ]
    assert infrastructure == []


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_prod_kafka_is_outside_the_cluster(prod: Render, app: App) -> None:
    hosts = [entry.rsplit(":", 1)[0] for entry in _app_config(prod, app, "SB_KAFKA_BOOTSTRAP").split(",")]
    # In-cluster addresses are a bare Service name or <service>.<namespace>.svc[...]; the overlay's
    # placeholders are outside names the operator replaces.
    in_cluster = [
        host
        for host in hosts
        if "." not in host or ".svc" in host or prod.find("Service", host.split(".")[0]) is not None
    ]
    assert in_cluster == []


def test_prod_images_are_pinned_to_one_release(prod: Render) -> None:
    images = set().union(*(_pod_images(prod.pod(app)) for app in APPS))
    references = {_split_image(image)[1] for image in images}
    assert len(references) == 1, images
    assert references.isdisjoint({"", "latest", "dev"}), images


def test_prod_autoscales_the_ingress_from_three_replicas(prod: Render) -> None:
    spec = prod.get("HorizontalPodAutoscaler", "ingress")["spec"]
    assert (spec["scaleTargetRef"]["kind"], spec["scaleTargetRef"]["name"]) == ("Deployment", "ingress")
    assert spec["minReplicas"] == 3
    assert spec["maxReplicas"] > spec["minReplicas"]


def test_prod_autoscales_the_registry_from_two_replicas(prod: Render) -> None:
    spec = prod.get("HorizontalPodAutoscaler", "registry")["spec"]
    assert (spec["scaleTargetRef"]["kind"], spec["scaleTargetRef"]["name"]) == ("Deployment", "registry")
    assert spec["minReplicas"] == 2
    assert spec["maxReplicas"] > spec["minReplicas"]


def test_prod_secret_keys_are_documented(prod: Render) -> None:
    keys = {
        source.key
        for app in APPS
        for source in _env_sources(prod.container(app), prod).values()
        if source.kind == "secret"
    }
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert {key for key in keys if f"`{key}`" not in docs} == set()
