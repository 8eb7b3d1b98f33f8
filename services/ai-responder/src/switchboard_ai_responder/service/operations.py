"""What the management API does beyond CRUD: live-chat actions (an agent's message, closing the session) and
review decisions on held answers, each published as events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from switchboard_ai_responder.domain import outputs
from switchboard_ai_responder.domain.conversation import Conversation, closed, derived_id, session_fields
from switchboard_ai_responder.service.live_chat import agent_reply_events
from switchboard_ai_responder.service.ports import Conflict, NotFound, Publisher, Stores
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import AiResponse, AiResponseEvent, Author, EventType, HandoffClosed, Reply


class Operations:
    """What the management API does beyond CRUD: live-chat actions and review decisions, published as events."""

    def __init__(
        self, stores: Stores, publisher: Publisher, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.stores = stores
        self.publisher = publisher
        self.clock = clock

    async def _live(self, tenant_id: str, conversation_id: str) -> Conversation:
        conversation = await self.stores.conversations.get(tenant_id, conversation_id)
        if conversation is None or conversation.expired(self.clock()):
            raise NotFound("conversation not found")
        if conversation.mode != "live":
            raise Conflict("the conversation has no open live-chat session")
        return conversation

    async def agent_message(
        self, tenant_id: str, conversation_id: str, text: str, agent: Author
    ) -> CloudEvent:
        """seed 002's agent_outgoing through the API: the agent's message goes to the user."""
        conversation = await self._live(tenant_id, conversation_id)
        reply = Reply(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            user_id=conversation.user_id,
            integration_id=conversation.integration_id,
            provider=conversation.provider,
            author=agent.model_copy(update={"type": "agent"}),
            text=text,
        )
        events = agent_reply_events(uuid.uuid4().hex, reply, self.clock())
        for destination, event in events:
            await self.publisher.publish(destination, event)
        return events[0][1]

    async def close_session(self, tenant_id: str, conversation_id: str) -> CloudEvent:
        conversation = await self._live(tenant_id, conversation_id)
        assert conversation.session_id is not None  # noqa: S101 - live conversations have one
        data = HandoffClosed(
            tenant_id=tenant_id, conversation_id=conversation_id, session_id=conversation.session_id
        )
        event = outputs.closed_event(derived_id(conversation.session_id, "closed"), data, self.clock())
        # The state changes now (the API's caller expects the bot back at once) and again, idempotently, when
        # the event comes back through the consumer.
        await self.stores.conversations.update(
            tenant_id, conversation_id, session_fields(closed(conversation, conversation.session_id))
        )
        await self.publisher.publish("platform", event)
        return event

    async def decide(
        self,
        tenant_id: str,
        review_id: str,
        *,
        approve: bool,
        by: str | None,
        reason: str | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """Approve (release the answer, possibly edited) or reject (drop it) a held answer."""
        status = "approved" if approve else "rejected"
        review = await self.stores.reviews.decide(tenant_id, review_id, status, by, reason, text)
        if review is None:
            review = await self.stores.reviews.get(tenant_id, review_id)
            if review is None:
                raise NotFound("review not found")
            if review["status"] != status or review.get("published"):
                raise Conflict(f"the answer was already {review['status']}")
            # The same decision again after its events were not all published: publish them now.
        now = self.clock()
        final_text = review.get("edited_text") or review["ai_response"]["text"]
        response = AiResponse.model_validate(
            {
                **review["ai_response"],
                "status": status,
                "text": final_text,
                "reviewed_by": review.get("decided_by"),
                "reviewed_at": review.get("decided_at") or now,
            }
        )
        data = AiResponseEvent.model_validate(
            {
                "ticket": review["ticket"],
                "ai_response": response.model_dump(mode="json"),
                "reason": review.get("reason"),
            }
        )
        event_type = EventType.AI_RESPONSE_APPROVED if approve else EventType.AI_RESPONSE_REJECTED
        events = [outputs.ai_event(review_id, event_type, data.ai_response, data.ticket, now, data.reason)]
        if approve:
            reply = Reply.model_validate({**review["reply"], "text": final_text})
            events.append(outputs.reply_event(review_id, "released", reply, now))
        for event in events:
            await self.publisher.publish("platform", event)
        await self.stores.reviews.mark_published(review_id)
        return {**review, "status": status, "published": True}
