"""FastStream glue for the CloudEvents contract: one broker factory, a decoder and a publish helper.

Every broker publishes with ``acks=all`` and idempotence so an acknowledged publish survives a broker
restart and a producer retry never duplicates a record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Final

from faststream.kafka import KafkaBroker
from faststream.kafka.publisher import DefaultPublisher
from faststream.message import StreamMessage
from pydantic import BaseModel

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.topics import Topic
from switchboard_platform import telemetry
from switchboard_platform.settings import ServiceSettings

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


#: Fetch settings of the projection subscribers (the registry's logs): nobody waits on them record by record,
#: so the broker holds each fetch until 1 MiB is there or 500 ms passed. Every batch costs its projection a
#: fixed number of MongoDB writes (a delivery-log head per endpoint; until ADR 0011 also a rollup update per
#: bucket), and on FerretDB v1 an update costs ~1 ms of its CPU however small, so fewer, larger batches are
#: what keeps the database's cost per record down: in the pipeline
#: bench FerretDB's CPU per delivery fell from 429-525 µs at 256 KiB / 250 ms to 271-295 µs at 1 MiB / 500 ms
#: (249 at 4 MiB / 1 s, which would only add latency). At 200 events/s that is two fetches a second instead of
#: one fetch, one batch and one bulk write per record; under load fetches fill at once.
PROJECTION_FETCH_MIN_BYTES: Final = 1024 * 1024
PROJECTION_FETCH_MAX_WAIT_MS: Final = 500


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
    return [_decoded(record) for record in _records(msg)]


def _decoded(record: Any) -> CloudEvent | None:
    try:
        return CloudEvent.from_kafka(record.value, record.headers)
    except CloudEventError as exc:
        log.warning(
            "record is not a CloudEvent; skipped",
            extra={"reason": str(exc), "partition": record.partition, "offset": record.offset},
        )
        return None


def batch_decoder_for(
    types: Collection[str],
) -> Callable[[StreamMessage[Any]], Awaitable[list[CloudEvent | None]]]:
    """``decode_batch_or_skip`` for a subscriber that handles only ``types``. A binary-mode record names its type
    in the ``ce_type`` header, so a record of another type becomes None without its value being parsed or
    validated: on ``platform.events``, which carries every producer's events, most records are someone else's
    and skipping them costs a header lookup instead of a JSON parse and a model validation. Structured-mode
    records (no ``ce_type`` header) are decoded and left to the handler to filter."""
    wanted = frozenset(types)

    async def decode(msg: StreamMessage[Any]) -> list[CloudEvent | None]:
        return [
            None
            if (kind := header(record.headers, "ce_type")) is not None and kind not in wanted
            else _decoded(record)
            for record in _records(msg)
        ]

    return decode


def header(headers: Iterable[tuple[str, bytes]], name: str) -> str | None:
    """The value of a Kafka record's header ``name`` (case-insensitive, as CloudEvents' binary mode reads it),
    or None."""
    for key, value in headers:
        if key.lower() == name:
            return value.decode(errors="replace")
    return None


async def in_key_order(
    records: Iterable[Consumed], handle: Callable[[CloudEvent], Awaitable[None]], *, concurrency: int
) -> None:
    """Handle a batch's events, those of one record key (a conversation: its events are keyed by its id) one
    after another in offset order, different keys side by side — up to ``concurrency`` at once. A handler that
    waits on a model or a partner then holds up only its own conversation, not the batch.

    Every handler runs even when one fails; the first failure is then raised, so the at-least-once subscriber
    NACKs the batch and it comes again (the handlers are idempotent, so what already succeeded is a no-op).
    Keyless records keep their partition's order (they share one lane per partition)."""
    lanes: dict[tuple[int, bytes | None], list[CloudEvent]] = {}
    for record in records:
        if record.event is not None:
            lanes.setdefault((record.partition, record.event.kafka_key()), []).append(record.event)
    if not lanes:
        return
    gate = asyncio.Semaphore(concurrency)

    async def lane(events: list[CloudEvent]) -> None:
        async with gate:
            for event in events:
                await handle(event)

    outcomes = await asyncio.gather(*(lane(events) for events in lanes.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


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
    broker: KafkaBroker,
    settings: ServiceSettings,
    topic: Topic,
    *,
    title: str,
    description: str,
    schema: type[BaseModel] | None = None,
) -> DefaultPublisher:
    """A documented publisher (it appears in the AsyncAPI document) for CloudEvents in binary mode; ``schema``
    is the model of the record value (the event data), when every record on the topic has one."""
    return broker.publisher(
        settings.topic(topic),
        title=title,
        description=f"{description} CloudEvents binary mode: ce_* headers, data as the value, key = partitionkey.",
        schema=schema,
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
