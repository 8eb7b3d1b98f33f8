"""ConfigFollower against the real broker: catch-up before start() returns, then live changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from switchboard_shared.config_follower import ConfigFollower
from switchboard_shared.testing.infra import Infrastructure
from switchboard_shared.testing.waiting import eventually
from switchboard_shared.topics import Topic, topic_name

Applied = tuple[str, int | None, dict[str, Any] | None]


@pytest.fixture
def topic(kafka_topics: str) -> str:
    return topic_name(Topic.CONFIG, kafka_topics)


@pytest.fixture
async def producer(infra: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


def follower(infra: Infrastructure, topic: str, applied: list[Applied]) -> ConfigFollower:
    return ConfigFollower(
        bootstrap=infra.kafka_bootstrap,
        topic=topic,
        apply=lambda key, version, state: applied.append((key, version, state)),
        client_id="shared-config-follower-test",
    )


async def test_start_returns_once_every_record_already_on_the_topic_is_applied(
    infra: Infrastructure, topic: str, producer: AIOKafkaProducer
) -> None:
    def change(version: int | None, state: dict[str, Any]) -> bytes:
        body: dict[str, Any] = {"state": state}
        if version is not None:
            body["version"] = version
        return json.dumps(body).encode()

    await producer.send_and_wait(topic, change(1, {"url": "a"}), key=b"webhook:w1")
    await producer.send_and_wait(topic, b"{not json", key=b"webhook:w1")  # skipped, not a stall
    await producer.send_and_wait(topic, None, key=b"webhook:w1", headers=[("ce_version", b"2")])
    await producer.send_and_wait(
        topic, change(None, {"url": "b"}), key=b"webhook:w2", headers=[("ce_version", b"5")]
    )
    applied: list[Applied] = []
    config = follower(infra, topic, applied)
    try:
        await config.start(catch_up_timeout_s=30)
        assert config.caught_up.is_set()
        # One key lives on one partition, so its changes arrive in order; a tombstone's version is its header's.
        assert [entry for entry in applied if entry[0] == "webhook:w1"] == [
            ("webhook:w1", 1, {"url": "a"}),
            ("webhook:w1", 2, None),
        ]
        assert [entry for entry in applied if entry[0] == "webhook:w2"] == [("webhook:w2", 5, {"url": "b"})]
    finally:
        await config.stop()


async def test_an_empty_topic_is_caught_up_at_once_and_later_changes_follow(
    infra: Infrastructure, topic: str, producer: AIOKafkaProducer
) -> None:
    applied: list[Applied] = []
    config = follower(infra, topic, applied)
    try:
        await config.start(catch_up_timeout_s=30)
        assert applied == []
        await producer.send_and_wait(
            topic, json.dumps({"version": 3, "state": {}}).encode(), key=b"api_key:k1"
        )

        async def arrived() -> bool:
            return applied == [("api_key:k1", 3, {})]

        await eventually(arrived, timeout_s=20)
    finally:
        await config.stop()
