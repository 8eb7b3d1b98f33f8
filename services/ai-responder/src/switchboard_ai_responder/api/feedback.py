"""``/api/tenants/{tenant_id}/feedback``: seed 003's ``feedback.received``, accepted and recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from switchboard_ai_responder.deps import TENANT_ERRORS, ReadAccess, ServicesDep, WriteAccess, envelope
from switchboard_ai_responder.service import feedback_event
from switchboard_contracts.events import Feedback
from switchboard_platform.http import ApiError, BoundedJsonRoute

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/feedback",
    tags=["feedback"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    conversation_id: str | None = Field(default=None, max_length=200)
    response_id: str | None = Field(default=None, max_length=200, description="The AiResponse it is about")
    rating: int | None = Field(default=None, ge=1, le=5)
    helpful: bool | None = None
    comment: str | None = Field(default=None, max_length=4000)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Record feedback (published as feedback.received; recorded when the consumer reads it back)",
)
async def post_feedback(
    tenant_id: str, body: FeedbackIn, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    if body.rating is None and body.helpful is None and not body.comment:
        raise ApiError(422, "validation_error", "give a rating, helpful or a comment", field="rating")
    feedback = Feedback(
        id=uuid.uuid4().hex, tenant_id=tenant_id, created_at=datetime.now(UTC), **body.model_dump()
    )
    event = feedback_event(feedback)
    await services.operations.publisher.publish("platform", event)
    return envelope({"event_id": event.id, "feedback": feedback.model_dump(mode="json")})


@router.get("", summary="Recorded feedback, newest first")
async def list_feedback(
    tenant_id: str, _: ReadAccess, services: ServicesDep, limit: int = Query(default=50, ge=1, le=500)
) -> dict[str, Any]:
    documents = await services.stores.feedback.list(tenant_id, limit)
    return envelope(
        [
            {"event_id": doc["event_id"], "feedback": doc["feedback"], "recorded_at": doc["recorded_at"]}
            for doc in documents
        ]
    )
