"""Live chat as the consumer sees it: an agent's message goes to the user, and ``handoff.requested`` /
``handoff.closed`` hand the conversation to a live agent and back to the bot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from switchboard_ai_responder.adapters.outcomes import Destination
from switchboard_ai_responder.domain import outputs
from switchboard_ai_responder.domain.conversation import Conversation, closed, opened, session_fields
from switchboard_ai_responder.service.decisions import Decisions
from switchboard_ai_responder.service.memory import Memory
from switchboard_ai_responder.service.ports import Stores, valid
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import Author, HandoffClosed, LiveChatHandoff, MessageReceived, Reply


def agent_reply_events(key: str, reply: Reply, time: datetime) -> list[tuple[Destination, CloudEvent]]:
    """An agent's message to the user: a ``message.replied`` on platform.events for every subscriber, and, in a
    chat-widget conversation, the same event on the replies topic too. The widget has no reply API to call:
    ingress keeps the agent's messages for the widget's poll, and it reads only the replies topic for them, a
    trickle, rather than every replica reading all of platform.events."""
    event = outputs.reply_event(key, "agent", reply, time)
    if reply.provider == "widget":
        return [("platform", event), ("replies", event)]
    return [("platform", event)]


class LiveChat:
    def __init__(
        self, stores: Stores, memory: Memory, decisions: Decisions, clock: Callable[[], datetime]
    ) -> None:
        self.stores = stores
        self.memory = memory
        self.decisions = decisions
        self.clock = clock

    async def route_agent(
        self, event: CloudEvent, key: str, message: MessageReceived, conversation: Conversation
    ) -> str:
        """seed 002's agent_outgoing: during live chat an agent's message goes to the user."""
        if conversation.mode != "live":
            return "recorded"
        reply = Reply(
            tenant_id=message.tenant_id,
            conversation_id=message.conversation_id,
            user_id=conversation.user_id,
            integration_id=conversation.integration_id or message.integration_id,
            provider=conversation.provider or message.provider,
            author=Author(
                id=message.author.id, name=message.author.name, email=message.author.email, type="agent"
            ),
            text=message.text,
        )
        events = agent_reply_events(key, reply, self.clock())
        return await self.decisions.decide(
            key, message.tenant_id, message.conversation_id, "route_agent", events, {}, None
        )

    async def on_handoff(self, event: CloudEvent) -> str:
        handoff = valid(event, LiveChatHandoff)
        if handoff is None:
            return "invalid"
        conversation = await self.memory.load(handoff.tenant_id, handoff.conversation_id)
        if conversation.mode == "live" and conversation.session_id == handoff.session_id:
            return "duplicate"
        await self.stores.conversations.update(
            handoff.tenant_id,
            handoff.conversation_id,
            session_fields(opened(conversation, handoff.session_id)),
        )
        return "live"

    async def on_closed(self, event: CloudEvent) -> str:
        data = valid(event, HandoffClosed)
        if data is None:
            return "invalid"
        conversation = await self.memory.load(data.tenant_id, data.conversation_id)
        after = closed(conversation, data.session_id)
        if after == conversation:
            return "ignored"
        await self.stores.conversations.update(data.tenant_id, data.conversation_id, session_fields(after))
        return "closed"
