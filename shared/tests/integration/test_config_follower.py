"""ConfigFollower against the real broker: catch-up before start() returns, then live changes, each record
parsed once into its entity's model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from switchboard_contracts.config_records import (
    ApiKeyConfig,
    ConfigChanged,
    ConfigRecord,
    Entity,
    WebhookConfig,
)
from switchboard_contracts.topics import Topic, topic_name
from switchboard_platform.config_follower import ConfigFollower
from switchboard_testing.builders import config_record
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually

Applied = tuple[str, str, int | None, ConfigRecord | None]


class Recorder:
    """A view of webhooks and API keys that records what it is given."""

    entities: frozenset[Entity] = frozenset({"webhook", "api_key"})

    def __init__(self) -> None:
        self.applied: list[Applied] = []

    def apply(self, entity: Entity, entity_id: str, version: int | None, record: ConfigRecord | None) -> bool:
        self.applied.append((entity, entity_id, version, record))
        return True

    def of(self, entity_id: str) -> list[Applied]:
        return [entry for entry in self.applied if entry[1] == entity_id]


@pytest.fixture
def topic(kafka_topics: str) -> str:
    return topic_name(Topic.CONFIG, kafka_topics)


@pytest.fixture
async def producer(infra: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def follower(infra: Infrastructure, topic: str, view: Recorder) -> ConfigFollower:
    return ConfigFollower(
        bootstrap=infra.kafka_bootstrap, topic=topic, view=view, client_id="shared-config-follower-test"
    )


def webhook(entity_id: str, version: int, url: str) -> WebhookConfig:
    record = config_record(
        "webhook", entity_id, "t1", {"url": url, "events": ["*"], "secret": "enc:v1:x"}, version
    )
    assert isinstance(record, WebhookConfig)
    return record


def change(record: ConfigRecord) -> bytes:
    envelope = ConfigChanged(
        entity=record.entity,
        entity_id=record.id,
        tenant_id=record.tenant_id,
        version=record.version,
        state=record,  # type: ignore[arg-type]  # a record of one of the five models
    )
    return envelope.model_dump_json(by_alias=True).encode()


async def test_start_returns_once_every_record_already_on_the_topic_is_applied(
    infra: Infrastructure, topic: str, producer: AIOKafkaProducer
) -> None:
    first, second = webhook("w1", 1, "https://a.example"), webhook("w2", 5, "https://b.example")
    await producer.send_and_wait(topic, change(first), key=b"webhook:w1")
    await producer.send_and_wait(topic, None, key=b"webhook:w1", headers=[("ce_version", b"2")])
    await producer.send_and_wait(topic, change(second), key=b"webhook:w2")
    await producer.send_and_wait(topic, b'{"entity": "tenant"}', key=b"tenant:t1")  # not followed: skipped
    view = Recorder()
    config = follower(infra, topic, view)
    try:
        await config.start(catch_up_timeout_s=30)
        assert config.caught_up.is_set()
        # One key lives on one partition, so its changes arrive in order; a tombstone's version is its header's.
        assert view.of("w1") == [("webhook", "w1", 1, first), ("webhook", "w1", 2, None)]
        assert view.of("w2") == [("webhook", "w2", 5, second)]
        assert view.of("t1") == []
    finally:
        await config.stop()


async def test_the_old_record_shape_on_a_compacted_topic_still_parses(
    infra: Infrastructure, topic: str, producer: AIOKafkaProducer
) -> None:
    # Byte for byte what the registry published before the records were typed (a webhook after a rotation and
    # an automatic disable): camelCase beside snake_case, nulls, naive and "Z" timestamps.
    old: dict[str, Any] = {
        "entity": "webhook",
        "entity_id": "w-old",
        "tenant_id": "t1",
        "version": 4,
        "state": {
            "tenant_id": "t1",
            "createdBy": "k1",
            "createdAt": "2026-01-02T03:04:05.678000Z",
            "updatedAt": "2026-01-03T03:04:05Z",
            "previous_secrets": [{"secret": "enc:v1:old", "expires_at": "2026-01-04T03:04:05"}],
            "name": "Orders",
            "url": "https://hooks.example/orders",
            "description": None,
            "events": ["message.*"],
            "active": False,
            "secret": "enc:v1:new",
            "delivery": {
                "timeout_seconds": 30,
                "retry_schedule": [4, 8, 10],
                "max_in_flight": 10,
                "rate_limit_per_minute": 100,
                "ordered": False,
            },
            "version": 4,
            "disabledReason": "410 Gone",
            "disabledAt": "2026-01-03T03:04:05Z",
            "id": "w-old",
        },
    }
    await producer.send_and_wait(topic, json.dumps(old).encode(), key=b"webhook:w-old")
    view = Recorder()
    config = follower(infra, topic, view)
    try:
        await config.start(catch_up_timeout_s=30)
        ((_, _, version, record),) = view.of("w-old")
        assert version == 4
        assert isinstance(record, WebhookConfig)
        assert (record.disabled_reason, record.active, record.created_by) == ("410 Gone", False, "k1")
        assert record.previous_secrets[0].expires_at.tzinfo is not None  # naive meant UTC
        assert record.delivery.retry_schedule == (4, 8, 10)
    finally:
        await config.stop()


async def test_an_unreadable_record_removes_the_entity_and_later_changes_follow(
    infra: Infrastructure, topic: str, producer: AIOKafkaProducer
) -> None:
    view = Recorder()
    config = follower(infra, topic, view)
    try:
        await config.start(catch_up_timeout_s=30)
        assert view.applied == []
        await producer.send_and_wait(topic, b"{not json", key=b"webhook:w1", headers=[("ce_version", b"7")])
        await producer.send_and_wait(
            topic, json.dumps({"entity": "api_key", "version": 2, "state": {}}).encode(), key=b"api_key:k0"
        )
        key = config_record(
            "api_key", "k1", "t1", {"key_hash": "ab", "prefix": "sbk_abcd", "scopes": ["*"]}, 3
        )
        await producer.send_and_wait(topic, change(key), key=b"api_key:k1")

        async def arrived() -> bool:
            return len(view.applied) == 3

        await eventually(arrived, timeout_s=20)
        # The three keys may land in different partitions, read in any order: compare per entity.
        by_entity = {
            (entity, entity_id): (version, record) for entity, entity_id, version, record in view.applied
        }
        # Acting on an entity's previous configuration would be worse than not acting on it.
        assert by_entity[("webhook", "w1")] == (7, None)
        assert by_entity[("api_key", "k0")] == (None, None)
        assert by_entity[("api_key", "k1")] == (3, key)
        assert isinstance(by_entity[("api_key", "k1")][1], ApiKeyConfig)
    finally:
        await config.stop()
