"""Consumers of the delivery log: attempt events into deliveries, rollups and message status; message events
into seed 002's message history, both a Kafka batch at a time.

Delivery semantics of both: at-least-once. The offset is committed only after MongoDB acknowledged every write
(``AckPolicy.NACK_ON_ERROR`` seeks back and retries when a write fails), and every write is idempotent, so a
redelivered record changes nothing. The attempts consumer takes a Kafka batch at a time (per endpoint one
head write carrying its open stats buckets, the chunks it filled, a locator per new delivery and an insert per
stats bucket that closed; ADR 0009, 0011; a failed batch is sought back to its first record per partition). A record that can never be projected — not a CloudEvent, data that does
not validate, a tenant mismatch — is logged with its id and skipped rather than retried forever: retrying
would block its partition without ever succeeding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt
from switchboard_contracts.topics import Topic
from switchboard_platform import telemetry
from switchboard_platform.kafka import (
    BATCH_MAX_RECORDS,
    PROJECTION_FETCH_MAX_WAIT_MS,
    PROJECTION_FETCH_MIN_BYTES,
    SUBSCRIBER_HEARTBEAT_MS,
    Consumed,
    batch_decoder_for,
    decode_batch_or_skip,
    positioned,
)
from switchboard_platform.settings import ServiceSettings
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.messages import MessageHistory
from switchboard_registry.domain import deliveries as delivery_rules
from switchboard_registry.domain import messages as message_rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryLogMetrics:
    attempts: Counter
    messages: Counter

    @classmethod
    def on(cls, registry: CollectorRegistry) -> DeliveryLogMetrics:
        return cls(
            attempts=Counter(
                "registry_delivery_attempts_projected",
                "Delivery attempt events projected into the delivery log",
                ["result"],
                registry=registry,
            ),
            messages=Counter(
                "registry_messages_projected",
                "Message events projected into the message history",
                ["result"],
                registry=registry,
            ),
        )


def register(
    broker: KafkaBroker,
    settings: ServiceSettings,
    deliveries: DeliveryLog,
    messages: MessageHistory,
    metrics: DeliveryLogMetrics,
) -> None:
    def parsed(record: Consumed) -> DeliveryAttempt | None:
        event = record.event
        if event is None:
            metrics.attempts.labels("invalid").inc()
            return None
        try:
            return delivery_rules.parse_attempt(event)
        except (ValidationError, delivery_rules.NotAnAttempt) as exc:
            metrics.attempts.labels("invalid").inc()
            log.warning(
                "attempt event skipped",
                extra={"event_id": event.id, "type": event.type, "tenant": event.tenant, "reason": str(exc)},
            )
            return None

    @broker.subscriber(
        settings.topic(Topic.DELIVERY_ATTEMPTS),
        group_id=settings.group_id("registry", "delivery-log"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        fetch_min_bytes=PROJECTION_FETCH_MIN_BYTES,
        fetch_max_wait_ms=PROJECTION_FETCH_MAX_WAIT_MS,
        decoder=decode_batch_or_skip,
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        title="registry.delivery-log",
        description="Projects every delivery attempt once into the delivery log (per-endpoint chunks of "
        "deliveries, per-endpoint rollups for stats) and into the delivery status of seed 002's message history, "
        "a batch at a time. Idempotency key: (delivery_id, command_id, attempt).",
    )
    async def on_delivery_attempts(events: list[CloudEvent | None], message: KafkaMessage) -> None:
        records = positioned(events, message)
        batch = [(attempt, record) for record in records if (attempt := parsed(record)) is not None]
        with telemetry.processing_batch("registry delivery-log", events):
            inserted = await deliveries.record(batch)
            await messages.track_deliveries(
                [attempt for attempt, _ in batch if attempt.event_type in message_rules.MESSAGE_EVENTS]
            )
        metrics.attempts.labels("inserted").inc(inserted)
        metrics.attempts.labels("duplicate").inc(len(batch) - inserted)
        log.debug("attempts projected", extra={"count": len(batch), "inserted": inserted})

    @broker.subscriber(
        settings.topic(Topic.PLATFORM_EVENTS),
        group_id=settings.group_id("registry", "message-history"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        fetch_min_bytes=PROJECTION_FETCH_MIN_BYTES,
        fetch_max_wait_ms=PROJECTION_FETCH_MAX_WAIT_MS,
        decoder=batch_decoder_for(message_rules.MESSAGE_EVENTS),
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        title="registry.message-history",
        description="Projects message.received (incoming) and message.replied (outgoing, agent_outgoing) "
        "events into seed 002's message history, a batch at a time; other event types are skipped on their "
        "ce_type header.",
    )
    async def on_message_events(events: list[CloudEvent | None]) -> None:
        for event in events:
            if event is not None and event.type in message_rules.MESSAGE_EVENTS:
                await record_message(event)

    async def record_message(event: CloudEvent) -> None:
        try:
            tenant_id, fields = message_rules.from_event(event)
        except (ValidationError, message_rules.NotAMessage) as exc:
            metrics.messages.labels("invalid").inc()
            log.warning(
                "message event skipped",
                extra={"event_id": event.id, "type": event.type, "tenant": event.tenant, "reason": str(exc)},
            )
            return
        await messages.record_message(tenant_id, event.id, fields)
        metrics.messages.labels("projected").inc()
