"""Ingress over real Kafka and FerretDB: the app with its lifespan (config follower, replies reader, MongoDB
stores), the registry's config records published to the test's own topics, and a stand-in AI responder that
answers over ``switchboard.replies`` exactly as the contract says."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import REPLY_TO_EXTENSION
from switchboard_contracts.topics import Topic
from switchboard_ingress.main import create_app
from switchboard_ingress.settings import IngressSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.kafka import read_until
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

from ..harness import integration_state, reply_to

INGRESS_OVERRIDES: dict[str, Any] = {
    "publish_timeout_s": 5.0,
    "reply_timeout_s": 10.0,
    "sweep_interval_s": 1.0,
}


@pytest.fixture
def ingress_settings(make_settings: SettingsFactory) -> IngressSettings:
    return make_settings(IngressSettings, **INGRESS_OVERRIDES)


@asynccontextmanager
async def running(settings: IngressSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            yield app, client


@pytest.fixture
async def ingress(ingress_settings: IngressSettings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(ingress_settings) as pair:
        yield pair


@pytest.fixture
async def platform(ingress_settings: IngressSettings) -> AsyncIterator[Platform]:
    async with Platform(ingress_settings) as publisher:
        yield publisher


async def add_integration(
    platform: Platform,
    apps: list[FastAPI],
    integration_id: str,
    provider: str,
    *,
    tenant: str = "acme",
    verification: dict[str, str] | None = None,
    reply: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Publish the integration as the registry would and wait until every ingress replica has applied it."""
    state = integration_state(platform.box, tenant, provider, verification=verification, reply=reply, **extra)
    await platform.config("integration", integration_id, tenant, state)

    async def applied() -> bool:
        return all(app.state.directory.integration(integration_id) is not None for app in apps)

    await eventually(applied, timeout_s=20)


async def events_on(settings: IngressSettings, count: int, event_type: str | None = None) -> list[CloudEvent]:
    """The first ``count`` records (of ``event_type``) on platform.events, as CloudEvents."""

    def decoded(records: list[Any]) -> list[CloudEvent]:
        events = [CloudEvent.from_kafka(record.value, record.headers) for record in records]
        return [event for event in events if event_type is None or event.type == event_type]

    records = await read_until(
        settings.kafka_bootstrap,
        settings.topic(Topic.PLATFORM_EVENTS),
        lambda records: len(decoded(records)) >= count,
    )
    return decoded(records)


@asynccontextmanager
async def responder(
    settings: IngressSettings, answer: Callable[[CloudEvent], CloudEvent | None]
) -> AsyncIterator[list[CloudEvent]]:
    """A stand-in for the AI responder: reads message.received with ``replyto`` and publishes ``answer(event)``
    to switchboard.replies (keyed by conversation, ``correlationid`` set) — the contract's other half."""
    consumer = AIOKafkaConsumer(
        settings.topic(Topic.PLATFORM_EVENTS),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    answered: list[CloudEvent] = []

    async def loop() -> None:
        async for record in consumer:
            event = CloudEvent.from_kafka(record.value, record.headers)
            if REPLY_TO_EXTENSION not in event.extensions:
                continue
            reply = answer(event)
            if reply is None:
                continue
            await producer.send_and_wait(
                settings.topic(Topic.REPLIES),
                reply.kafka_value(),
                key=reply.kafka_key(),
                headers=reply.kafka_header_list(),
            )
            answered.append(reply)

    task = asyncio.create_task(loop())
    try:
        yield answered
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
        await producer.stop()


__all__ = ["add_integration", "events_on", "reply_to", "responder", "running"]
