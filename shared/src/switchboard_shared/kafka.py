"""FastStream glue for the CloudEvents contract: one broker factory, a decoder and a publish helper.

Every broker publishes with ``acks=all`` and idempotence so an acknowledged publish survives a broker
restart and a producer retry never duplicates a record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher
from faststream.message import StreamMessage

from switchboard_shared import telemetry
from switchboard_shared.cloudevents import CloudEvent, CloudEventError
from switchboard_shared.settings import ServiceSettings
from switchboard_shared.topics import Topic

log = logging.getLogger(__name__)

#: ``max_records`` of the batch subscribers: one getmany, one bulk write. A batch's fixed writes (one per rollup
#: bucket) are then shared by up to 2,000 records (20,000 attempts projected in 34 s instead of 44 s at 500);
#: 2,000 records of ~1 KB stay well under MongoDB's 16 MB command size.
BATCH_MAX_RECORDS = 2000

#: ``heartbeat_interval_ms`` of the services' consumer-group subscribers. A replica joining (rolling deploy,
#: scale-out, restart) waits for every current member to rejoin, which each does on its next heartbeat: at
#: aiokafka's default 3 s that is 3 s per consumer group at start-up. 1 s keeps joins short for one small
#: request a second per consumer (the session timeout stays 10 s).
SUBSCRIBER_HEARTBEAT_MS = 1000


def make_broker(settings: ServiceSettings, service: str, **kwargs: Any) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"switchboard-{service}",
        acks="all",
        enable_idempotence=True,
        # Kafka's own default for producers; tests lower it to fail fast when the broker is down.
        request_timeout_ms=kwargs.pop("request_timeout_ms", 30_000),
        # A logger of ours: FastStream's default one writes coloured text with a handler of its own; this one's
        # records reach the service's JSON handler like every other line.
        logger=kwargs.pop("logger", logging.getLogger("faststream.kafka")),
        **kwargs,
    )


async def decode_or_skip(msg: StreamMessage[Any]) -> CloudEvent | None:
    """FastStream decoder: a Kafka record (binary or structured mode) as a ``CloudEvent``. A record that is not
    a CloudEvent becomes None (logged) instead of an error the at-least-once subscriber would NACK and retry
    forever, blocking its partition."""
    try:
        return CloudEvent.from_kafka(msg.body, msg.headers)
    except CloudEventError as exc:
        log.warning("record is not a CloudEvent; skipped", extra={"reason": str(exc)})
        return None


@dataclass(frozen=True)
class Consumed:
    """One record of a consumed batch: its CloudEvent (None when the record is not one) and its position."""

    event: CloudEvent | None
    topic: str
    partition: int
    offset: int


async def decode_batch_or_skip(msg: StreamMessage[Any]) -> list[CloudEvent | None]:
    """FastStream decoder of batch subscribers: each record of the batch as a ``CloudEvent``, or None (logged)
    for a record that is not one — so one bad record neither fails the batch nor stops its offsets moving."""
    batch: list[CloudEvent | None] = []
    for record in _records(msg):
        try:
            batch.append(CloudEvent.from_kafka(record.value, record.headers))
        except CloudEventError as exc:
            log.warning(
                "record is not a CloudEvent; skipped",
                extra={"reason": str(exc), "partition": record.partition, "offset": record.offset},
            )
            batch.append(None)
    return batch


def positioned(events: list[CloudEvent | None], message: StreamMessage[Any]) -> list[Consumed]:
    """The decoded ``events`` of a batch with the Kafka position of each (the decoder keeps their order)."""
    return [
        Consumed(event, record.topic, record.partition, record.offset)
        for event, record in zip(events, _records(message), strict=True)
    ]


def _records(message: StreamMessage[Any]) -> tuple[Any, ...]:
    raw = message.raw_message
    return raw if isinstance(raw, tuple) else (raw,)


def event_publisher(
    broker: KafkaBroker, settings: ServiceSettings, topic: Topic, *, title: str, description: str
) -> DefaultPublisher:
    """A documented publisher (it appears in the AsyncAPI document) for CloudEvents in binary mode."""
    return broker.publisher(
        settings.topic(topic),
        title=title,
        description=f"{description} CloudEvents binary mode: ce_* headers, data as the value, key = partitionkey.",
    )


async def publish_event(publisher: DefaultPublisher, event: CloudEvent) -> None:
    """Publish ``event`` in binary mode; returns once the broker acknowledged it (acks=all). With tracing on,
    under a PRODUCER span whose context the record's ``traceparent`` header carries."""
    with telemetry.publishing(publisher.topic, event):
        await publisher.publish(
            event.kafka_value(),
            key=event.kafka_key(),
            headers=event.kafka_headers(),
            correlation_id=event.id,
        )
