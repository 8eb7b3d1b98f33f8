"""The recover command over an in-memory dead-letter topic: which dead letters it replays, and how.
Over real Kafka: ``tests/integration/test_commands.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType
from switchboard_dispatcher.commands import recover_tasks
from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json
from switchboard_testing.memory_kafka import MemoryConsumer, MemoryTopic

from ..stages import task_for, webhook

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def dead(topic: MemoryTopic, tenant: str, endpoint: str, at: datetime, attempt: int = 4) -> DeliveryTask:
    target = webhook(endpoint, tenant_id=tenant)
    event = CloudEvent(source="/tests", type="message.created", tenant=tenant, time=at, data={})
    task = task_for(target, event, attempt=attempt, first_attempted_at=at)
    topic.append(task_json(task), key=endpoint.encode())
    return task


def recover(tenant: str, endpoint: str, since: datetime, until: datetime | None = None) -> CloudEvent:
    data = {"tenant_id": tenant, "endpoint_id": endpoint, "since": since.isoformat()}
    if until is not None:
        data["until"] = until.isoformat()
    return CloudEvent(source="/tests", type=CommandType.RECOVER, tenant=tenant, data=data)


async def test_recover_replays_the_endpoints_dead_letters_of_the_window_as_their_next_attempt() -> None:
    topic = MemoryTopic("dead-letters", 3)
    inside = dead(topic, "acme", "w1", T0 + timedelta(minutes=5))
    dead(topic, "acme", "w1", T0 - timedelta(minutes=5))  # before the window
    dead(topic, "acme", "w1", T0 + timedelta(hours=2))  # after it
    dead(topic, "acme", "w2", T0 + timedelta(minutes=5))  # another endpoint
    dead(topic, "other", "w1", T0 + timedelta(minutes=5))  # another tenant's endpoint of the same id
    command = recover("acme", "w1", T0, T0 + timedelta(hours=1))

    (replay,) = await recover_tasks(MemoryConsumer(topic, group_id=None), command)

    assert (replay.delivery_id, replay.attempt, replay.reason) == (inside.delivery_id, 5, "recover")
    assert replay.command_id == command.id
    assert replay.first_attempted_at == inside.first_attempted_at


async def test_a_delivery_dead_lettered_twice_is_replayed_once() -> None:
    topic = MemoryTopic("dead-letters", 3)
    first = dead(topic, "acme", "w1", T0)
    topic.append(task_json(first), key=b"w1")

    replays = await recover_tasks(MemoryConsumer(topic, group_id=None), recover("acme", "w1", T0))

    assert [replay.delivery_id for replay in replays] == [first.delivery_id]


async def test_an_empty_dead_letter_topic_recovers_nothing() -> None:
    replays = await recover_tasks(
        MemoryConsumer(MemoryTopic("dead-letters", 3), group_id=None), recover("acme", "w1", T0)
    )
    assert replays == []
