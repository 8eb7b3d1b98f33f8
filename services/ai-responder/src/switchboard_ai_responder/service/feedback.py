"""Feedback: ``feedback.received`` recorded once per event, and the event the API publishes for it."""

from __future__ import annotations

from typing import Any

from switchboard_ai_responder.domain import outputs
from switchboard_ai_responder.domain.conversation import derived_id, event_key
from switchboard_ai_responder.service.ports import Stores
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EventType, Feedback, FeedbackReceived


async def record_feedback(stores: Stores, event: CloudEvent) -> str:
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
    nested = data.get("feedback")
    # seed 003's shape is {feedback: {...}}; other producers' flat objects are recorded as they are.
    feedback: dict[str, Any] = nested if isinstance(nested, dict) else data
    tenant_id = event.tenant or str(feedback.get("tenant_id") or "")
    if not tenant_id:
        return "invalid"
    recorded = await stores.feedback.record(event_key(event.source, event.id), tenant_id, feedback, event.id)
    return "recorded" if recorded else "duplicate"


def feedback_event(feedback: Feedback) -> CloudEvent:
    return CloudEvent(
        id=derived_id(feedback.id, "feedback"),
        source=outputs.SOURCE,
        type=EventType.FEEDBACK_RECEIVED,
        subject=feedback.conversation_id,
        tenant=feedback.tenant_id,
        partitionkey=feedback.conversation_id or feedback.id,
        data=FeedbackReceived(feedback=feedback),
    )
