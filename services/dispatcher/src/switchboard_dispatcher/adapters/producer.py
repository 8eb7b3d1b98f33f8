"""The dispatcher's Kafka records on the hot path, written in batches.

Every delivery writes two records (its task, its attempt event), through ``switchboard_platform.kafka_batching``'s
``BatchingProducer`` with a 2 ms linger.
"""

from __future__ import annotations

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.kafka_batching import (
    BatchingProducer,
    start_batching_producer,
    stop_batching_producer,
)


class HotPathProducer:
    """The records every delivery produces (its task, its attempt event, a dead letter): one plain aiokafka
    producer (acks=all, idempotent) behind a ``BatchingProducer``. FastStream's publish pipeline measured 44-68 µs
    of CPU per record against ~1-2 µs here, on a dispatcher that is CPU-bound (bench/README.md). The FastStream
    publishers for these topics stay declared so the AsyncAPI document shows what the dispatcher writes."""

    def __init__(self, settings: DispatcherSettings) -> None:
        self.settings = settings
        self._batching: BatchingProducer | None = None
        self._tasks_topic = settings.topic(Topic.DELIVERIES)
        self._attempts_topic = settings.topic(Topic.DELIVERY_ATTEMPTS)
        self._dead_letter_topic = settings.topic(Topic.DELIVERY_DEAD_LETTER)

    async def start(self) -> None:
        self._batching = await start_batching_producer(
            self.settings.kafka_bootstrap, "switchboard-dispatcher-deliveries"
        )

    async def stop(self) -> None:
        batching, self._batching = self._batching, None
        await stop_batching_producer(batching)

    @property
    def batching(self) -> BatchingProducer:
        if self._batching is None:
            raise RuntimeError("HotPathProducer.start() was not awaited")
        return self._batching

    async def tasks(self, tasks: list[DeliveryTask]) -> None:
        """Write the tasks (keyed by endpoint) and return once Kafka acknowledged all of them."""
        await self.batching.send_many(
            self._tasks_topic, [(task.key.encode(), task_json(task)) for task in tasks]
        )

    async def attempt(self, event: CloudEvent) -> None:
        """Write one attempt's ``delivery.*`` event and return once Kafka acknowledged it."""
        await self.batching.send(
            self._attempts_topic,
            event.kafka_value(),
            key=event.kafka_key(),
            headers=event.kafka_header_list(),
        )

    async def dead_letter(self, task: DeliveryTask) -> None:
        await self.batching.send(self._dead_letter_topic, task_json(task), key=task.endpoint_id.encode())
