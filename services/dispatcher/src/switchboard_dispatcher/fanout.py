"""The fan-out stage: ``platform.events`` → one delivery task per matching endpoint on the deliveries topic.

At-least-once: a batch's offsets are committed after every task it produced was acknowledged by Kafka. A crash
in between replays the batch; the replayed tasks carry the same deterministic delivery ids. The topic is read
through a ``TopicConsumer`` (aiokafka, or its in-memory twin in the unit tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_dispatcher.domain.tasks import DeliveryTask, delivery_id
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.ports import Targets
from switchboard_platform import telemetry
from switchboard_platform.consumers import TopicConsumer

log = logging.getLogger(__name__)

PublishTasks = Callable[[list[DeliveryTask]], Awaitable[None]]


def tasks_for(view: Targets, event: CloudEvent) -> list[DeliveryTask]:
    envelope: dict[str, Any] | None = None
    tasks: list[DeliveryTask] = []
    for target in view.targets_for(event):
        envelope = envelope or event.structured()
        tasks.append(
            DeliveryTask(
                delivery_id=delivery_id(event.source, event.id, target.kind, target.id),
                tenant_id=target.tenant_id,
                endpoint_kind=target.kind,
                endpoint_id=target.id,
                event=envelope,
                traceparent=telemetry.traceparent(),
            )
        )
    return tasks


class FanOut:
    def __init__(
        self,
        *,
        consumer: TopicConsumer,
        view: Targets,
        publish: PublishTasks,
        metrics: DispatcherMetrics,
        commit_interval_s: float = 0.5,
    ) -> None:
        #: The platform events topic, read as a consumer group member.
        self.consumer = consumer
        self.commit_interval_s = commit_interval_s
        self.view = view
        self.publish = publish
        self.metrics = metrics
        self._started = False
        self._task: asyncio.Task[None] | None = None
        #: Offsets whose tasks Kafka acknowledged, not yet committed (committed on an interval and at stop).
        self._pending: dict[TopicPartition, int] = {}
        #: The next offset to fan out per partition, for the consumer-lag gauge.
        self._progress: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        await self.consumer.start()
        self._started = True
        self._task = asyncio.create_task(self._run(), name="fan-out")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._started:
            if self._pending:
                with contextlib.suppress(Exception):
                    await self.consumer.commit(self._pending)
                self._pending.clear()
            self._started = False
            await self.consumer.stop()

    async def _run(self) -> None:
        consumer = self.consumer
        pending = self._pending
        last_commit = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                if pending:
                    await consumer.commit(pending)
                    pending.clear()
                    last_commit = time.monotonic()
                self._update_lag()
                continue
            tasks: list[DeliveryTask] = []
            offsets: dict[TopicPartition, int] = {}
            for tp, records in batches.items():
                for record in records:
                    offsets[tp] = record.offset + 1
                    try:
                        event = CloudEvent.from_kafka(record.value, record.headers)
                    except CloudEventError as exc:
                        self.metrics.child(self.metrics.fanned_out, "invalid").inc()
                        log.warning(
                            "invalid event on platform.events skipped: %s",
                            exc,
                            extra={"partition": tp.partition, "offset": record.offset},
                        )
                        continue
                    with telemetry.consuming("fan-out", event, bind_logs=False):
                        created = tasks_for(self.view, event)
                    self.metrics.child(self.metrics.fanned_out, "matched" if created else "unmatched").inc()
                    tasks.extend(created)
            # Publish every task and wait for Kafka's acks before committing: retried until it works, since
            # committing without them would lose deliveries.
            while True:
                try:
                    await self.publish(tasks)
                    break
                except Exception:
                    log.exception("publishing delivery tasks failed; retrying")
                    await asyncio.sleep(1.0)
            for task in tasks:
                self.metrics.child(self.metrics.tasks_created, task.endpoint_kind).inc()
            # Every task up to these offsets is acknowledged, so they may be committed; committing at most every
            # commit_interval_s (rather than per small batch) keeps a quiet stream from paying a commit per record.
            pending.update(offsets)
            self._progress.update(offsets)
            if time.monotonic() - last_commit >= self.commit_interval_s:
                await consumer.commit(pending)
                pending.clear()
                last_commit = time.monotonic()
                self._update_lag()

    def _update_lag(self) -> None:
        """Records on ``platform.events`` not yet fanned out, per partition."""
        self.metrics.report_lag("fanout", self.consumer, self._progress.get)
