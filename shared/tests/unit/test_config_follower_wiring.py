"""ConfigFollower.for_service: the follower a service builds from its settings, and its readiness probe."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from switchboard_platform.api_keys import ApiKeyView
from switchboard_platform.config_follower import ConfigFollower
from switchboard_platform.settings import ConfigFollowerSettings, Environment


class ExampleSettings(ConfigFollowerSettings):
    model_config = SettingsConfigDict(
        env_prefix="SB_EXAMPLE_", extra="ignore", populate_by_name=True, frozen=True
    )


def test_the_catch_up_timeout_is_read_with_the_services_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ExampleSettings(environment=Environment.TEST).config_catch_up_timeout_s == 60.0
    monkeypatch.setenv("SB_EXAMPLE_CONFIG_CATCH_UP_TIMEOUT_S", "12.5")
    assert ExampleSettings(environment=Environment.TEST).config_catch_up_timeout_s == 12.5


async def test_for_service_follows_the_namespaced_config_topic_with_the_services_client_id() -> None:
    settings = ExampleSettings(
        environment=Environment.TEST,
        kafka_bootstrap="kafka:9092",
        topic_namespace="t1.",
        config_catch_up_timeout_s=7,
    )
    follower = ConfigFollower.for_service(settings, "example", ApiKeyView())
    assert (follower.bootstrap, follower.topic, follower.client_id, follower.catch_up_timeout_s) == (
        "kafka:9092",
        "t1.switchboard.config",
        "switchboard-example-config",
        7.0,
    )
    assert await follower.ready() is False
    follower.caught_up.set()
    assert await follower.ready() is True
