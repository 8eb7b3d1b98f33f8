"""``/api/tenants/{tenant_id}/reviews``: seed 003's answers held below the confidence threshold."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from switchboard_ai_responder.deps import (
    CONFLICT,
    TENANT_ERRORS,
    ReadAccess,
    ServicesDep,
    WriteAccess,
    envelope,
)
from switchboard_ai_responder.service import Conflict, NotFound
from switchboard_platform.http import ApiError, BoundedJsonRoute

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/reviews",
    tags=["reviews"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str | None = Field(
        default=None, min_length=1, max_length=10 * 1024, description="Send this instead of the AI's text"
    )
    reviewer: str | None = Field(default=None, max_length=200)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000)
    reviewer: str | None = Field(default=None, max_length=200)


def _public(review: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": review["_id"],
        "conversation_id": review["conversation_id"],
        "status": review["status"],
        "ai_response": review["ai_response"],
        "ticket": review["ticket"],
        "edited_text": review.get("edited_text"),
        "reason": review.get("reason"),
        "decided_by": review.get("decided_by"),
        "decided_at": review.get("decided_at"),
        "created_at": review["created_at"],
    }


async def _decide(tenant_id: str, review_id: str, services: ServicesDep, **decision: Any) -> dict[str, Any]:
    try:
        review = await services.operations.decide(tenant_id, review_id, **decision)
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return envelope(_public(review))


@router.get("", summary="List held answers")
async def list_reviews(
    tenant_id: str,
    _: ReadAccess,
    services: ServicesDep,
    status: Literal["pending", "approved", "rejected"] | None = Query(default="pending"),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    return envelope(
        [_public(review) for review in await services.stores.reviews.list(tenant_id, status, limit)]
    )


@router.get("/{review_id}", summary="Get a held answer")
async def get_review(tenant_id: str, review_id: str, _: ReadAccess, services: ServicesDep) -> dict[str, Any]:
    review = await services.stores.reviews.get(tenant_id, review_id)
    if review is None:
        raise ApiError(404, "not_found", "review not found")
    return envelope(_public(review))


@router.post(
    "/{review_id}/approve",
    summary="Release the answer (ai.response.approved + message.replied)",
    responses=CONFLICT,
)
async def approve(
    tenant_id: str, review_id: str, _: WriteAccess, services: ServicesDep, body: Approval | None = None
) -> dict[str, Any]:
    body = body or Approval()
    return await _decide(
        tenant_id, review_id, services, approve=True, by=body.reviewer or "admin", text=body.text
    )


@router.post(
    "/{review_id}/reject",
    summary="Drop the answer (ai.response.rejected with the reason)",
    responses=CONFLICT,
)
async def reject(
    tenant_id: str, review_id: str, body: Rejection, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    return await _decide(
        tenant_id, review_id, services, approve=False, by=body.reviewer or "admin", reason=body.reason
    )
