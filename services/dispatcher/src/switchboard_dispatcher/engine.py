"""The delivery stage: consume delivery tasks, attempt them in per-endpoint lanes, record every attempt.

Delivery semantics: at-least-once. A task's Kafka offset is committed only once its attempt is *settled* —
succeeded, failed for good, or durably handed on (a retry or overflow in the schedule, an exhausted task in
the dead-letter topic) and its attempt event acknowledged by Kafka. Offsets are committed per partition up to
the lowest unsettled one (a watermark), so a crash replays at most the unsettled window; the replayed tasks
carry the same delivery id, which receivers deduplicate on (``webhook-id``).

No head-of-line blocking: tasks of a partition run concurrently, each endpoint in its own lane with its own
limits (at most ``max_in_flight`` concurrent requests, at most ``rate_per_minute`` starts in any 60 s window).
A lane whose backlog grows past what its rate drains in a minute defers the excess to the schedule, so a slow
or rate-limited endpoint never holds the partition. A partition with too many unsettled tasks is paused (the
only back-pressure a hanging endpoint can cause, bounded by its timeout).

FIFO endpoints (``ordered``) run one request at a time and retry in the lane (never via the schedule, which
would reorder), so their later tasks wait — the price of order, paid only by that endpoint.

What an attempt means (retry, dead-letter, disable) is ``domain.decisions.decide``'s answer; the engine makes
the attempt (``sending``), records it (``domain.records``) and carries the answer out.

The stage reads its topic through a ``TopicConsumer`` (aiokafka, or its in-memory twin in tests) rather than
a FastStream subscriber because it settles messages out of order and commits watermarks itself; FastStream's
per-message ack commits the consumer's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from pymongo.errors import PyMongoError

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.events import DeliveryAttempt
from switchboard_dispatcher.domain.decisions import DeadLetter, Disable, History, Succeeded, decide
from switchboard_dispatcher.domain.lanes import Entry, Lane, PartitionWatermark
from switchboard_dispatcher.domain.records import attempt_event, attempt_record, disabled_event
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.ports import Deferrals, Health, Sender, Targets
from switchboard_dispatcher.sending import send_attempt
from switchboard_platform import telemetry
from switchboard_platform.consumers import TopicConsumer

log = logging.getLogger(__name__)

Publish = Callable[[CloudEvent], Awaitable[None]]
PublishTask = Callable[[DeliveryTask], Awaitable[None]]


class DeliveryEngine:
    def __init__(
        self,
        *,
        consumer: TopicConsumer,
        view: Targets,
        sender: Sender,
        schedule: Deferrals,
        health: Health,
        metrics: DispatcherMetrics,
        publish_attempt: Publish,
        publish_platform_event: Publish,
        publish_dead_letter: PublishTask,
        fan_out_attempt: Publish | None = None,
        max_unsettled_per_partition: int = 2000,
        commit_interval_s: float = 0.5,
    ) -> None:
        #: The deliveries topic, read as a consumer group member.
        self.consumer = consumer
        self.view = view
        self.sender = sender
        self.schedule = schedule
        self.health = health
        self.metrics = metrics
        self.publish_attempt = publish_attempt
        self.publish_platform_event = publish_platform_event
        self.publish_dead_letter = publish_dead_letter
        #: Delivers the attempt's own ``delivery.*`` event to the webhooks subscribed to it (before settling).
        self.fan_out_attempt = fan_out_attempt
        self.max_unsettled = max_unsettled_per_partition
        self.commit_interval_s = commit_interval_s
        self.lanes: dict[str, Lane] = {}
        self.watermarks: dict[TopicPartition, PartitionWatermark] = {}
        self.paused: set[TopicPartition] = set()
        self._started = False
        self._loop_task: asyncio.Task[None] | None = None
        self._attempts: set[asyncio.Task[None]] = set()
        #: Retries waiting in memory because the schedule (MongoDB) was unavailable.
        self._waiting: set[asyncio.TimerHandle] = set()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.consumer.start()
        self._started = True
        self._loop_task = asyncio.create_task(self._run(), name="delivery-engine")

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._attempts:
            # Let in-flight attempts settle so their offsets can be committed; the rest replays after restart.
            await asyncio.wait(self._attempts, timeout=grace_s)
        for lane in self.lanes.values():
            if lane.wake is not None:
                lane.wake.cancel()
        for handle in self._waiting:
            handle.cancel()  # unsettled: replayed from Kafka after the restart
        if self._started:
            with contextlib.suppress(Exception):
                await self._commit()
            self._started = False
            await self.consumer.stop()

    # -- consuming ---------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self.consumer
        last_commit = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            for tp, records in batches.items():
                watermark = self.watermarks.setdefault(tp, PartitionWatermark())
                for record in records:
                    watermark.add(record.offset)
                    self._submit(tp, record)
            self._apply_backpressure()
            if time.monotonic() - last_commit >= self.commit_interval_s:
                await self._commit()
                last_commit = time.monotonic()

    def _apply_backpressure(self) -> None:
        for tp, watermark in self.watermarks.items():
            if tp not in self.paused and watermark.unsettled >= self.max_unsettled:
                self.consumer.pause(tp)
                self.paused.add(tp)
            elif tp in self.paused and watermark.unsettled <= self.max_unsettled // 2:
                self.consumer.resume(tp)
                self.paused.discard(tp)

    async def _commit(self) -> None:
        """Commit each assigned partition's watermark: every offset below it is settled."""
        offsets = {}
        assigned = self.consumer.assignment()
        for tp, watermark in self.watermarks.items():
            committable = watermark.committable()
            if committable is not None and tp in assigned:
                offsets[tp] = committable
        if offsets:
            await self.consumer.commit(offsets)
        self.metrics.report_lag("deliveries", self.consumer, self._committable)

    def _committable(self, tp: TopicPartition) -> int | None:
        watermark = self.watermarks.get(tp)
        return watermark.committable() if watermark else None

    def _submit(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> None:
        try:
            task = DeliveryTask.model_validate_json(record.value or b"")
        except ValueError:
            log.error(
                "unreadable delivery task skipped", extra={"partition": tp.partition, "offset": record.offset}
            )
            self.watermarks[tp].settle(record.offset)
            return
        self.enqueue(Entry(tp, record.offset, task))

    # -- lanes -------------------------------------------------------------------------------------------------

    def enqueue(self, entry: Entry) -> None:
        target = self.view.target(entry.task.endpoint_kind, entry.task.endpoint_id)
        if target is None:
            # Deleted, inactive or disabled endpoint: nothing to deliver to. Recorded, then settled.
            self._spawn(self._record_skip(entry))
            return
        lane = self.lanes.get(target.key)
        if lane is None:
            lane = self.lanes[target.key] = Lane(target.key)
        lane.configure(target)
        lane.queue.append(entry)
        self._pump(lane)

    def _pump(self, lane: Lane) -> None:
        now = time.monotonic()
        while lane.queue and lane.in_flight < lane.max_in_flight:
            wait = lane.rate_slot_in(now)
            if wait > 0:
                if lane.wake is None:
                    lane.wake = asyncio.get_running_loop().call_later(wait, self._wake, lane)
                break
            entry = lane.queue.popleft()
            lane.in_flight += 1
            lane.starts.append(now)
            self.metrics.child(self.metrics.in_flight, lane.key).set(lane.in_flight)
            self._spawn(self._attempt(lane, entry))
        if not lane.ordered and len(lane.queue) > lane.overflow_limit:
            self._spawn(self._defer_overflow(lane))

    def _retry_later(self, lane: Lane, entry: Entry, delay: timedelta) -> None:
        """Put ``entry`` (its next attempt) back in its lane after ``delay``; it stays unsettled meanwhile."""

        def due() -> None:
            self._waiting.discard(handle)
            if not self._stopping:
                lane.queue.append(entry)
                self._pump(lane)

        handle = asyncio.get_running_loop().call_later(delay.total_seconds(), due)
        self._waiting.add(handle)

    def _wake(self, lane: Lane) -> None:
        lane.wake = None
        if not self._stopping:
            self._pump(lane)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._attempts.add(task)
        task.add_done_callback(self._attempts.discard)

    def _settle(self, entry: Entry) -> None:
        if not entry.settled:
            entry.settled = True
            watermark = self.watermarks.get(entry.tp)
            if watermark is not None:
                watermark.settle(entry.offset)

    async def _defer_overflow(self, lane: Lane) -> None:
        """Move the backlog beyond what the lane drains in about a minute to the schedule, spread at its rate."""
        excess: list[Entry] = []
        while len(lane.queue) > lane.overflow_limit:
            excess.append(lane.queue.pop())
        excess.reverse()
        now = datetime.now(UTC)
        spacing = 60.0 / max(lane.rate_per_minute, 1)
        items = [
            (
                entry.task.model_copy(update={"reason": "deferred"}),
                now + timedelta(seconds=60 + index * spacing),
            )
            for index, entry in enumerate(excess)
        ]
        try:
            await self.schedule.defer(items)
        except Exception:
            log.exception("could not defer overflow; keeping it in memory", extra={"endpoint": lane.key})
            lane.queue.extend(excess)
            return
        self.metrics.deferred.labels("rate_limit").inc(len(excess))
        for entry in excess:
            self._settle(entry)

    # -- one attempt -------------------------------------------------------------------------------------------

    async def _attempt(self, lane: Lane, entry: Entry) -> None:
        try:
            with entry.task.attempting():
                await self._attempt_and_record(lane, entry)
        except Exception:
            # Never strand an offset: put the same attempt back in the lane after a pause (MongoDB or Kafka
            # may be briefly unavailable); the entry stays unsettled until it is really handled.
            log.exception(
                "attempt handling failed; retrying shortly", extra={"delivery_id": entry.task.delivery_id}
            )
            await asyncio.sleep(1.0)
            if not self._stopping:
                lane.queue.appendleft(entry)
        finally:
            lane.in_flight -= 1
            self.metrics.child(self.metrics.in_flight, lane.key).set(lane.in_flight)
            if not self._stopping:
                self._pump(lane)

    async def _attempt_and_record(self, lane: Lane, entry: Entry) -> None:
        task = entry.task
        while True:
            target = self.view.target(task.endpoint_kind, task.endpoint_id)
            if target is None:
                await self._record_skip(entry)
                return
            try:
                event = CloudEvent.from_structured(task.event)
            except CloudEventError:
                log.error(
                    "delivery task with an invalid event skipped", extra={"delivery_id": task.delivery_id}
                )
                self._settle(entry)
                return
            attempted_at = datetime.now(UTC)
            first = task.first_attempted_at or attempted_at
            result = await send_attempt(self.sender, target, event, task, attempted_at)
            if result is None:
                # A partner integration with nothing to call for this event (a provider without that action).
                self._settle(entry)
                return
            self.metrics.child(self.metrics.latency, target.kind).observe(result.latency_ms / 1000)
            failing_too_long = result.endpoint_failed and await self.health.failed(target.key, attempted_at)
            decision = decide(result, target, History(task.attempt, attempted_at, failing_too_long))
            attempt = attempt_record(task, event, target, attempted_at, result, decision)
            if isinstance(decision, Succeeded):
                await self._emit(attempt)
                await self.health.succeeded(target.key)
                self._settle(entry)
                return
            if isinstance(decision, Disable):
                await self.publish_dead_letter(task)
                await self._emit(attempt)
                await self._disable(target, decision.reason, attempted_at)
                self._settle(entry)
                return
            if decision.disable is not None:
                await self._disable(target, decision.disable, attempted_at)
            if isinstance(decision, DeadLetter):
                await self.publish_dead_letter(task)
                await self._emit(attempt)
                self._settle(entry)
                return
            retry = task.next_attempt("retry", first, telemetry.traceparent()).model_copy(
                update={"step": result.step}
            )
            if decision.in_lane:
                # FIFO: retry in place so nothing overtakes this delivery.
                await self._emit(attempt)
                self.metrics.child(self.metrics.retries, target.kind).inc()
                await asyncio.sleep(decision.delay.total_seconds())
                task = entry.task = retry
                continue
            try:
                await self.schedule.defer([(retry, decision.at)])
            except PyMongoError as exc:
                # MongoDB is down: the retry waits in memory instead, its offset unsettled (a crash replays the
                # task from Kafka). Repeating this attempt now, as any other failure would, would hammer a
                # failing endpoint for as long as the outage lasts.
                log.warning(
                    "retry kept in memory (schedule unavailable)",
                    extra={"delivery_id": task.delivery_id, "error": type(exc).__name__},
                )
                await self._emit(attempt)
                self.metrics.child(self.metrics.retries, target.kind).inc()
                entry.task = retry
                self._retry_later(lane, entry, decision.delay)
                return
            await self._emit(attempt)
            self.metrics.child(self.metrics.retries, target.kind).inc()
            self._settle(entry)
            return

    async def _emit(self, attempt: DeliveryAttempt) -> None:
        self.metrics.child(self.metrics.deliveries, attempt.endpoint_kind, attempt.outcome).inc()
        event = attempt_event(attempt)
        await self.publish_attempt(event)
        if self.fan_out_attempt is not None:
            await self.fan_out_attempt(event)

    async def _record_skip(self, entry: Entry) -> None:
        """The endpoint is deleted, inactive or disabled: keep the task in the dead-letter topic (so a recover
        after re-enabling replays it) and settle."""
        await self.publish_dead_letter(entry.task)
        self.metrics.skipped.labels(entry.task.endpoint_kind).inc()
        self._settle(entry)

    async def _disable(self, target: Target, reason: str, when: datetime) -> None:
        self.view.disable_locally(target.kind, target.id)
        self.metrics.disabled.labels(target.kind).inc()
        await self.publish_platform_event(disabled_event(target, reason, when))
        log.warning("endpoint disabled", extra={"endpoint": target.key, "reason": reason})
