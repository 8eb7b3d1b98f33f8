"""The Kafka side of the ``Publisher`` port: ``platform.events`` and ``switchboard.replies``, binary mode."""

from __future__ import annotations

from faststream.kafka.publisher import DefaultPublisher

from switchboard_ai_responder.adapters.outcomes import Destination
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_platform.kafka import publish_event


class KafkaPublisher:
    def __init__(self, platform_events: DefaultPublisher, replies: DefaultPublisher) -> None:
        self._publishers = {"platform": platform_events, "replies": replies}

    async def publish(self, destination: Destination, event: CloudEvent) -> None:
        await publish_event(self._publishers[destination], event)
