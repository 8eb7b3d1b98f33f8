"""The events the responder publishes, built from a decision (pure; ids are derived, never random).

Every event goes to ``platform.events`` in CloudEvents binary mode with ``tenant`` set and the conversation id
as ``partitionkey`` and ``subject``, so the dispatcher delivers it and one conversation's events stay in order.
A synchronous waiter (``replyto`` on the inbound event) additionally gets one ``message.replied`` on
``switchboard.replies`` with the matching ``correlationid``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import derived_id
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import (
    CORRELATION_EXTENSION,
    REPLY_STATUS_EXTENSION,
    AiResponse,
    AiResponseEvent,
    AiResponseStatus,
    Author,
    EventType,
    HandoffClosed,
    LiveChatHandoff,
    MessageReceived,
    Reply,
    ReplyStatus,
    Ticket,
)

SOURCE = "/switchboard/ai-responder"
SUBJECT_LIMIT = 120


def _event(
    event_type: str, event_id: str, tenant_id: str, conversation_id: str, data: Any, time: datetime
) -> CloudEvent:
    return CloudEvent(
        id=event_id,
        source=SOURCE,
        type=event_type,
        time=time,
        subject=conversation_id,
        tenant=tenant_id,
        partitionkey=conversation_id,
        data=data,
    )


def bot_author(name: str) -> Author:
    return Author(id="switchboard-ai", name=name, type="bot")


def reply_for(message: MessageReceived, answer: Answer, bot_name: str) -> Reply:
    return Reply(
        tenant_id=message.tenant_id,
        conversation_id=message.conversation_id,
        in_reply_to=message.message_id,
        user_id=message.author.id,
        integration_id=message.integration_id,
        provider=message.provider,
        author=bot_author(bot_name),
        text=answer.text,
        content_type=answer.content_type,
        content_attributes=answer.content_attributes,
        confidence=answer.confidence,
    )


def ai_response(
    response_id: str, message: MessageReceived, answer: Answer, status: AiResponseStatus, at: datetime
) -> AiResponse:
    return AiResponse(
        id=response_id,
        tenant_id=message.tenant_id,
        conversation_id=message.conversation_id,
        in_reply_to=message.message_id,
        question=message.text,
        text=answer.text,
        content_type=answer.content_type,
        content_attributes=answer.content_attributes,
        confidence=answer.confidence,
        provider=answer.provider,
        model=answer.model,
        citations=list(answer.citations),
        status=status,
        created_at=at,
    )


def ticket_for(message: MessageReceived) -> Ticket:
    """seed 003 speaks of tickets; a chat conversation is presented as one (id = conversation id)."""
    subject = " ".join(message.text.split())
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 1] + "…"
    return Ticket(
        id=message.conversation_id,
        subject=subject or "(empty message)",
        message=message.text,
        status="open",
        customer_name=message.author.name,
        customer_email=message.author.email,
    )


def reply_event(key: str, purpose: str, reply: Reply, time: datetime) -> CloudEvent:
    return _event(
        EventType.MESSAGE_REPLIED,
        derived_id(key, purpose),
        reply.tenant_id,
        reply.conversation_id,
        reply,
        time,
    )


def ai_event(
    key: str,
    event_type: EventType,
    response: AiResponse,
    ticket: Ticket,
    time: datetime,
    reason: str | None = None,
) -> CloudEvent:
    data = AiResponseEvent(ticket=ticket, ai_response=response, reason=reason)
    return _event(
        event_type,
        derived_id(key, event_type.value),
        response.tenant_id,
        response.conversation_id,
        data,
        time,
    )


def handoff_event(key: str, handoff: LiveChatHandoff, time: datetime) -> CloudEvent:
    return _event(
        EventType.HANDOFF_REQUESTED,
        derived_id(key, "handoff"),
        handoff.tenant_id,
        handoff.conversation_id,
        handoff,
        time,
    )


def closed_event(event_id: str, closed: HandoffClosed, time: datetime) -> CloudEvent:
    return _event(EventType.HANDOFF_CLOSED, event_id, closed.tenant_id, closed.conversation_id, closed, time)


def sync_reply(
    key: str, correlation_id: str, status: ReplyStatus, reply: Reply, time: datetime
) -> CloudEvent:
    """The answer a synchronous waiter (seed 004's widget) gets on ``switchboard.replies``."""
    event = _event(
        EventType.MESSAGE_REPLIED,
        derived_id(key, "sync"),
        reply.tenant_id,
        reply.conversation_id,
        reply,
        time,
    )
    return event.model_copy(
        update={"extensions": {CORRELATION_EXTENSION: correlation_id, REPLY_STATUS_EXTENSION: status}}
    )
