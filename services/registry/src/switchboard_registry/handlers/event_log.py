"""Project ``platform.events`` into the event log.

Delivery semantics: at-least-once, in batches. One batch (up to ``BATCH_MAX_RECORDS``) is one bulk insert;
its offsets are committed only after MongoDB acknowledged it (``AckPolicy.NACK_ON_ERROR`` seeks every partition
of the batch back to its first record and retries on failure); the insert is idempotent on the event's key.
"""

from __future__ import annotations

import logging

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import (
    BATCH_MAX_RECORDS,
    PROJECTION_FETCH_MAX_WAIT_MS,
    PROJECTION_FETCH_MIN_BYTES,
    SUBSCRIBER_HEARTBEAT_MS,
    decode_batch_or_skip,
    positioned,
)
from switchboard_platform.settings import ServiceSettings
from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.metrics import RegistryMetrics

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
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        fetch_min_bytes=PROJECTION_FETCH_MIN_BYTES,
        fetch_max_wait_ms=PROJECTION_FETCH_MAX_WAIT_MS,
        decoder=decode_batch_or_skip,
        title="registry.event-log",
        description="Records every platform event once in the registry's event log (one bulk insert per batch).",
    )
    async def on_platform_events(batch: list[CloudEvent | None], message: KafkaMessage) -> None:
        events = [(record.event, record) for record in positioned(batch, message) if record.event is not None]
        inserted = await event_log.record_many(events)
        metrics.events_recorded.labels("inserted").inc(inserted)
        metrics.events_recorded.labels("duplicate").inc(len(events) - inserted)
        log.debug("events recorded", extra={"count": len(events), "inserted": inserted})
