"""The fan-out's logic over an in-memory platform-events topic: one task per subscribed endpoint, offsets
committed only once the tasks are acknowledged. Over real Kafka: ``tests/integration/test_delivery.py``."""

from __future__ import annotations

from aiokafka import TopicPartition

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_dispatcher.domain.tasks import DeliveryTask, delivery_id
from switchboard_testing.memory_kafka import MemoryConsumer, MemoryTopic
from switchboard_testing.waiting import eventually

from ..stages import fanout_run, holds, webhook

P0 = TopicPartition("platform.events", 0)


def message(tenant: str = "acme") -> CloudEvent:
    return CloudEvent(source="/tests", type="message.created", tenant=tenant, data={"id": "m-1"})


async def test_each_event_becomes_one_task_per_subscribed_endpoint_then_is_committed() -> None:
    first, second = webhook("w1"), webhook("w2")
    async with fanout_run(first, second) as run:
        event = message()
        run.add(event)
        run.add(message(tenant="nobody"))

        await eventually(lambda: holds(run.consumer.committed() == 2))

        tasks = [task for batch in run.published for task in batch]
        assert sorted(task.endpoint_id for task in tasks) == ["w1", "w2"]
        assert {task.delivery_id for task in tasks} == {
            delivery_id(event.source, event.id, "webhook", "w1"),
            delivery_id(event.source, event.id, "webhook", "w2"),
        }


async def test_nothing_is_committed_before_the_tasks_are_acknowledged() -> None:
    committed_when_published: list[int | None] = []
    failures = [RuntimeError("Kafka unavailable")]
    consumer_of: list[MemoryConsumer] = []

    async def publish(tasks: list[DeliveryTask]) -> None:
        committed_when_published.append(consumer_of[0].committed())
        if failures:
            raise failures.pop()

    topic = MemoryTopic("platform.events")
    topic.append(message().kafka_value(), headers=message().kafka_header_list())
    async with fanout_run(webhook(), publish=publish, topic=topic) as run:
        consumer_of.append(run.consumer)
        await eventually(lambda: holds(run.consumer.committed() == 1))

    # Published twice (the first refused, retried), and committed only after the second.
    assert committed_when_published == [None, None]


async def test_an_invalid_event_is_skipped_and_committed() -> None:
    async with fanout_run(webhook()) as run:
        run.topic.append(b"not a cloud event")
        run.add(message())

        await eventually(lambda: holds(run.consumer.committed() == 2))

        assert [len(batch) for batch in run.published if batch] == [1]
