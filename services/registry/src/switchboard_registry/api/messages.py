"""``GET /api/webhook/messages``: seed 002's message history with its filters (platform, message_type, status,
page, per_page), newest first. See ``domain.messages`` for what is recorded and how status is derived."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from switchboard_contracts.events import AuthorType, Provider
from switchboard_platform.http import BoundedJsonRoute, success_body
from switchboard_registry.adapters.messages import MessageHistory
from switchboard_registry.api.envelopes import Page, PageNumber, Pagination, PerPage, errors
from switchboard_registry.deps import ConversationsRead
from switchboard_registry.domain import messages as rules

router = APIRouter(prefix="/api/webhook", tags=["message history"], route_class=BoundedJsonRoute)


def _history(request: Request) -> MessageHistory:
    store: MessageHistory = request.app.state.message_history
    return store


HistoryDep = Annotated[MessageHistory, Depends(_history)]


class MessageDelivery(BaseModel):
    delivery_id: str
    endpoint_kind: str
    endpoint_id: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_attempt_at: str
    status_code: int | None
    error: str | None


class MessagePublic(BaseModel):
    id: str
    message_type: rules.MessageType
    status: rules.MessageStatus
    platform: str | None
    conversation_id: str
    message_id: str | None
    in_reply_to: str | None
    integration_id: str | None
    user_id: str | None
    username: str | None
    sender: str | None
    sender_type: AuthorType
    message: str
    content_type: str
    attachments: list[dict[str, Any]]
    channel: str | None
    metadata: dict[str, Any]
    timestamp: str
    error: str | None
    deliveries: list[MessageDelivery]
    created_at: str
    updated_at: str


@router.get(
    "/messages",
    summary="Message history (seed 002)",
    description="Incoming messages from partner platforms and outgoing replies (AI or live agent), newest "
    "first. status: received (incoming); pending, sent or failed (outgoing, from the reply's delivery to the "
    "platform). Requires the conversations:read scope: it shows conversation content.",
    response_model=Page[MessagePublic],
    responses=errors(401, 403, 422),
)
async def list_messages(
    principal: ConversationsRead,
    history: HistoryDep,
    platform: Annotated[Provider | None, Query(description="freshchat, zendesk, intercom, …")] = None,
    message_type: Annotated[
        rules.MessageType | None, Query(description="incoming, outgoing, agent_outgoing")
    ] = None,
    status: Annotated[
        rules.MessageStatus | None, Query(description="pending, sent, failed, received")
    ] = None,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> dict[str, Any]:
    items, total = await history.page(
        principal.tenant_id,
        page=page,
        per_page=per_page,
        platform=platform,
        message_type=message_type,
        status=status,
    )
    return success_body(
        [rules.public(document) for document in items],
        pagination=Pagination.of(page, per_page, total).model_dump(),
    )
