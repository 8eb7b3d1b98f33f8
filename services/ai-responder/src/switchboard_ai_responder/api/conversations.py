"""``/api/tenants/{tenant_id}/conversations``: memory, and seed 002's live chat (agent messages, closing)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from switchboard_ai_responder.deps import (
    CONFLICT,
    TENANT_ERRORS,
    ReadAccess,
    ServicesDep,
    WriteAccess,
    envelope,
)
from switchboard_ai_responder.domain.conversation import Conversation
from switchboard_ai_responder.service import Conflict, NotFound
from switchboard_contracts.events import Author
from switchboard_contracts.fields import DisplayName
from switchboard_platform.http import ApiError, BoundedJsonRoute

router = APIRouter(
    prefix="/api/tenants/{tenant_id}/conversations",
    tags=["conversations"],
    responses=TENANT_ERRORS,
    route_class=BoundedJsonRoute,
)


class AgentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=10 * 1024, description="seed 002: at most 10 KB")
    agent_id: str | None = Field(default=None, max_length=200)
    agent_name: DisplayName = Field(default="Agent", min_length=1, max_length=200, examples=["Agent Sarah"])


def _public(conversation: Conversation) -> dict[str, Any]:
    return {
        "tenant_id": conversation.tenant_id,
        "conversation_id": conversation.conversation_id,
        "provider": conversation.provider,
        "integration_id": conversation.integration_id,
        "user_id": conversation.user_id,
        "mode": conversation.mode,
        "session_id": conversation.session_id,
        "low_confidence_streak": conversation.low_confidence_streak,
        "last_activity_at": conversation.last_activity_at,
        "expires_at": conversation.expires_at,
        "history": [
            {"role": turn.role, "text": turn.text, "at": turn.at, "event_key": turn.event_id}
            for turn in conversation.history
        ],
    }


def _mapped(exc: Exception) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", str(exc))
    return ApiError(409, "conflict", str(exc))


@router.get("", summary="List conversations, most recently active first")
async def list_conversations(
    tenant_id: str,
    _: ReadAccess,
    services: ServicesDep,
    mode: Literal["bot", "live"] | None = Query(default=None, description="live: open live-chat sessions"),
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    conversations = await services.stores.conversations.list(tenant_id, mode, limit)
    return envelope([_public(conversation) for conversation in conversations])


@router.get("/{conversation_id}", summary="A conversation's memory and live-chat state")
async def get_conversation(
    tenant_id: str, conversation_id: str, _: ReadAccess, services: ServicesDep
) -> dict[str, Any]:
    conversation = await services.stores.conversations.get(tenant_id, conversation_id)
    if conversation is None:
        raise ApiError(404, "not_found", "conversation not found")
    return envelope(_public(conversation))


@router.post(
    "/{conversation_id}/agent-messages",
    status_code=status.HTTP_202_ACCEPTED,
    summary="An agent's message to the user during live chat (published as message.replied, author agent)",
    responses=CONFLICT,
)
async def post_agent_message(
    tenant_id: str, conversation_id: str, body: AgentMessage, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    agent = Author(id=body.agent_id, name=body.agent_name, type="agent")
    try:
        event = await services.operations.agent_message(tenant_id, conversation_id, body.text, agent)
    except (NotFound, Conflict) as exc:
        raise _mapped(exc) from None
    return envelope({"event_id": event.id, "type": event.type})


@router.post(
    "/{conversation_id}/handoff/close",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Close the live-chat session: handoff.closed, and the bot answers again",
    responses=CONFLICT,
)
async def close_handoff(
    tenant_id: str, conversation_id: str, _: WriteAccess, services: ServicesDep
) -> dict[str, Any]:
    try:
        event = await services.operations.close_session(tenant_id, conversation_id)
    except (NotFound, Conflict) as exc:
        raise _mapped(exc) from None
    return envelope({"event_id": event.id, "type": event.type, "session_id": event.data.session_id})
