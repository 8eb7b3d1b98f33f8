"""The container deployment files: docker-compose.yml and the one Dockerfile, checked without an engine.

``docker-compose config`` (Debian's v1.29 package) or the ``docker compose`` v2 plugin validates the compose
file against its schema, resolves anchors and ``${VAR:-default}`` interpolation exactly as ``up`` would, and
prints the result; the compose tests assert on that output rather than on our own reading of the YAML.
The Dockerfile is read as text (``apps.instructions``).
"""

from __future__ import annotations

import contextlib
import http.server
import importlib
import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict
from uvicorn.main import main as uvicorn_cli

from switchboard_platform.settings import Environment, ServiceSettings

from .apps import (
    APP_IDS,
    APPS,
    DOCKERFILE,
    ROOT,
    App,
    accepted_env,
    deploy_local_kafka_version,
    final_stage,
    final_stage_args,
    image_env,
    image_instruction,
    image_user,
    instructions,
    required_secret_env,
    secret_env,
)

pytestmark = pytest.mark.deploy

COMPOSE_FILE = ROOT / "docker-compose.yml"
INSTALL_HINT = "no compose binary: run `apt-get update && apt-get install -y docker-compose`"
INFRASTRUCTURE = ("kafka", "mongo")
TOPICS_JOB = "topics"
LONG_RUNNING = (*INFRASTRUCTURE, *APP_IDS)
#: `docker compose --profile observe`: traces, metrics with the alert rules, the dashboard.
OBSERVE = ("jaeger", "prometheus", "grafana")
OBSERVABILITY = ROOT / "deploy" / "observability"


# ---------------------------------------------------------------------------------------------------------
# compose config, normalised over the v1 (YAML, short syntax) and v2 (long syntax) output shapes


def _compose_command(env_file: Path) -> list[str]:
    # With the observe profile, so v1 (which lists every service anyway) and v2 (which lists only the active
    # profiles' services) print the same services; each service's `profiles` says which it needs.
    options = ["--env-file", str(env_file), "-f", str(COMPOSE_FILE), "--profile", "observe", "config"]
    v1 = shutil.which("docker-compose")
    if v1 is not None:
        return [v1, *options]
    docker = shutil.which("docker")
    if docker is not None:
        # S603: fixed argv of an executable resolved by shutil.which, no shell and no outside input.
        probe = subprocess.run(  # noqa: S603
            [docker, "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose", *options]
    pytest.fail(INSTALL_HINT)


def _resolve(directory: Path, env_file_text: str) -> dict[str, Any]:
    """The compose file as the compose tool resolves it, with ``env_file_text`` as its env file and every other
    ``${VAR:-default}`` at its default."""
    # The env file and an environment without SB_* / SWITCHBOARD_* / OTEL_* variables: the developer's shell
    # (or a `make` recipe exporting SB_KAFKA_BOOTSTRAP) must not change what these tests see.
    env_file = directory / "test.env"
    env_file.write_text(env_file_text)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SB_", "SWITCHBOARD_", "COMPOSE_", "OTEL_"))
    }
    # S603: argv built from shutil.which results and fixed options; no shell, no outside input.
    result = subprocess.run(  # noqa: S603
        _compose_command(env_file),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    if result.returncode != 0:
        pytest.fail(f"compose config rejected docker-compose.yml:\n{result.stderr}")
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file at its development defaults."""
    return _resolve(tmp_path_factory.mktemp("compose"), "")


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as `OTEL_TRACES_EXPORTER=otlp docker compose --profile observe up` runs it."""
    return _resolve(tmp_path_factory.mktemp("compose-traced"), "OTEL_TRACES_EXPORTER=otlp\n")


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _healthcheck_command(service: dict[str, Any]) -> list[str] | None:
    """The healthcheck's test as an argv, or None when there is none or it is disabled."""
    healthcheck = service.get("healthcheck") or {}
    if healthcheck.get("disable") is True:  # v2 spelling
        return None
    test = healthcheck.get("test")
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    if not test or test[0] == "NONE":  # v1 turns `disable: true` into ["NONE"]
        return None
    return [str(part) for part in test]


def _dependencies(service: dict[str, Any]) -> dict[str, str]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):  # short syntax: started, not healthy
        return dict.fromkeys(depends_on, "service_started")
    return {name: str(spec.get("condition", "service_started")) for name, spec in depends_on.items()}


def _ports(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host ip, published, target) for every port; host ip "" means every interface."""
    ports: list[tuple[str, str, str]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):  # v2 long syntax
            ports.append(
                (str(entry.get("host_ip", "")), str(entry.get("published", "")), str(entry["target"]))
            )
            continue
        # v1 short syntax "127.0.0.1:8080:8080/tcp", "8080:8080" or "8080"; rsplit keeps an IPv6 host whole
        parts = str(entry).split("/", 1)[0].rsplit(":", 2)
        host_ip, published, target = ["", "", *parts][-3:]
        ports.append((host_ip.strip("[]"), published, target))
    return ports


# ---------------------------------------------------------------------------------------------------------
# compose: shape


def test_compose_defines_infrastructure_topics_job_and_the_four_services(compose: dict[str, Any]) -> None:
    default = {name for name, service in compose["services"].items() if not service.get("profiles")}
    assert default == {*INFRASTRUCTURE, TOPICS_JOB, *APP_IDS}


def test_the_observe_profile_adds_tracing_metrics_and_dashboards(compose: dict[str, Any]) -> None:
    profiled = {
        name: service.get("profiles")
        for name, service in compose["services"].items()
        if service.get("profiles")
    }
    assert profiled == {name: ["observe"] for name in OBSERVE}


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_a_healthcheck(compose: dict[str, Any], name: str) -> None:
    assert _healthcheck_command(_service(compose, name)), f"{name} has no healthcheck"


def test_topics_job_disables_the_image_healthcheck_it_cannot_pass(compose: dict[str, Any]) -> None:
    # The job reuses the registry image, whose HEALTHCHECK probes an HTTP port the job never opens.
    assert _healthcheck_command(_service(compose, TOPICS_JOB)) is None


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_healthcheck_probes_healthz_on_its_own_port(compose: dict[str, Any], app: App) -> None:
    command = " ".join(_healthcheck_command(_service(compose, app.name)) or [])
    assert f"http://127.0.0.1:{app.port}/healthz" in command


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_starts_after_healthy_infrastructure_and_created_topics(
    compose: dict[str, Any], app: App
) -> None:
    assert _dependencies(_service(compose, app.name)) == {
        "kafka": "service_healthy",
        "mongo": "service_healthy",
        TOPICS_JOB: "service_completed_successfully",
    }


def test_topics_job_waits_for_a_healthy_kafka(compose: dict[str, Any]) -> None:
    assert _dependencies(_service(compose, TOPICS_JOB)) == {"kafka": "service_healthy"}


def test_topics_job_ensures_topics_on_the_internal_listener(compose: dict[str, Any]) -> None:
    command = [str(part) for part in _service(compose, TOPICS_JOB)["command"]]
    assert command == [
        "python",
        "-m",
        "switchboard_platform.kafka_admin",
        "ensure-topics",
        "--bootstrap",
        "kafka:19092",
    ]


def test_topics_job_is_never_restarted(compose: dict[str, Any]) -> None:
    # A restart policy on a one-shot would re-run it forever and it would never count as completed.
    assert str(_service(compose, TOPICS_JOB).get("restart", "no")) == "no"


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_is_built_from_the_one_dockerfile_with_the_workspace_as_context(
    compose: dict[str, Any], app: App
) -> None:
    build = _service(compose, app.name)["build"]
    assert (
        Path(build["context"]).resolve(),
        (ROOT / build["dockerfile"]).resolve(),
        _build_args(_service(compose, app.name)),
    ) == (
        ROOT,
        DOCKERFILE,
        app.build_args,
    )


# ---------------------------------------------------------------------------------------------------------
# compose: exposure and hardening


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, TOPICS_JOB, *APP_IDS, *OBSERVE])
def test_published_ports_bind_to_loopback_only(compose: dict[str, Any], name: str) -> None:
    exposed = [port for port in _ports(_service(compose, name)) if port[0] != "127.0.0.1"]
    assert exposed == [], f"{name} publishes beyond 127.0.0.1: {exposed}"


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_publishes_its_port_on_the_same_host_port(compose: dict[str, Any], app: App) -> None:
    assert _ports(_service(compose, app.name)) == [("127.0.0.1", str(app.port), str(app.port))]


@pytest.mark.parametrize("name", [TOPICS_JOB, *APP_IDS])
def test_switchboard_container_has_a_read_only_root_filesystem(compose: dict[str, Any], name: str) -> None:
    assert _service(compose, name).get("read_only") is True


@pytest.mark.parametrize("name", [TOPICS_JOB, *APP_IDS])
def test_switchboard_container_has_a_writable_tmpfs_tmp(compose: dict[str, Any], name: str) -> None:
    tmpfs = _service(compose, name).get("tmpfs") or []
    mounts = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    # S108: "/tmp" is the container mount path being compared, not a temporary file this test uses.
    assert any(str(mount).split(":", 1)[0] == "/tmp" for mount in mounts)  # noqa: S108


@pytest.mark.parametrize("name", [TOPICS_JOB, *APP_IDS])
def test_switchboard_container_drops_all_capabilities(compose: dict[str, Any], name: str) -> None:
    assert _service(compose, name).get("cap_drop") == ["ALL"]


@pytest.mark.parametrize("name", [TOPICS_JOB, *APP_IDS])
def test_switchboard_container_cannot_gain_privileges(compose: dict[str, Any], name: str) -> None:
    assert "no-new-privileges:true" in (_service(compose, name).get("security_opt") or [])


# ---------------------------------------------------------------------------------------------------------
# compose: configuration


def test_kafka_image_matches_the_version_deploy_local_runs(compose: dict[str, Any]) -> None:
    # `make up` and CI test against deploy/local's Kafka; compose users must get the same broker.
    assert _service(compose, "kafka")["image"] == f"apache/kafka:{deploy_local_kafka_version()}"


def test_kafka_advertises_the_compose_network_and_host_listeners(compose: dict[str, Any]) -> None:
    advertised = str(_service(compose, "kafka")["environment"]["KAFKA_ADVERTISED_LISTENERS"]).split(",")
    assert sorted(advertised) == ["PLAINTEXT://kafka:19092", "PLAINTEXT_HOST://localhost:9092"]


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_reaches_infrastructure_by_compose_service_name(compose: dict[str, Any], app: App) -> None:
    environment = _service(compose, app.name)["environment"]
    assert (environment["SB_KAFKA_BOOTSTRAP"], environment["SB_MONGODB_URL"]) == (
        "kafka:19092",
        "mongodb://mongo:27017/",
    )


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_runs_in_development_mode_by_default(compose: dict[str, Any], app: App) -> None:
    assert _service(compose, app.name)["environment"]["SB_ENVIRONMENT"] == Environment.DEVELOPMENT.value


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_gets_only_variables_its_settings_or_tracing_read(compose: dict[str, Any], app: App) -> None:
    # A misspelt or another service's variable would be ignored silently (extra="ignore"); the OTEL_* ones are
    # those the telemetry module honours.
    assert set(_service(compose, app.name)["environment"]) - accepted_env(app.settings) == set()


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_passes_every_secret_its_settings_declare(compose: dict[str, Any], app: App) -> None:
    # A secret compose does not pass through cannot be set without editing this file, and production refuses
    # to start without it.
    assert required_secret_env(app.settings) <= set(_service(compose, app.name)["environment"])


class _TokenSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SB_DEPLOY_TEST_")
    token: SecretStr


def _refused_in_production(value: str) -> bool:
    """Whether production settings refuse ``value`` as a secret. The shared SB_SECRETS_KEY gets a real value,
    so a refusal can only be this one's."""
    try:
        _TokenSettings(
            environment=Environment.PRODUCTION,
            secrets_key=SecretStr("deploy-test-real-key"),
            token=SecretStr(value),
        )
    except ValidationError as error:
        return "SB_DEPLOY_TEST_TOKEN must be set to a real secret" in str(error)
    return False


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_secret_defaults_are_refused_in_production(compose: dict[str, Any], app: App) -> None:
    # Compose's dev defaults must be ones the settings treat as placeholders, so forgetting to set a real
    # secret with SB_ENVIRONMENT=production stops the service instead of running with a public one. The
    # MongoDB URL is exempt (it need not hold a password).
    environment = _service(compose, app.name)["environment"]
    accepted = {
        variable: environment[variable]
        for variable in (secret_env(app.settings) - {"SB_MONGODB_URL"}) & set(environment)
        if not _refused_in_production(str(environment[variable]))
    }
    assert accepted == {}


# ---------------------------------------------------------------------------------------------------------
# The Dockerfile


def test_dockerfile_is_a_multi_stage_build() -> None:
    stages = [args for keyword, args in instructions(DOCKERFILE) if keyword == "FROM"]
    assert len(stages) >= 2, stages


def test_dockerfile_runs_as_the_non_root_uid_10001() -> None:
    assert image_user(DOCKERFILE) == "10001"


def test_dockerfile_installs_only_the_chosen_service_from_the_lock_file() -> None:
    syncs = [args for keyword, args in instructions(DOCKERFILE) if keyword == "RUN" and "uv sync" in args]
    assert syncs, "no uv sync"
    assert all("--locked" in args and "--package switchboard-${SERVICE}" in args for args in syncs), syncs


def test_dockerfile_runtime_stage_copies_only_the_venv() -> None:
    copies = [args for keyword, args in final_stage(DOCKERFILE) if keyword in {"COPY", "ADD"}]
    assert copies == ["--from=builder /app/.venv /app/.venv"]


def test_dockerfile_build_args_are_the_ones_compose_passes(compose: dict[str, Any]) -> None:
    declared = {args.partition("=")[0] for keyword, args in instructions(DOCKERFILE) if keyword == "ARG"}
    passed = {name for app in APPS for name in _build_args(_service(compose, app.name))}
    assert declared == passed == final_stage_args(DOCKERFILE)


def test_every_service_of_the_workspace_is_built_by_compose(compose: dict[str, Any]) -> None:
    workspace = {path.parent.name for path in (ROOT / "services").glob("*/pyproject.toml")}
    built = {_build_args(_service(compose, app.name))["SERVICE"] for app in APPS}
    assert built == workspace


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_build_args_name_the_services_workspace_package_and_module(compose: dict[str, Any], app: App) -> None:
    args = _build_args(_service(compose, app.name))
    pyproject = tomllib.loads((ROOT / "services" / args["SERVICE"] / "pyproject.toml").read_text())
    main = importlib.import_module(f"{args['MODULE']}.main")
    assert (pyproject["project"]["name"], args["PORT"]) == (f"switchboard-{args['SERVICE']}", str(app.port))
    assert Path(str(main.__file__)).is_relative_to(ROOT / "services" / args["SERVICE"] / "src")
    assert callable(main.create_app)


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_image_serves_the_app_factory_on_the_compose_port(monkeypatch: pytest.MonkeyPatch, app: App) -> None:
    # The exec-form CMD expands nothing: uvicorn's own CLI reads the app, host and port from the image's
    # UVICORN_* variables, parsed here by that CLI exactly as `uvicorn` in the container would.
    assert json.loads(dict(final_stage(DOCKERFILE))["CMD"]) == ["uvicorn"]
    for name in [name for name in os.environ if name.startswith("UVICORN_")]:
        monkeypatch.delenv(name)
    for name, value in image_env(DOCKERFILE, app.build_args).items():
        if name.startswith("UVICORN_"):
            monkeypatch.setenv(name, value)
    params = uvicorn_cli.make_context("uvicorn", []).params
    assert (params["app"], params["factory"], params["host"], params["port"]) == (
        f"{app.module}.main:create_app",
        True,
        "0.0.0.0",  # the container's address; compose and k8s publish it
        app.port,
    )
    assert image_instruction(DOCKERFILE, "EXPOSE", app.build_args) == str(app.port)
    assert image_instruction(DOCKERFILE, "LABEL", app.build_args).endswith(f'"{app.package}"')


def test_image_healthcheck_probes_healthz_on_the_images_port() -> None:
    healthcheck = dict(final_stage(DOCKERFILE))["HEALTHCHECK"]
    argv = json.loads(healthcheck.partition(" CMD ")[2])
    # Run the probe as the container would, against a loopback server answering /healthz only.
    with _healthz_server() as port:
        env = {**os.environ, "UVICORN_PORT": str(port)}
        # S603: the Dockerfile's own probe argv with this interpreter; no shell.
        ok = subprocess.run([sys.executable, *argv[1:]], env=env, check=False, timeout=30)  # noqa: S603
    with _healthz_server(status=503) as port:
        env = {**os.environ, "UVICORN_PORT": str(port)}
        failing = subprocess.run(  # noqa: S603
            [sys.executable, *argv[1:]], env=env, capture_output=True, check=False, timeout=30
        )
    assert (argv[0], ok.returncode, failing.returncode) == ("python", 0, 1)


def _build_args(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's build args (v1 prints a mapping; the long syntax may be a KEY=VALUE list)."""
    args = service["build"].get("args") or {}
    if isinstance(args, list):
        return dict(str(item).partition("=")[::2] for item in args)
    return {str(name): str(value) for name, value in args.items()}


@contextlib.contextmanager
def _healthz_server(status: int = 200) -> Iterator[int]:
    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # the base's signature
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_dockerignore_keeps_local_environments_and_git_out_of_the_context() -> None:
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", "**/.venv", ".run"} <= patterns


# ---------------------------------------------------------------------------------------------------------
# compose: the observe profile


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts (v1 short syntax or v2 long syntax)."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts[str(volume["target"])] = Path(str(volume["source"]))
            continue
        source, target, *_ = str(volume).split(":")
        if source.startswith("/"):
            mounts[target] = Path(source)
    return mounts


def _mounted(service: dict[str, Any], container_path: str) -> Path:
    """The host file a container path of the service reads, through whichever bind mount holds it."""
    for target, source in _mounts(service).items():
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / Path(container_path).relative_to(target)
    raise AssertionError(f"nothing is mounted at {container_path}")


def test_prometheus_reads_the_repositorys_config_and_rules(compose: dict[str, Any]) -> None:
    prometheus = _service(compose, "prometheus")
    (config_flag,) = [arg for arg in prometheus["command"] if str(arg).startswith("--config.file=")]
    config_path = _mounted(prometheus, str(config_flag).split("=", 1)[1])
    config = yaml.safe_load(config_path.read_text())
    assert config_path.resolve() == (OBSERVABILITY / "prometheus" / "prometheus.yml").resolve()
    assert [(config_path.parent / rules).resolve() for rules in config["rule_files"]] == [
        (OBSERVABILITY / "prometheus" / "rules.yml").resolve()
    ]


def test_prometheus_scrapes_each_service_as_a_job_of_its_name(compose: dict[str, Any]) -> None:
    # The alert rules and the dashboard select on job="<service>".
    config = yaml.safe_load((OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert jobs == {app.name: [f"{app.name}:{app.port}"] for app in APPS}
    assert set(jobs) <= set(compose["services"])


def test_promtool_accepts_the_prometheus_config_and_its_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("no promtool: run `make tools` (apt-get install prometheus)")
    # S603: promtool from shutil.which, a file of this repository; no shell, no outside input.
    result = subprocess.run(  # noqa: S603
        [promtool, "check", "config", str(OBSERVABILITY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_grafana_provisions_the_dashboard_on_the_compose_prometheus(compose: dict[str, Any]) -> None:
    grafana = _service(compose, "grafana")
    provisioning = _mounted(grafana, "/etc/grafana/provisioning")
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "switchboard.yml").read_text())["providers"]
    dashboards = _mounted(grafana, provider["options"]["path"])
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert dashboards.resolve() == (OBSERVABILITY / "grafana" / "dashboards").resolve()
    assert (dashboards / "switchboard.json").is_file()
    assert datasource["url"] == "http://prometheus:9090"
    assert _dependencies(grafana) == {"prometheus": "service_healthy"}


# ---------------------------------------------------------------------------------------------------------
# compose: tracing into the observe profile's Jaeger

#: Jaeger's OTLP receivers: 4317 is gRPC, which the services refuse; 4318 is OTLP/HTTP.
JAEGER_OTLP_HTTP = "http://jaeger:4318"


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_traces_nothing_by_default(compose: dict[str, Any], app: App) -> None:
    assert _service(compose, app.name)["environment"]["OTEL_TRACES_EXPORTER"] == "none"


@pytest.mark.parametrize("app", APPS, ids=APP_IDS)
def test_app_asked_to_trace_exports_to_jaegers_otlp_http_port(traced: dict[str, Any], app: App) -> None:
    environment = _service(traced, app.name)["environment"]
    assert "jaeger" in traced["services"]
    assert (environment["OTEL_TRACES_EXPORTER"], environment["OTEL_EXPORTER_OTLP_ENDPOINT"]) == (
        "otlp",
        JAEGER_OTLP_HTTP,
    )
    # The services speak only OTLP/HTTP: a protocol set here must be that one (gRPC stops them at start).
    assert environment.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") == "http/protobuf"
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" not in environment
