"""In-memory fakes of the fan-out's and engine's ports, and the stages built on them over an in-memory topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pymongo.errors import ServerSelectionTimeoutError

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EndpointKind
from switchboard_contracts.signing import generate_secret
from switchboard_dispatcher.adapters.http import Response, SendError
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json
from switchboard_dispatcher.engine import DeliveryEngine
from switchboard_dispatcher.fanout import FanOut, PublishTasks
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_testing.memory_kafka import MemoryConsumer, MemoryTopic


def webhook(endpoint_id: str = "w1", **fields: object) -> Target:
    values: dict[str, object] = {
        "kind": "webhook",
        "id": endpoint_id,
        "tenant_id": "acme",
        "url": f"https://hooks.test/{endpoint_id}",
        "secrets": (generate_secret(),),
        **fields,
    }
    return Target(**values)  # type: ignore[arg-type]  # the test's fields are Target's


class FakeTargets:
    """Every endpoint of the event's tenant is subscribed to it."""

    def __init__(self, *targets: Target) -> None:
        self.targets = {(target.kind, target.id): target for target in targets}
        self.disabled: list[tuple[EndpointKind, str]] = []

    def targets_for(self, event: CloudEvent) -> list[Target]:
        return [target for target in self.targets.values() if target.tenant_id == event.tenant]

    def target(self, kind: EndpointKind, endpoint_id: str) -> Target | None:
        return self.targets.get((kind, endpoint_id))

    def disable_locally(self, kind: EndpointKind, endpoint_id: str) -> None:
        self.targets.pop((kind, endpoint_id), None)
        self.disabled.append((kind, endpoint_id))


@dataclass
class Sent:
    url: str
    headers: dict[str, str]


@dataclass
class ScriptedSender:
    """Answers each URL from its script, in order, then ``default``; an ``asyncio.Event`` in a script holds
    that request until it is set, then answers 200."""

    scripts: dict[str, list[int | SendError | asyncio.Event]] = field(default_factory=dict)
    default: int = 200
    sent: list[Sent] = field(default_factory=list)

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float, method: str = "POST"
    ) -> Response:
        self.sent.append(Sent(url, headers))
        script = self.scripts.get(url)
        answer = script.pop(0) if script else self.default
        if isinstance(answer, asyncio.Event):
            await answer.wait()
            answer = 200
        if isinstance(answer, SendError):
            raise answer
        return Response(status=answer, headers={}, body="", latency_ms=1.0)


@dataclass
class FakeSchedule:
    deferred: list[tuple[DeliveryTask, datetime]] = field(default_factory=list)
    unavailable: bool = False

    async def defer(self, items: list[tuple[DeliveryTask, datetime]]) -> None:
        if self.unavailable:
            raise ServerSelectionTimeoutError("the schedule's MongoDB is down")
        self.deferred.extend(items)


@dataclass
class FakeHealth:
    failing_too_long: bool = False
    failures: int = 0

    async def succeeded(self, key: str) -> None:
        self.failures = 0

    async def failed(self, key: str, now: datetime | None = None) -> bool:
        self.failures += 1
        return self.failing_too_long


@dataclass
class EngineRun:
    """A delivery engine over an in-memory deliveries topic, and what it produced."""

    topic: MemoryTopic
    consumer: MemoryConsumer
    engine: DeliveryEngine
    view: FakeTargets
    sender: ScriptedSender
    schedule: FakeSchedule
    health: FakeHealth
    attempts: list[CloudEvent] = field(default_factory=list)
    dead_letters: list[DeliveryTask] = field(default_factory=list)
    platform_events: list[CloudEvent] = field(default_factory=list)

    def add(self, task: DeliveryTask) -> None:
        self.topic.append(task_json(task), key=task.key.encode())

    def outcomes(self) -> list[str]:
        return [event.type for event in self.attempts]


def task_for(target: Target, event: CloudEvent | None = None, **fields: object) -> DeliveryTask:
    event = event or CloudEvent(source="/tests", type="message.created", tenant=target.tenant_id, data={})
    values: dict[str, object] = {
        "delivery_id": f"msg_{event.id}",
        "tenant_id": target.tenant_id,
        "endpoint_kind": target.kind,
        "endpoint_id": target.id,
        "event": event.structured(),
        **fields,
    }
    return DeliveryTask.model_validate(values)


@asynccontextmanager
async def engine_run(
    *targets: Target,
    topic: MemoryTopic | None = None,
    sender: ScriptedSender | None = None,
    schedule: FakeSchedule | None = None,
    health: FakeHealth | None = None,
    max_unsettled: int = 2000,
    stop_grace_s: float = 10.0,
) -> AsyncIterator[EngineRun]:
    topic = topic or MemoryTopic("deliveries")
    consumer = MemoryConsumer(topic, group_id="deliveries")
    view = FakeTargets(*targets)
    sender = sender or ScriptedSender()
    schedule = schedule or FakeSchedule()
    health = health or FakeHealth()
    attempts: list[CloudEvent] = []
    dead_letters: list[DeliveryTask] = []
    platform_events: list[CloudEvent] = []

    async def publish_attempt(event: CloudEvent) -> None:
        attempts.append(event)

    async def publish_platform_event(event: CloudEvent) -> None:
        platform_events.append(event)

    async def publish_dead_letter(task: DeliveryTask) -> None:
        dead_letters.append(task)

    engine = DeliveryEngine(
        consumer=consumer,
        view=view,
        sender=sender,
        schedule=schedule,
        health=health,
        metrics=DispatcherMetrics(),
        publish_attempt=publish_attempt,
        publish_platform_event=publish_platform_event,
        publish_dead_letter=publish_dead_letter,
        max_unsettled_per_partition=max_unsettled,
        commit_interval_s=0.0,
    )
    run = EngineRun(
        topic, consumer, engine, view, sender, schedule, health, attempts, dead_letters, platform_events
    )
    await engine.start()
    try:
        yield run
    finally:
        await engine.stop(grace_s=stop_grace_s)


@dataclass
class FanOutRun:
    """A fan-out over an in-memory platform-events topic, and the task batches it published."""

    topic: MemoryTopic
    consumer: MemoryConsumer
    fanout: FanOut
    published: list[list[DeliveryTask]]

    def add(self, event: CloudEvent) -> None:
        self.topic.append(event.kafka_value(), key=event.kafka_key(), headers=event.kafka_header_list())


@asynccontextmanager
async def fanout_run(
    *targets: Target, publish: PublishTasks | None = None, topic: MemoryTopic | None = None
) -> AsyncIterator[FanOutRun]:
    topic = topic or MemoryTopic("platform.events")
    consumer = MemoryConsumer(topic, group_id="fanout")
    published: list[list[DeliveryTask]] = []

    async def record(tasks: list[DeliveryTask]) -> None:
        published.append(tasks)

    fanout = FanOut(
        consumer=consumer,
        view=FakeTargets(*targets),
        publish=publish or record,
        metrics=DispatcherMetrics(),
        commit_interval_s=0.0,
    )
    await fanout.start()
    try:
        yield FanOutRun(topic, consumer, fanout, published)
    finally:
        await fanout.stop()


async def holds(condition: bool) -> bool:
    """``eventually(lambda: holds(<condition>))`` polls a plain condition."""
    return condition
