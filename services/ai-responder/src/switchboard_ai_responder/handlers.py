"""The ``platform.events`` consumer: every record of a type the responder handles goes to ``Responder.handle``.

Delivery semantics: at-least-once, a Kafka batch at a time. One consumer group
(``switchboard.ai-responder.responder``); the batch's offsets are committed once every event in it was handled
(its effects in MongoDB, its events acknowledged by Kafka); when one fails, the batch is not committed and
comes again (``AckPolicy.NACK_ON_ERROR`` seeks back to its first record per partition), which the handler's
idempotency makes safe. Records of other types — most of ``platform.events`` — are skipped on their ``ce_type``
header without being parsed. A conversation's events (keyed by its id) are handled in order; different
conversations side by side (``in_key_order``), so one slow model call holds up one conversation, not all. A
record that is not a CloudEvent, or whose data does not validate, is logged and skipped: retrying cannot fix it.
"""

from __future__ import annotations

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.subscriber.usecase import BatchSubscriber

from switchboard_ai_responder.service import Responder
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import SUBSCRIBER_HEARTBEAT_MS, batch_decoder_for, in_key_order, positioned
from switchboard_platform.settings import ServiceSettings

SERVICE = "ai-responder"

#: Records per batch. A batch is committed when its slowest conversation is done: 256 records, 32
#: conversations at a time, are 8 rounds of model calls (``llm_timeout_s``, 20 s, each at worst) — 160 s.
MAX_RECORDS = 256
#: Conversations handled at once within a batch.
CONCURRENCY = 32
#: How long a batch may take before Kafka deems the consumer stuck and rebalances. Above the 160 s, with room
#: for one conversation holding many queued questions (each still bounded by the model's timeout).
MAX_POLL_INTERVAL_MS = 30 * 60 * 1000
#: The broker holds a fetch until 64 KiB are there or 100 ms passed: a person does not notice 100 ms in a chat,
#: and at 200 events/s the group makes ten fetches a second instead of one per produced record.
FETCH_MIN_BYTES = 64 * 1024
FETCH_MAX_WAIT_MS = 100


def register(broker: KafkaBroker, settings: ServiceSettings, responder: Responder) -> BatchSubscriber:
    """Subscribe ``responder`` to platform.events; returns the subscriber (its consumer's lag is a metric)."""

    subscriber = broker.subscriber(
        settings.topic(Topic.PLATFORM_EVENTS),
        group_id=settings.group_id(SERVICE, "responder"),
        auto_offset_reset="earliest",
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=MAX_RECORDS,
        max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
        fetch_min_bytes=FETCH_MIN_BYTES,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        decoder=batch_decoder_for(responder.handled_types()),
        title="ai-responder.inbound",
        description="message.received (answered, held for review, handed to a human, or routed from a live "
        "agent), message.replied (conversation memory), handoff.requested|closed (live-chat state), "
        "feedback.received (recorded). Idempotent on the event's (source, id); in order per conversation, "
        "conversations side by side, a batch at a time.",
    )

    @subscriber
    async def on_platform_events(events: list[CloudEvent | None], message: KafkaMessage) -> None:
        await in_key_order(positioned(events, message), responder.handle, concurrency=CONCURRENCY)

    return subscriber
