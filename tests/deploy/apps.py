"""What the deployment tests share: the four services as every deployment names them, the variables each one's
settings read, its Dockerfile's instructions, and the Kafka version deploy/local pins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.settings import IngressSettings
from switchboard_registry.settings import RegistrySettings
from switchboard_shared import telemetry
from switchboard_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class App:
    """One of the four services: compose service, Deployment, Service, container and services/ directory."""

    name: str
    port: int
    settings: type[ServiceSettings]

    @property
    def package(self) -> str:
        return f"switchboard-{self.name}"

    @property
    def module(self) -> str:
        return "switchboard_" + self.name.replace("-", "_")

    @property
    def dockerfile(self) -> Path:
        return ROOT / "services" / self.name / "Dockerfile"


APPS = (
    App("ingress", 8080, IngressSettings),
    App("registry", 8081, RegistrySettings),
    App("ai-responder", 8082, AiResponderSettings),
    App("dispatcher", 8083, DispatcherSettings),
)
APP_IDS = [app.name for app in APPS]


def deploy_local_kafka_version() -> str:
    """The Kafka version `make up` and CI run; compose and the k8s dev overlay must run the same broker."""
    infra = (ROOT / "deploy" / "local" / "infra.sh").read_text()
    pinned = re.search(r"^KAFKA_VERSION=[\"']?([\w.-]+)", infra, re.MULTILINE)
    assert pinned, "deploy/local/infra.sh no longer sets KAFKA_VERSION="
    return pinned.group(1)


# ---------------------------------------------------------------------------------------------------------
# settings: the environment variable each field is read from, and what else a service reads


def _env_name(settings: type[ServiceSettings], name: str, info: FieldInfo) -> str:
    # Shared fields are read from SB_<NAME> whatever the service's prefix (an AliasChoices whose first choice
    # is the variable; the settings' own error messages name it the same way).
    if isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[0]).upper()
    return f"{settings.model_config.get('env_prefix', '')}{name}".upper()


def _is_secret(info: FieldInfo) -> bool:
    return SecretStr in (info.annotation, *get_args(info.annotation))


def settings_env(settings: type[ServiceSettings]) -> set[str]:
    """Every variable the settings class reads, upper-cased (pydantic-settings matches case-insensitively)."""
    return {_env_name(settings, name, info) for name, info in settings.model_fields.items()}


def accepted_env(settings: type[ServiceSettings]) -> set[str]:
    """What a deployment may pass the service: its settings' variables and the ``OTEL_*`` variables tracing
    honours (``telemetry.VARIABLES``, read by the OpenTelemetry set-up rather than by the settings)."""
    return settings_env(settings) | telemetry.VARIABLES


def secret_env(settings: type[ServiceSettings]) -> set[str]:
    return {
        _env_name(settings, name, info) for name, info in settings.model_fields.items() if _is_secret(info)
    }


def required_secret_env(settings: type[ServiceSettings]) -> set[str]:
    """The secret variables production refuses to start without (``optional_secrets`` left out)."""
    return {
        _env_name(settings, name, info)
        for name, info in settings.model_fields.items()
        if _is_secret(info) and name not in settings.optional_secrets
    }


# ---------------------------------------------------------------------------------------------------------
# Dockerfiles, read as text: their instructions are simple enough that a line parser states the checks more
# plainly than a full Dockerfile parser would.


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, backslash continuations joined."""
    logical: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(keyword.upper(), rest.strip()) for keyword, _, rest in (line.partition(" ") for line in logical)]


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """The instructions of the image that ships: from the last FROM on."""
    parsed = instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(parsed) if keyword == "FROM")
    return parsed[last_from:]


def image_user(dockerfile: Path) -> str | None:
    """The USER the shipped image runs as, or None when its final stage sets none (root)."""
    users = [args for keyword, args in final_stage(dockerfile) if keyword == "USER"]
    return users[-1] if users else None
