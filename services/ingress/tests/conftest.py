"""Ingress fixtures: the app over FastStream's in-memory broker (unit) and over real Kafka + FerretDB
(integration, see integration/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import SecretStr

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_ingress.adapters.agent_messages import AgentMessages
from switchboard_ingress.adapters.replies import PendingReplies
from switchboard_ingress.domain.ratelimit import LocalWindows
from switchboard_ingress.main import Adapters, create_app
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.settings import Environment

from .harness import Harness, MemoryDedup


def unit_settings(**overrides: object) -> IngressSettings:
    fields: dict[str, object] = {
        "environment": Environment.TEST,
        "events_token": SecretStr("test-events-token"),
        "reply_timeout_s": 0.5,
        "publish_timeout_s": 1.0,
    }
    fields.update(overrides)
    return IngressSettings(**fields)  # type: ignore[arg-type]


async def start_harness(settings: IngressSettings) -> AsyncIterator[Harness]:
    dedup, limiter, replies = MemoryDedup(), LocalWindows(), PendingReplies()
    app = create_app(
        settings,
        Adapters(
            dedup=dedup,
            limiter=limiter,
            replies=replies,
            agent_messages=AgentMessages(),
            publish_through_broker=True,
        ),
    )
    broker = app.state.runtime.broker
    async with TestKafkaBroker(broker) as test_broker:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51000))
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            harness = Harness(app, client, settings, dedup, limiter, replies)

            @test_broker.subscriber(settings.topic(Topic.PLATFORM_EVENTS))
            async def capture(message: KafkaMessage) -> None:  # the in-memory broker only
                harness.captured(CloudEvent.from_kafka(message.body, message.headers))

            await test_broker.start()
            yield harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async for running in start_harness(unit_settings()):
        yield running
