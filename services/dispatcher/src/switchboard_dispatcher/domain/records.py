"""The events a delivery attempt produces: its ``delivery.<outcome>`` record, and ``webhook.disabled`` when
the attempt disabled its endpoint."""

from __future__ import annotations

from datetime import datetime

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import DeliveryAttempt, EventType
from switchboard_dispatcher.domain.decisions import AttemptResult, DeliveryDecision, Retry
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask

SOURCE = "/switchboard/dispatcher"


def attempt_record(
    task: DeliveryTask,
    event: CloudEvent,
    target: Target,
    attempted_at: datetime,
    result: AttemptResult,
    decision: DeliveryDecision,
) -> DeliveryAttempt:
    """The attempt as the delivery log records it: what was sent where, what came back, what it meant."""
    return DeliveryAttempt(
        delivery_id=task.delivery_id,
        event_id=event.id,
        event_type=event.type,
        tenant_id=task.tenant_id,
        endpoint_id=task.endpoint_id,
        endpoint_kind=task.endpoint_kind,
        url=target.url,
        attempt=task.attempt,
        outcome=decision.outcome,
        status_code=result.status,
        latency_ms=round(result.latency_ms, 3),
        response_body=result.response_body,
        error_kind=result.outcome.error_kind,
        error=result.outcome.error,
        attempted_at=attempted_at,
        next_attempt_at=decision.at if isinstance(decision, Retry) else None,
        command_id=task.command_id,
    )


def attempt_event(attempt: DeliveryAttempt) -> CloudEvent:
    """The ``delivery.<outcome>`` event recording one attempt, keyed by its endpoint."""
    return CloudEvent(
        source=SOURCE,
        type=f"delivery.{attempt.outcome}",
        tenant=attempt.tenant_id,
        subject=attempt.delivery_id,
        partitionkey=f"{attempt.endpoint_kind}:{attempt.endpoint_id}",
        data=attempt,
    )


def disabled_event(target: Target, reason: str, when: datetime) -> CloudEvent:
    """``webhook.disabled``: the dispatcher stopped delivering to the endpoint (the registry records it)."""
    return CloudEvent(
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
