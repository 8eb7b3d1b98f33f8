"""What the deployment tests share: the four services as every deployment names them, the variables each one's
settings read, the one Dockerfile's instructions, and the Kafka version deploy/local pins."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.settings import IngressSettings
from switchboard_platform import telemetry
from switchboard_platform.settings import ServiceSettings
from switchboard_registry.settings import RegistrySettings

ROOT = Path(__file__).resolve().parents[2]
#: Every service's image is built from this one file, chosen by the build args (``App.build_args``).
DOCKERFILE = ROOT / "Dockerfile"


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
    def build_args(self) -> dict[str, str]:
        """The build args that make the one Dockerfile this service's image."""
        return {"SERVICE": self.name, "MODULE": self.module, "PORT": str(self.port)}


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
# The Dockerfile, read as text: its instructions are simple enough that a line parser states the checks more
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


def final_stage_args(dockerfile: Path) -> set[str]:
    """The build args the shipped image declares (an ARG is in scope only in the stage that declares it)."""
    return {args.partition("=")[0] for keyword, args in final_stage(dockerfile) if keyword == "ARG"}


def _expand(value: str, variables: dict[str, str]) -> str:
    """Docker's ``$NAME`` / ``${NAME}`` substitution; names it does not know are left as written."""
    return re.sub(
        r"\$(?:\{(\w+)\}|(\w+))",
        lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
        value,
    )


def image_env(dockerfile: Path, build_args: dict[str, str]) -> dict[str, str]:
    """The environment the shipped image sets, its ENV values expanded with the build args its stage declares."""
    declared = {name: build_args.get(name, "") for name in final_stage_args(dockerfile)}
    env: dict[str, str] = {}
    for keyword, args in final_stage(dockerfile):
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = _expand(value, {**declared, **env})
    return env


def image_instruction(dockerfile: Path, keyword: str, build_args: dict[str, str]) -> str:
    """One instruction of the shipped image as Docker expands it with the build args (CMD: not at all)."""
    declared = {name: build_args.get(name, "") for name in final_stage_args(dockerfile)}
    value = dict(final_stage(dockerfile))[keyword]
    return value if keyword in {"CMD", "HEALTHCHECK"} else _expand(value, declared)


def image_user(dockerfile: Path) -> str | None:
    """The USER the shipped image runs as, or None when its final stage sets none (root)."""
    users = [args for keyword, args in final_stage(dockerfile) if keyword == "USER"]
    return users[-1] if users else None
