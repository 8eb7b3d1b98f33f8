"""Commands from the registry (dispatch-commands topic, keyed by endpoint id).

- send_test: a ``webhook.test`` event to one webhook, whatever its event filter.
- redeliver: one delivery again, from the event the command carries.
- recover: every dead-lettered delivery of an endpoint since a time, read back from the dead-letter topic
  (where exhausted, failed and skipped deliveries are kept for 30 days).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType, EndpointKind, EventType
from switchboard_dispatcher.domain.tasks import DeliveryTask, delivery_id
from switchboard_platform import telemetry
from switchboard_platform.consumers import KafkaTopicConsumer, TopicConsumer, reached_end

log = logging.getLogger(__name__)

PublishTasks = Callable[[list[DeliveryTask]], Awaitable[None]]


def test_task(command: CloudEvent) -> DeliveryTask:
    data: dict[str, Any] = command.data if isinstance(command.data, dict) else {}
    event = CloudEvent(
        id=str(data["event_id"]),
        source="/switchboard/registry",
        type=EventType.WEBHOOK_TEST,
        tenant=str(data["tenant_id"]),
        subject=str(data["endpoint_id"]),
        partitionkey=str(data["endpoint_id"]),
        data=data.get("data") or {},
    )
    return DeliveryTask(
        delivery_id=delivery_id(event.source, event.id, "webhook", str(data["endpoint_id"])),
        tenant_id=str(data["tenant_id"]),
        endpoint_kind="webhook",
        endpoint_id=str(data["endpoint_id"]),
        event=event.structured(),
        reason="test",
    )


def redeliver_task(command: CloudEvent) -> DeliveryTask | None:
    data: dict[str, Any] = command.data if isinstance(command.data, dict) else {}
    event = data.get("event")
    if not isinstance(event, dict):
        log.warning("redeliver command without the event to deliver ignored", extra={"command": command.id})
        return None
    kind: EndpointKind = data.get("endpoint_kind") or "webhook"
    parsed = CloudEvent.from_structured(event)
    return DeliveryTask(
        delivery_id=str(
            data.get("delivery_id") or delivery_id(parsed.source, parsed.id, kind, data["endpoint_id"])
        ),
        attempt=int(data.get("attempt") or 1),
        tenant_id=str(data["tenant_id"]),
        endpoint_kind=kind,
        endpoint_id=str(data["endpoint_id"]),
        event=event,
        reason="redeliver",
        command_id=command.id,
    )


async def recover_tasks(dead_letters: TopicConsumer, command: CloudEvent) -> list[DeliveryTask]:
    """Dead-lettered tasks of the command's endpoint whose event happened in [since, until], read by
    ``dead_letters`` (a reader without a group, so from the beginning of every partition) to the end."""
    data: dict[str, Any] = command.data if isinstance(command.data, dict) else {}
    endpoint = str(data["endpoint_id"])
    tenant = str(data["tenant_id"])
    since = datetime.fromisoformat(str(data["since"]).replace("Z", "+00:00"))
    until_raw = data.get("until")
    until = datetime.fromisoformat(str(until_raw).replace("Z", "+00:00")) if until_raw else datetime.now(UTC)
    consumer = dead_letters
    await consumer.start()
    found: dict[str, DeliveryTask] = {}
    try:
        end: dict[TopicPartition, int] | None = None
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for record in records:
                    if record.key != endpoint.encode():
                        continue
                    task = DeliveryTask.model_validate_json(record.value or b"")
                    event_time = CloudEvent.from_structured(task.event).time
                    if task.tenant_id == tenant and since <= event_time <= until:
                        replay = task.next_attempt("recover", task.first_attempted_at or event_time)
                        found[task.delivery_id] = replay.model_copy(update={"command_id": command.id})
            assignment = consumer.assignment()
            if end is None and assignment:
                end = await consumer.end_offsets(assignment)
            if end is not None and await reached_end(consumer, end):
                break
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return list(found.values())


def dead_letter_reader(bootstrap: str, dlq_topic: str) -> Callable[[], TopicConsumer]:
    """Opens a reader of the whole dead-letter topic for each recover command."""

    def reader() -> TopicConsumer:
        # Without a group every partition of the topic is assigned, each read from the beginning.
        return KafkaTopicConsumer(
            bootstrap=bootstrap, topic=dlq_topic, group_id=None, client_id="switchboard-dispatcher-recover"
        )

    return reader


async def handle(
    command: CloudEvent, publish: PublishTasks, dead_letters: Callable[[], TopicConsumer]
) -> int:
    # The command continues the trace of whoever asked (the registry's API request), and so do its attempts.
    with telemetry.consuming(f"dispatcher {command.type}", command):
        if command.type == CommandType.SEND_TEST:
            tasks = [test_task(command)]
        elif command.type == CommandType.REDELIVER:
            task = redeliver_task(command)
            tasks = [task] if task else []
        elif command.type == CommandType.RECOVER:
            tasks = await asyncio.wait_for(recover_tasks(dead_letters(), command), 120)
        else:
            log.warning("unknown command %s ignored", command.type)
            return 0
        if tasks:
            await publish(traced(tasks))
    return len(tasks)


def traced(tasks: list[DeliveryTask]) -> list[DeliveryTask]:
    """``tasks`` as children of the current span, linked to the context each had before (a recovered task's
    original fan-out)."""
    current = telemetry.traceparent()
    if current is None:
        return tasks
    return [
        task.model_copy(update={"traceparent": current, "retry_of": task.traceparent or task.retry_of})
        for task in tasks
    ]
