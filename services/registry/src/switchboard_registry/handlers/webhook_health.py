"""Apply the dispatcher's verdicts to webhooks: ``webhook.disabled`` (410 Gone, failing for too long) marks the
webhook inactive with the reason, through the outbox, so every view of the configuration agrees.

At-least-once, a Kafka batch at a time, and idempotent: disabling an already-disabled webhook changes nothing
that matters.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EventType
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import (
    BATCH_MAX_RECORDS,
    PROJECTION_FETCH_MAX_WAIT_MS,
    PROJECTION_FETCH_MIN_BYTES,
    SUBSCRIBER_HEARTBEAT_MS,
    batch_decoder_for,
)
from switchboard_platform.settings import ServiceSettings
from switchboard_registry.adapters.webhooks import WebhookStore

log = logging.getLogger(__name__)


def register(broker: KafkaBroker, settings: ServiceSettings, store: WebhookStore) -> None:
    @broker.subscriber(
        settings.topic(Topic.PLATFORM_EVENTS),
        group_id=settings.group_id("registry", "webhook-health"),
        auto_offset_reset="earliest",
        heartbeat_interval_ms=SUBSCRIBER_HEARTBEAT_MS,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=BATCH_MAX_RECORDS,
        fetch_min_bytes=PROJECTION_FETCH_MIN_BYTES,
        fetch_max_wait_ms=PROJECTION_FETCH_MAX_WAIT_MS,
        decoder=batch_decoder_for({EventType.WEBHOOK_DISABLED}),
        title="registry.webhook-health",
        description="Disables webhooks the dispatcher reported with webhook.disabled (a batch at a time; other "
        "event types are skipped on their ce_type header).",
    )
    async def on_platform_events(events: list[CloudEvent | None]) -> None:
        for event in events:
            if event is not None:
                await on_webhook_disabled(event)

    async def on_webhook_disabled(event: CloudEvent) -> None:
        if event.type != EventType.WEBHOOK_DISABLED or not event.tenant or not isinstance(event.data, dict):
            return
        if event.data.get("endpoint_kind", "webhook") != "webhook":
            return
        webhook_id = str(event.data.get("endpoint_id", ""))
        current = await store.get(event.tenant, webhook_id)
        if current is None or not current.get("active"):
            return
        await store.update(
            event.tenant,
            webhook_id,
            {
                "active": False,
                "disabledReason": str(event.data.get("reason") or "disabled by the dispatcher"),
                "disabledAt": datetime.now(UTC),
            },
        )
        log.warning("webhook disabled", extra={"tenant": event.tenant, "webhook_id": webhook_id})
