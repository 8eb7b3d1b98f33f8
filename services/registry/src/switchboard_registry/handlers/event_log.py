"""Project ``platform.events`` into the event log.

Delivery semantics: at-least-once. The offset is committed only after MongoDB acknowledged the write
(``AckPolicy.NACK_ON_ERROR`` seeks back and retries on failure); the write itself is idempotent.
"""

from __future__ import annotations

import logging

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.metrics import RegistryMetrics
from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.kafka import SUBSCRIBER_HEARTBEAT_MS, decode_or_skip
from switchboard_shared.settings import ServiceSettings
from switchboard_shared.topics import Topic

log = logging.getLogger(__name__)


def register(
    broker: KafkaBroker, settings: ServiceSettings, event_log: EventLog, metrics: RegistryMetrics
) -> None:
    @broker.subscriber(
        settings.topic(Topic.PLATFORM_EVENTS),
        group_id=settings.group_id("registry", "event-log"),
        auto_offset_reset="earliest",
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decode_or_skip,
        title="registry.event-log",
        description="Records every platform event once in the registry's event log.",
    )
    async def on_platform_event(event: CloudEvent | None, message: KafkaMessage) -> None:
        if event is None:
            return
        raw = message.raw_message  # a ConsumerRecord: this subscriber is not a batch subscriber
        inserted = await event_log.record(event, None if isinstance(raw, tuple) else raw)
        metrics.events_recorded.labels("inserted" if inserted else "duplicate").inc()
        log.debug("event recorded", extra={"event_id": event.id, "type": event.type, "tenant": event.tenant})
