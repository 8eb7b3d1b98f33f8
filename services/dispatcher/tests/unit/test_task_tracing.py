"""A delivery task carries its trace context through every hop it takes (topic, schedule, retries, commands)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import CommandType
from switchboard_dispatcher import commands
from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json
from switchboard_platform import telemetry
from switchboard_platform.consumers import TopicConsumer

FAN_OUT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
FIRST_ATTEMPT = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"


def task() -> DeliveryTask:
    return DeliveryTask(
        delivery_id="msg_1",
        tenant_id="acme",
        endpoint_kind="webhook",
        endpoint_id="wh-1",
        event={"id": "e-1"},
        traceparent=FAN_OUT,
    )


def test_the_fan_outs_context_survives_the_deliveries_topic_and_the_schedule() -> None:
    original = task()
    assert DeliveryTask.model_validate_json(task_json(original)).traceparent == FAN_OUT
    assert DeliveryTask.model_validate(original.model_dump(mode="json")).traceparent == FAN_OUT


def test_a_retry_keeps_the_fan_outs_context_and_names_the_attempt_it_retries() -> None:
    retry = task().next_attempt("retry", datetime.now(UTC), FIRST_ATTEMPT)
    assert (retry.attempt, retry.traceparent, retry.retry_of) == (2, FAN_OUT, FIRST_ATTEMPT)


def test_a_task_written_before_tracing_existed_still_reads() -> None:
    old = b'{"delivery_id":"msg_1","attempt":1,"tenant_id":"acme","endpoint_kind":"webhook","endpoint_id":"wh-1","event":{}}'
    assert DeliveryTask.model_validate_json(old).traceparent is None


@pytest.fixture
def tracing() -> Iterator[None]:
    telemetry.use_tracer_provider(TracerProvider())
    yield
    telemetry.use_tracer_provider(None)


@pytest.mark.usefixtures("tracing")
async def test_a_commands_tasks_continue_the_trace_of_whoever_sent_it() -> None:
    command = CloudEvent(
        source="/switchboard/registry",
        type=CommandType.SEND_TEST,
        tenant="acme",
        data={"event_id": "e-1", "tenant_id": "acme", "endpoint_id": "wh-1"},
        traceparent=FAN_OUT,
    )
    published: list[DeliveryTask] = []

    async def publish(tasks: list[DeliveryTask]) -> None:
        published.extend(tasks)

    def no_dead_letters() -> TopicConsumer:
        raise AssertionError("a test command reads no dead letters")

    await commands.handle(command, publish, no_dead_letters)
    (sent,) = published
    assert sent.traceparent is not None
    assert sent.traceparent.split("-")[1] == FAN_OUT.split("-")[1]
