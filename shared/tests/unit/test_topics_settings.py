from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from switchboard_contracts.topics import TOPIC_SPECS, Topic
from switchboard_platform.secrets_box import SecretsBox
from switchboard_platform.settings import DEVELOPMENT_SECRETS_KEY, Environment, ServiceSettings


def test_every_topic_has_a_spec() -> None:
    assert {spec.topic for spec in TOPIC_SPECS} == set(Topic)


def test_the_config_topic_is_compacted() -> None:
    spec = next(spec for spec in TOPIC_SPECS if spec.topic is Topic.CONFIG)
    assert spec.broker_configs()["cleanup.policy"] == "compact"


def test_namespace_prefixes_topics_and_groups() -> None:
    settings = ServiceSettings(topic_namespace="t1.", environment=Environment.TEST)
    assert settings.topic(Topic.PLATFORM_EVENTS) == "t1.platform.events"
    assert settings.group_id("registry", "event-log") == "t1.switchboard.registry.event-log"


class _Demo(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_DEMO_", extra="ignore", populate_by_name=True, frozen=True
    )
    token: SecretStr = Field(default=SecretStr("changeme"))


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_SECRETS_KEY", SecretsBox.generate_key())
    return monkeypatch


def test_production_requires_an_encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "production")
    monkeypatch.setenv("SB_DEMO_TOKEN", "9f2c1e7a0b5d4c3e8a6f1b2d")
    monkeypatch.delenv("SB_SECRETS_KEY", raising=False)
    with pytest.raises(ValueError, match="SB_SECRETS_KEY"):
        _Demo()


def test_outside_production_an_unset_key_falls_back_to_the_development_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SB_SECRETS_KEY", raising=False)
    box = ServiceSettings(environment=Environment.TEST).secrets_box()
    # Encrypted under the fixed development key, so local data stays readable across restarts.
    assert SecretsBox([DEVELOPMENT_SECRETS_KEY]).decrypt(box.encrypt("x")) == "x"


def test_production_refuses_placeholder_secrets_naming_the_variable(production: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="SB_DEMO_TOKEN") as caught:
        _Demo()
    assert "changeme" not in str(caught.value)


def test_development_accepts_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", "development")
    assert _Demo().token.get_secret_value() == "changeme"


def test_shared_variables_are_read_without_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_KAFKA_BOOTSTRAP", "kafka.example:9092")
    monkeypatch.setenv("SB_ENVIRONMENT", "test")
    assert _Demo().kafka_bootstrap == "kafka.example:9092"


class _WithDevDefault(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_DEMO_", extra="ignore", populate_by_name=True, frozen=True
    )
    token: SecretStr = Field(default=SecretStr("dev-demo-token"))


def test_production_refuses_the_code_default_dev_token(production: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="SB_DEMO_TOKEN"):
        _WithDevDefault()


def test_production_accepts_a_real_secret(production: pytest.MonkeyPatch) -> None:
    production.setenv("SB_DEMO_TOKEN", "9f2c1e7a0b5d4c3e8a6f1b2d")
    assert _WithDevDefault().token.get_secret_value() == "9f2c1e7a0b5d4c3e8a6f1b2d"


class _WithSwitch(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_DEMO_", extra="ignore", populate_by_name=True, frozen=True
    )
    development_only: ClassVar[dict[str, str]] = {"allow_loopback_urls": "URLs on loopback"}
    allow_loopback_urls: bool = False


def test_production_refuses_a_development_only_switch_naming_the_variable(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("SB_DEMO_ALLOW_LOOPBACK_URLS", "true")
    with pytest.raises(
        ValueError, match="SB_DEMO_ALLOW_LOOPBACK_URLS=true is refused in production"
    ) as caught:
        _WithSwitch()
    assert "URLs on loopback" in str(caught.value)


def test_production_starts_with_the_switch_off(production: pytest.MonkeyPatch) -> None:
    assert _WithSwitch().allow_loopback_urls is False


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_may_switch_it_on(monkeypatch: pytest.MonkeyPatch, environment: str) -> None:
    monkeypatch.setenv("SB_ENVIRONMENT", environment)
    monkeypatch.setenv("SB_DEMO_ALLOW_LOOPBACK_URLS", "true")
    assert _WithSwitch().allow_loopback_urls is True
