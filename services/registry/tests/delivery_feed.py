"""What the dispatcher and other services would publish, for the delivery log's integration tests: attempt
events on the attempts topic (as the dispatcher emits them) and message events on platform.events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_platform.settings import ServiceSettings
from switchboard_testing.builders import attempt_event

HOOK_BODY = {"name": "x", "url": "https://hooks.example.com/h", "events": ["*"]}


@dataclass
class Feed:
    to_attempts: DefaultPublisher
    to_platform: DefaultPublisher

    async def attempts(self, *records: DeliveryAttempt) -> None:
        for record in records:
            await publish_event(self.to_attempts, attempt_event(record))

    async def attempt_events(self, *events: CloudEvent) -> None:
        for event in events:
            await publish_event(self.to_attempts, event)

    async def platform(self, *events: CloudEvent) -> None:
        for event in events:
            await publish_event(self.to_platform, event)


@asynccontextmanager
async def feed(settings: ServiceSettings) -> AsyncIterator[Feed]:
    producer = KafkaBroker(settings.kafka_bootstrap)

    def publisher(topic: Topic) -> DefaultPublisher:
        return event_publisher(producer, settings, topic, title=f"test.{topic.value}", description="test")

    result = Feed(publisher(Topic.DELIVERY_ATTEMPTS), publisher(Topic.PLATFORM_EVENTS))
    async with producer:
        await producer.connect()
        yield result
