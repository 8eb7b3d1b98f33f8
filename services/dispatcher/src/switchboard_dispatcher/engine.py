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

The stage uses aiokafka directly rather than a FastStream subscriber because it settles messages out of
order and commits watermarks itself; FastStream's per-message ack commits the consumer's position.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo.errors import PyMongoError

from switchboard_dispatcher.adapters.health import EndpointHealth
from switchboard_dispatcher.adapters.http import HttpSender, SendError
from switchboard_dispatcher.adapters.schedule import Schedule
from switchboard_dispatcher.domain.partners import USER_AGENT as PARTNER_USER_AGENT
from switchboard_dispatcher.domain.partners import MissingCredential, requests_for
from switchboard_dispatcher.domain.payloads import build_request
from switchboard_dispatcher.domain.policy import Outcome, Verdict, judge_status, next_delay, parse_retry_after
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.view import ConfigView
from switchboard_shared import telemetry
from switchboard_shared.cloudevents import CloudEvent, CloudEventError
from switchboard_shared.events import AttemptOutcome, DeliveryAttempt, EventType

log = logging.getLogger(__name__)

Publish = Callable[[CloudEvent], Awaitable[None]]
PublishTask = Callable[[DeliveryTask], Awaitable[None]]
#: What one attempt produced: status, response body, latency (ms), outcome, Retry-After, next partner step.
Sent = tuple[int | None, str | None, float, Outcome, timedelta | None, int]
SOURCE = "/switchboard/dispatcher"


class PartitionWatermark:
    """Unsettled offsets of one partition; ``committable()`` is the next offset to commit."""

    def __init__(self) -> None:
        self.open: deque[int] = deque()
        self.settled: set[int] = set()
        self.last_settled_prefix: int | None = None

    def add(self, offset: int) -> None:
        self.open.append(offset)

    def settle(self, offset: int) -> None:
        self.settled.add(offset)
        while self.open and self.open[0] in self.settled:
            first = self.open.popleft()
            self.settled.discard(first)
            self.last_settled_prefix = first

    @property
    def unsettled(self) -> int:
        return len(self.open)

    def committable(self) -> int | None:
        return None if self.last_settled_prefix is None else self.last_settled_prefix + 1


@dataclass(eq=False)
class Entry:
    tp: TopicPartition
    offset: int
    task: DeliveryTask
    settled: bool = False


@dataclass(eq=False)
class Lane:
    """One endpoint's queue and limits."""

    key: str
    max_in_flight: int = 10
    rate_per_minute: int = 100
    ordered: bool = False
    queue: deque[Entry] = field(default_factory=deque)
    in_flight: int = 0
    starts: deque[float] = field(default_factory=deque)
    wake: asyncio.TimerHandle | None = None

    def configure(self, target: Target) -> None:
        self.ordered = target.ordered
        self.max_in_flight = 1 if target.ordered else target.max_in_flight
        self.rate_per_minute = target.rate_per_minute

    def rate_slot_in(self, now: float) -> float:
        """Seconds until another start is allowed (0 when one is allowed now)."""
        while self.starts and self.starts[0] <= now - 60:
            self.starts.popleft()
        if len(self.starts) < self.rate_per_minute:
            return 0.0
        return self.starts[0] + 60 - now

    @property
    def overflow_limit(self) -> int:
        # What the lane can start within about a minute; beyond that, waiting in memory would hold offsets.
        return max(self.rate_per_minute, self.max_in_flight * 4, 50)


class DeliveryEngine:
    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        group_id: str,
        view: ConfigView,
        sender: HttpSender,
        schedule: Schedule,
        health: EndpointHealth,
        metrics: DispatcherMetrics,
        publish_attempt: Publish,
        publish_platform_event: Publish,
        publish_dead_letter: PublishTask,
        fan_out_attempt: Publish | None = None,
        max_unsettled_per_partition: int = 2000,
        commit_interval_s: float = 0.5,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group_id = group_id
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
        self._consumer: AIOKafkaConsumer | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._attempts: set[asyncio.Task[None]] = set()
        #: Retries waiting in memory because the schedule (MongoDB) was unavailable.
        self._waiting: set[asyncio.TimerHandle] = set()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            client_id="switchboard-dispatcher-deliveries",
        )
        await self._consumer.start()
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
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._commit()
            await self._consumer.stop()
            self._consumer = None

    # -- consuming ---------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._consumer is not None  # noqa: S101 - start() set it
        last_commit = time.monotonic()
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=500)
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
        assert self._consumer is not None  # noqa: S101
        for tp, watermark in self.watermarks.items():
            if tp not in self.paused and watermark.unsettled >= self.max_unsettled:
                self._consumer.pause(tp)
                self.paused.add(tp)
            elif tp in self.paused and watermark.unsettled <= self.max_unsettled // 2:
                self._consumer.resume(tp)
                self.paused.discard(tp)

    async def _commit(self) -> None:
        if self._consumer is None:
            return
        offsets = {}
        assigned = self._consumer.assignment()
        for tp, watermark in self.watermarks.items():
            committable = watermark.committable()
            if committable is not None and tp in assigned:
                offsets[tp] = OffsetAndMetadata(committable, "")
        if offsets:
            await self._consumer.commit(offsets)
        self._update_lag()

    def _update_lag(self) -> None:
        if self._consumer is not None:
            self.metrics.report_lag("deliveries", self._consumer, self._committable)

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
            if target.kind == "partner":
                sent = await self._send_partner(target, event, task, attempted_at)
            else:
                sent = await self._send_one(target, event, task, attempted_at)
            if sent is None:
                # A partner integration with nothing to call for this event (a provider without that action).
                self._settle(entry)
                return
            status, response_body, latency, outcome, retry_after, step = sent
            self.metrics.child(self.metrics.latency, target.kind).observe(latency / 1000)
            # The attempt's record; _emit adds its outcome (one model built per attempt, not copied).
            record: dict[str, Any] = {
                "delivery_id": task.delivery_id,
                "event_id": event.id,
                "event_type": event.type,
                "tenant_id": task.tenant_id,
                "endpoint_id": task.endpoint_id,
                "endpoint_kind": task.endpoint_kind,
                "url": target.url,
                "attempt": task.attempt,
                "status_code": status,
                "latency_ms": round(latency, 3),
                "response_body": response_body,
                "error_kind": outcome.error_kind,
                "error": outcome.error,
                "attempted_at": attempted_at,
                "command_id": task.command_id,
            }
            if outcome.verdict is Verdict.SUCCESS:
                await self._emit(record, "succeeded")
                await self.health.succeeded(target.key)
                self._settle(entry)
                return
            if outcome.verdict is Verdict.GONE:
                await self.publish_dead_letter(task)
                await self._emit(record, "failed")
                await self._disable(target, outcome.error or "410 Gone", attempted_at)
                self._settle(entry)
                return
            if await self.health.failed(target.key, attempted_at) and target.kind == "webhook":
                await self._disable(
                    target, "failing continuously for longer than the disable period", attempted_at
                )
            if outcome.verdict is Verdict.FAIL:
                await self.publish_dead_letter(task)
                await self._emit(record, "failed")
                self._settle(entry)
                return
            delay = next_delay(list(target.retry_schedule), task.attempt, retry_after=retry_after)
            if delay is None:
                await self.publish_dead_letter(task)
                await self._emit(record, "exhausted")
                self._settle(entry)
                return
            due = attempted_at + delay
            record["next_attempt_at"] = due
            if lane.ordered:
                # FIFO: retry in place so nothing overtakes this delivery.
                await self._emit(record, "retry_scheduled")
                self.metrics.child(self.metrics.retries, target.kind).inc()
                await asyncio.sleep(delay.total_seconds())
                task = task.next_attempt("retry", first, telemetry.traceparent()).model_copy(
                    update={"step": step}
                )
                entry.task = task
                continue
            retry = task.next_attempt("retry", first, telemetry.traceparent()).model_copy(
                update={"step": step}
            )
            try:
                await self.schedule.defer([(retry, due)])
            except PyMongoError as exc:
                # MongoDB is down: the retry waits in memory instead, its offset unsettled (a crash replays the
                # task from Kafka). Repeating this attempt now, as any other failure would, would hammer a
                # failing endpoint for as long as the outage lasts.
                log.warning(
                    "retry kept in memory (schedule unavailable)",
                    extra={"delivery_id": task.delivery_id, "error": type(exc).__name__},
                )
                await self._emit(record, "retry_scheduled")
                self.metrics.child(self.metrics.retries, target.kind).inc()
                entry.task = retry
                self._retry_later(lane, entry, delay)
                return
            await self._emit(record, "retry_scheduled")
            self.metrics.child(self.metrics.retries, target.kind).inc()
            self._settle(entry)
            return

    async def _send_one(self, target: Target, event: CloudEvent, task: DeliveryTask, now: datetime) -> Sent:
        body, headers = build_request(target, event, task.delivery_id, task.attempt, now)
        try:
            response = await self.sender.send(target.url, body, headers, target.timeout_s)
        except SendError as exc:
            verdict = Verdict.FAIL if exc.kind == "ssrf_blocked" else Verdict.RETRY
            return None, None, exc.latency_ms, Outcome(verdict, exc.kind, exc.message), None, 0
        outcome = judge_status(response.status, target.kind)
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        return response.status, response.body, response.latency_ms, outcome, retry_after, 0

    async def _send_partner(
        self, target: Target, event: CloudEvent, task: DeliveryTask, now: datetime
    ) -> Sent | None:
        """Call the partner's API for this event, request by request from ``task.step``; stop at the first
        failure, reporting its index so the retry resumes there."""
        try:
            requests = requests_for(target.provider or "", target.credentials, event)
        except MissingCredential as exc:
            return None, None, 0.0, Outcome(Verdict.FAIL, "other", str(exc)), None, task.step
        if not requests:
            return None
        latency = 0.0
        last: tuple[int | None, str | None] = (None, None)
        for index in range(task.step, len(requests)):
            request = requests[index]
            body = json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": PARTNER_USER_AGENT,
                **request.headers,
            }
            try:
                response = await self.sender.send(
                    request.url, body, headers, target.timeout_s, method=request.method
                )
            except SendError as exc:
                verdict = Verdict.FAIL if exc.kind == "ssrf_blocked" else Verdict.RETRY
                return (
                    None,
                    None,
                    latency + exc.latency_ms,
                    Outcome(verdict, exc.kind, exc.message),
                    None,
                    index,
                )
            latency += response.latency_ms
            last = (response.status, response.body)
            outcome = judge_status(response.status, "partner")
            if outcome.verdict is Verdict.GONE:
                # A partner API's 410 is about the conversation, not a reason to disable the integration.
                outcome = Outcome(Verdict.FAIL, outcome.error_kind, f"{request.purpose}: HTTP 410")
            if outcome.verdict is not Verdict.SUCCESS:
                error = f"{request.purpose} ({index + 1}/{len(requests)}): {outcome.error}"
                retry_after = parse_retry_after(response.headers.get("retry-after"), now)
                return (
                    response.status,
                    response.body,
                    latency,
                    Outcome(outcome.verdict, outcome.error_kind, error),
                    retry_after,
                    index,
                )
        return last[0], last[1], latency, Outcome(Verdict.SUCCESS), None, len(requests)

    async def _emit(self, fields: dict[str, Any], outcome: AttemptOutcome) -> None:
        self.metrics.child(self.metrics.deliveries, fields["endpoint_kind"], outcome).inc()
        event = attempt_event(fields, outcome)
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
        await self.publish_platform_event(
            CloudEvent(
                source=SOURCE,
                type=EventType.WEBHOOK_DISABLED,
                tenant=target.tenant_id,
                subject=target.id,
                partitionkey=target.id,
                data={
                    "endpoint_id": target.id,
                    "endpoint_kind": target.kind,
                    "url": target.url,
                    "reason": reason,
                    "disabled_at": when.isoformat(),
                },
            )
        )
        log.warning("endpoint disabled", extra={"endpoint": target.key, "reason": reason})


def attempt_event(fields: dict[str, Any], outcome: AttemptOutcome) -> CloudEvent:
    """The ``delivery.<outcome>`` event recording one attempt, keyed by its endpoint."""
    record = DeliveryAttempt(**fields, outcome=outcome)
    return CloudEvent(
        source=SOURCE,
        type=f"delivery.{outcome}",
        tenant=record.tenant_id,
        subject=record.delivery_id,
        partitionkey=f"{record.endpoint_kind}:{record.endpoint_id}",
        data=record,
    )
