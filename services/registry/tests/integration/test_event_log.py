"""The registry's event-log projection over real Kafka and the real MongoDB wire-protocol server."""

from __future__ import annotations

from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.builders import cloud_event
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.waiting import eventually


async def _at_least(collection: Any, count: int) -> bool:
    return bool(await collection.count_documents({}) >= count)


async def test_a_redelivered_event_is_recorded_once(
    make_settings: SettingsFactory, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    settings = make_settings(RegistrySettings)
    app = create_app(settings)
    first, other = cloud_event(), cloud_event()
    producer = KafkaBroker(settings.kafka_bootstrap)
    to_events = event_publisher(producer, settings, Topic.PLATFORM_EVENTS, title="test", description="test")

    async with LifespanManager(app), producer:
        await producer.connect()
        for event in (first, first, other):  # the duplicate is what Kafka's at-least-once can hand us
            await publish_event(to_events, event)

        events = mongo[settings.mongodb_database]["events"]
        await eventually(lambda: _at_least(events, 2))
        # All three share a partition key, so they are consumed in order: once `other` is in, so is the duplicate.
        assert await events.count_documents({"event_id": first.id}) == 1
        assert await events.count_documents({}) == 2


async def test_readyz_answers_when_kafka_and_mongodb_do(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(RegistrySettings))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"kafka": "ok", "mongodb": "ok"}}


async def test_readyz_is_503_when_mongodb_is_unreachable(make_settings: SettingsFactory) -> None:
    # Port 9 (discard) on loopback: nothing listens, so the ping fails fast without leaving the machine.
    settings = make_settings(
        RegistrySettings, mongodb_url="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300"
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    await app.state.runtime.broker.start()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            response = await client.get("/readyz")
    finally:
        await app.state.runtime.broker.stop()
    assert response.status_code == 503
    assert response.json()["checks"]["kafka"] == "ok"
    assert response.json()["checks"]["mongodb"] != "ok"


async def test_a_record_that_is_not_a_cloudevent_is_skipped_not_retried_forever(
    make_settings: SettingsFactory, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    settings = make_settings(RegistrySettings)
    app = create_app(settings)
    valid = cloud_event()
    producer = KafkaBroker(settings.kafka_bootstrap)
    to_events = event_publisher(producer, settings, Topic.PLATFORM_EVENTS, title="test", description="test")

    async with LifespanManager(app), producer:
        await producer.connect()
        # Same partition key, so the valid event queues behind the garbage one.
        await producer.publish(b"\x00not json", topic=settings.topic(Topic.PLATFORM_EVENTS), key=b"conv-1")
        await publish_event(to_events, valid)
        events = mongo[settings.mongodb_database]["events"]
        recorded = await eventually(lambda: events.find_one({"event_id": valid.id}))
    assert recorded is not None
