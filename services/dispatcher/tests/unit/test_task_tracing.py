"""A delivery task carries its trace context through every hop it takes (topic, schedule, retries)."""

from __future__ import annotations

from datetime import UTC, datetime

from switchboard_dispatcher.domain.tasks import DeliveryTask, task_json

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
