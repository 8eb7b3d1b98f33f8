"""Helpers for the integration tests: the test tenant and reading what landed on a topic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiokafka import ConsumerRecord

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_testing.kafka import read_until

ADMIN = "test-admin-token-0123456789"
TENANT = "acme"


def events_of(records: list[ConsumerRecord[Any, Any]]) -> list[CloudEvent]:
    return [CloudEvent.from_kafka(record.value, record.headers) for record in records]


Predicate = Callable[[list[CloudEvent]], bool]


async def platform_events(
    settings: AiResponderSettings,
    done: Predicate,
    *,
    topic: Topic = Topic.PLATFORM_EVENTS,
    timeout_s: float = 20,
) -> list[CloudEvent]:
    """Every event on the topic once ``done`` holds for them (decoded from the start of the topic)."""
    records = await read_until(
        settings.kafka_bootstrap, settings.topic(topic), lambda rs: done(events_of(rs)), timeout_s=timeout_s
    )
    return events_of(records)


def of_type(events: list[CloudEvent], event_type: str, **data: Any) -> list[CloudEvent]:
    return [
        event
        for event in events
        if event.type == event_type
        and isinstance(event.data, dict)
        and all(event.data.get(name) == value for name, value in data.items())
    ]
