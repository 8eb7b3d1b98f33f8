"""CPU cost of the dispatcher's per-delivery work outside HTTP and the Kafka client, stage by stage.

Runs in-process with no I/O (``python -m bench.dispatch.stages``): the same functions the fan-out and delivery
stages call for one delivery, each timed over many repetitions. Together with the HTTP client loops (the
HTTP share) and the dispatcher's measured CPU per delivery, it says where a delivery's CPU goes; what is left
over is the Kafka client (four records per delivery: the event read, the task written and read back, the
attempt written) and asyncio scheduling.
"""

from __future__ import annotations

import argparse
import json
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.common import BENCH_HOST
from bench.dispatch.common import EVENT_TYPE, event_data
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt
from switchboard_contracts.signing import generate_secret
from switchboard_dispatcher.domain.decisions import AttemptResult, History, decide
from switchboard_dispatcher.domain.payloads import build_request
from switchboard_dispatcher.domain.policy import judge_status
from switchboard_dispatcher.domain.records import attempt_event
from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json
from switchboard_dispatcher.fanout import tasks_for
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.view import ConfigView
from switchboard_platform.settings import Environment, ServiceSettings
from switchboard_testing.builders import config_record


def microseconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # first call outside the timing (lazy imports, caches)
    return min(timeit.repeat(fn, number=repeat, repeat=3)) / repeat * 1e6


def measure(endpoints: int = 4, body_bytes: int = 1024, repeat: int = 2000) -> dict[str, float]:
    """Microseconds of CPU per delivery for each stage (per-event work divided by ``endpoints``)."""
    box = ServiceSettings(environment=Environment.TEST).secrets_box()
    view = ConfigView(box)
    for i in range(endpoints):
        view.apply(
            "webhook",
            f"bench-{i}",
            1,
            config_record(
                "webhook",
                f"bench-{i}",
                "bench",
                {
                    "url": f"http://{BENCH_HOST}:1/hooks/bench-{i}",
                    "events": [EVENT_TYPE],
                    "active": True,
                    "secret": box.encrypt(generate_secret()),
                    "delivery": {"max_in_flight": 64, "rate_limit_per_minute": 1_000_000},
                },
            ),
        )
    published = CloudEvent(
        source="//bench",
        type=EVENT_TYPE,
        tenant="bench",
        partitionkey="conv-1",
        data=event_data(1, "stages", time.time(), body_bytes),
    )
    value = published.kafka_value()
    headers = published.kafka_header_list()
    event = CloudEvent.from_kafka(value, headers)
    task = tasks_for(view, event)[0]
    raw_task = task_json(task)
    target = view.target("webhook", task.endpoint_id)
    assert target is not None
    metrics = DispatcherMetrics()
    attempt_fields: dict[str, Any] = {
        "delivery_id": task.delivery_id,
        "event_id": event.id,
        "event_type": event.type,
        "tenant_id": task.tenant_id,
        "endpoint_id": task.endpoint_id,
        "endpoint_kind": "webhook",
        "url": target.url,
        "attempt": 1,
        "status_code": 200,
        "latency_ms": 1.0,
        "response_body": "ok",
        "error_kind": None,
        "error": None,
        "attempted_at": datetime.now(UTC),
        "command_id": None,
    }

    result = AttemptResult(judge_status(200, "webhook"), 200, "ok", 1.0)
    attempted_at = datetime.now(UTC)

    def attempt_record() -> None:
        # What the engine and HotPathProducer.attempt do per attempt, up to the bytes handed to Kafka.
        event = attempt_event(DeliveryAttempt(**attempt_fields, outcome="succeeded"))
        event.kafka_value(), event.kafka_key(), event.kafka_header_list()

    def metric_updates() -> None:
        # What the fan-out and the engine update per delivery, through the same cached children.
        child = metrics.child
        child(metrics.fanned_out, "matched").inc()
        child(metrics.tasks_created, "webhook").inc()
        child(metrics.in_flight, target.key).set(1)
        child(metrics.latency, "webhook").observe(0.001)
        child(metrics.deliveries, "webhook", "succeeded").inc()
        child(metrics.in_flight, target.key).set(0)

    stages: dict[str, Callable[[], object]] = {
        "fan-out: decode the event (÷ endpoints)": lambda: CloudEvent.from_kafka(value, headers),
        "fan-out: match webhooks, build tasks (÷ endpoints)": lambda: tasks_for(view, event),
        "fan-out: serialize the task": lambda: task_json(task),
        "engine: parse the task": lambda: DeliveryTask.model_validate_json(raw_task),
        "engine: resolve the target, twice (cached in the config view)": lambda: (
            view.target("webhook", task.endpoint_id),
            view.target("webhook", task.endpoint_id),
        ),
        "engine: rebuild the CloudEvent from the task": lambda: CloudEvent.from_structured(task.event),
        "engine: build and sign the request": lambda: build_request(target, event, task.delivery_id, 1),
        "engine: decide what the attempt means": lambda: decide(result, target, History(1, attempted_at)),
        "engine: attempt record → CloudEvent → Kafka encoding": attempt_record,
        "metrics: Prometheus updates": metric_updates,
    }
    per_event = {key for key in stages if key.endswith("(÷ endpoints)")}
    return {
        name: round(microseconds(fn, repeat) / (endpoints if name in per_event else 1), 1)
        for name, fn in stages.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch.stages", description=__doc__)
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--body-bytes", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    costs = measure(args.endpoints, args.body_bytes, args.repeat)
    if args.json:
        print(json.dumps(costs))
        return 0
    for name, cost in costs.items():
        print(f"{cost:8.1f} µs  {name}")
    print(f"{sum(costs.values()):8.1f} µs  total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
