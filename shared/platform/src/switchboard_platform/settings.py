"""Settings every service shares. Each service subclasses ``ServiceSettings`` with its own ``env_prefix``.

Infrastructure addresses are read from the same variables by every service (``SB_KAFKA_BOOTSTRAP``,
``SB_MONGODB_URL``, ``SB_TOPIC_NAMESPACE``, ``SB_ENVIRONMENT``) so one environment file configures them all;
service-specific settings use the service's prefix (``SB_REGISTRY_ADMIN_TOKEN``). In production, secrets that
are empty or look like placeholders, development-only switches that are on (``SB_REGISTRY_ALLOW_LOOPBACK_URLS``),
and extra partner modules (``SB_EXTRA_PARTNERS``) stop the service at start with a message naming the variable.
"""

from __future__ import annotations

import base64
import hashlib
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchboard_contracts.topics import Topic, topic_name
from switchboard_platform.secrets_box import SecretsBox

if TYPE_CHECKING:
    from switchboard_contracts.partners.base import Partner

_PLACEHOLDERS = frozenset({"", "changeme", "change-me", "changethis", "secret", "dev", "development", "test"})
#: Publicly known; used only when SB_SECRETS_KEY is unset outside production.
DEVELOPMENT_SECRETS_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"switchboard development only").digest()
).decode()
#: Code defaults for local use start with this; production refuses them like any other placeholder.
DEV_DEFAULT_PREFIX = "dev-"


def is_placeholder(value: str) -> bool:
    normalized = value.strip().lower()
    return normalized in _PLACEHOLDERS or normalized.startswith(DEV_DEFAULT_PREFIX)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _shared(name: str, default: Any, description: str) -> Any:
    """A field read from ``SB_<NAME>`` whatever the service's prefix, and settable by name in code."""
    return Field(
        default=default,
        validation_alias=AliasChoices(f"SB_{name.upper()}", name),
        description=f"{description} (env SB_{name.upper()})",
    )


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SB_", extra="ignore", populate_by_name=True, frozen=True)

    environment: Environment = _shared(
        "environment", Environment.PRODUCTION, "development and test relax secret and URL checks"
    )
    kafka_bootstrap: str = _shared("kafka_bootstrap", "127.0.0.1:9092", "Kafka bootstrap servers")
    mongodb_url: SecretStr = _shared(
        "mongodb_url", SecretStr("mongodb://127.0.0.1:27017/"), "MongoDB connection string"
    )
    topic_namespace: str = _shared(
        "topic_namespace", "", "prefix for topic and consumer-group names (isolates test runs)"
    )
    log_level: str = _shared("log_level", "INFO", "root log level")
    resolve_overrides: dict[str, str] = _shared(
        "resolve_overrides",
        {},
        'host → IP answers used before DNS, as JSON ({"example.com": "127.0.0.1"}); for tests and air-gapped sites',
    )
    secrets_key: SecretStr = _shared(
        "secrets_key",
        SecretStr(""),
        "Fernet key(s), comma-separated newest first, encrypting stored secrets; required in production",
    )
    extra_partners: tuple[str, ...] = _shared(
        "extra_partners",
        (),
        'module paths of partners to register besides the built-in ones, as JSON (["tests.e2e.fake_partner"]), '
        "each module defining PARTNER; development and test only",
    )

    #: Names of SecretStr fields that may legitimately be empty (feature disabled when unset).
    optional_secrets: ClassVar[frozenset[str]] = frozenset()
    #: Boolean switches that open a hole only a development installation may have (field → what it allows):
    #: production refuses to start with one of them on.
    development_only: ClassVar[dict[str, str]] = {}

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def secrets_box(self) -> SecretsBox:
        """The encryption box for stored secrets. Outside production an unset key falls back to a fixed,
        public development key, so local data is readable across restarts but never safe."""
        keys = [key.strip() for key in self.secrets_key.get_secret_value().split(",") if key.strip()]
        return SecretsBox(keys or [DEVELOPMENT_SECRETS_KEY])

    def partners(self) -> tuple[Partner, ...]:
        """Every partner this service serves: the built-in ones, then those ``SB_EXTRA_PARTNERS`` names (which
        production refuses, so a deployment runs only the partners it ships)."""
        from switchboard_contracts import partners

        partners.load(self.extra_partners)
        return partners.registered()

    def topic(self, topic: Topic) -> str:
        return topic_name(topic, self.topic_namespace)

    def group_id(self, service: str, purpose: str) -> str:
        """Consumer-group id; namespaced like topics so test runs never share offsets."""
        return f"{self.topic_namespace}switchboard.{service}.{purpose}"

    @classmethod
    def env_name(cls, name: str) -> str:
        """The environment variable a field is read from (``SB_REGISTRY_ADMIN_TOKEN``, ``SB_ENVIRONMENT``)."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return f"{cls.model_config.get('env_prefix', 'SB_')}{name}".upper()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if not self.is_production:
            return self
        for name in type(self).model_fields:
            value = getattr(self, name)
            if not isinstance(value, SecretStr) or name in self.optional_secrets or name == "mongodb_url":
                continue
            if is_placeholder(value.get_secret_value()):
                raise ValueError(
                    f"{self.env_name(name)} must be set to a real secret in production (it is empty or a "
                    "placeholder); set SB_ENVIRONMENT=development for local use"
                )
        return self

    @model_validator(mode="after")
    def _refuse_extra_partners(self) -> Self:
        if self.is_production and self.extra_partners:
            # The variable names modules to import: in production that would run code chosen by whoever sets
            # the environment, outside the image's reviewed partners.
            raise ValueError(
                "SB_EXTRA_PARTNERS is refused in production: it imports the modules it names; ship a partner as a "
                "module of switchboard_contracts.partners instead, or set SB_ENVIRONMENT=development for local use"
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_switches(self) -> Self:
        if not self.is_production:
            return self
        for name, allows in self.development_only.items():
            if getattr(self, name):
                raise ValueError(
                    f"{self.env_name(name)}=true is refused in production: it allows {allows}, which only a "
                    "development installation may do; unset it, or set SB_ENVIRONMENT=development for local use"
                )
        return self


class ConfigFollowerSettings(ServiceSettings):
    """Settings of a service that keeps a view of the config topic (``ConfigFollower.for_service``).

    The field has no alias, so it is read with the service's own prefix
    (``SB_INGRESS_CONFIG_CATCH_UP_TIMEOUT_S``, ``SB_DISPATCHER_…``, ``SB_AI_RESPONDER_…``)."""

    config_catch_up_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Start-up wait for the config view (integrations, endpoints, API keys) to catch up with "
        "the config topic",
    )
