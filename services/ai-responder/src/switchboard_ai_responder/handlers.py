"""The ``platform.events`` consumer: every record goes to ``Responder.handle``.

Delivery semantics: at-least-once. One consumer group (``switchboard.ai-responder.responder``); a FastStream
subscriber handles one record at a time, so the records of a partition — and with the conversation id as key,
the events of one conversation — are handled in order. The offset is committed after the handler returned
(its effects are in MongoDB and its events acknowledged by Kafka); on an exception the record is not committed
and comes again (``AckPolicy.NACK_ON_ERROR``), which the handler's idempotency makes safe. A record that is
not a CloudEvent, or whose data does not validate, is logged and skipped: retrying cannot fix it.
"""

from __future__ import annotations

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import DefaultSubscriber

from switchboard_ai_responder.service import Responder
from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.kafka import SUBSCRIBER_HEARTBEAT_MS, decode_or_skip
from switchboard_shared.settings import ServiceSettings
from switchboard_shared.topics import Topic

SERVICE = "ai-responder"


def register(broker: KafkaBroker, settings: ServiceSettings, responder: Responder) -> DefaultSubscriber:
    """Subscribe ``responder`` to platform.events; returns the subscriber (its consumer's lag is a metric)."""

    subscriber = broker.subscriber(
        settings.topic(Topic.PLATFORM_EVENTS),
        group_id=settings.group_id(SERVICE, "responder"),
        auto_offset_reset="earliest",
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decode_or_skip,
        title="ai-responder.inbound",
        description="message.received (answered, held for review, handed to a human, or routed from a live "
        "agent), message.replied (conversation memory), handoff.requested|closed (live-chat state), "
        "feedback.received (recorded). Idempotent on the event's (source, id); in order per conversation.",
    )

    @subscriber
    async def on_platform_event(event: CloudEvent | None) -> None:
        if event is not None:  # a record that is not a CloudEvent was logged and is skipped
            await responder.handle(event)

    return subscriber
