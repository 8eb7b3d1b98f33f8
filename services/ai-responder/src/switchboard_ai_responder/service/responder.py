"""The responder: what happens for each event on ``platform.events``.

``Responder.handle`` is called for every record of the partitions this instance owns, one at a time and in
partition order, so one conversation's events are handled in the order they happened (the partition key is the
conversation id).

- ``message.received`` from a user: the conversation's turn is recorded, then the bot answers (or holds the
  answer for review, or hands over to a human, or stays silent during live chat). The decision and every event
  it publishes are stored first (``OutcomeStore``), so a redelivered message re-publishes the same events
  (same ids) or nothing — never a second answer.
- ``message.received`` from an agent during live chat: routed to the user as ``message.replied`` (author agent).
- ``message.replied``: recorded in the conversation's memory (ours come back this way too; idempotent).
- ``handoff.requested`` / ``handoff.closed``: the conversation goes to a live agent / back to the bot.
- ``feedback.received``: recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from switchboard_ai_responder.adapters.outcomes import Destination
from switchboard_ai_responder.domain import outputs
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import (
    Conversation,
    Turn,
    after_answer,
    derived_id,
    event_key,
    first_action,
    new_session_id,
    opened,
    session_fields,
)
from switchboard_ai_responder.domain.intents import Intent, detect
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.metrics import ResponderMetrics
from switchboard_ai_responder.providers.factory import ProviderFactory
from switchboard_ai_responder.retrieval import Retrieval
from switchboard_ai_responder.service.answering import Answering
from switchboard_ai_responder.service.decisions import Decisions
from switchboard_ai_responder.service.feedback import record_feedback
from switchboard_ai_responder.service.live_chat import LiveChat
from switchboard_ai_responder.service.memory import Memory
from switchboard_ai_responder.service.ports import ROLES, Publisher, Stores, valid
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import (
    REPLY_TO_EXTENSION,
    EventType,
    LiveChatHandoff,
    MessageReceived,
    Reply,
    ReplyStatus,
)
from switchboard_platform import telemetry

log = logging.getLogger(__name__)

HELD_TEXT = (
    "Thanks for your question! A member of our team will check the answer and get back to you shortly."
)


class Responder:
    def __init__(
        self,
        stores: Stores,
        publisher: Publisher,
        providers: ProviderFactory,
        metrics: ResponderMetrics,
        retrieval: Retrieval,
        *,
        default_idle_s: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stores = stores
        self.publisher = publisher
        self.providers = providers
        self.metrics = metrics
        self.retrieval = retrieval
        self.default_idle_s = default_idle_s
        self.clock = clock
        # The parts read the clock through this responder, so replacing ``clock`` (as tests do) reaches them.
        self.memory = Memory(stores, self._now, default_idle_s)
        self.answering = Answering(providers, retrieval, metrics)
        self.decisions = Decisions(stores, publisher, self.memory)
        self.live_chat = LiveChat(stores, self.memory, self.decisions, self._now)
        self._handlers: dict[str, Callable[[CloudEvent], Awaitable[str]]] = {
            EventType.MESSAGE_RECEIVED: self._on_message,
            EventType.MESSAGE_REPLIED: self._on_reply,
            EventType.HANDOFF_REQUESTED: self.live_chat.on_handoff,
            EventType.HANDOFF_CLOSED: self.live_chat.on_closed,
            EventType.FEEDBACK_RECEIVED: self._on_feedback,
        }

    def _now(self) -> datetime:
        return self.clock()

    def handled_types(self) -> frozenset[str]:
        """The event types ``handle`` acts on; every other type is ignored."""
        return frozenset(self._handlers)

    async def handle(self, event: CloudEvent) -> None:
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        with telemetry.consuming(f"ai-responder {event.type}", event) as span:
            result = await handler(event)
            telemetry.annotate(span, outcome=result)
            log.debug("event handled", extra={"type": event.type, "outcome": result})
        self.metrics.events.labels(event.type, result).inc()

    async def _on_message(self, event: CloudEvent) -> str:
        message = valid(event, MessageReceived)
        if message is None:
            return "invalid"
        if event.tenant is not None and event.tenant != message.tenant_id:
            log.warning("tenant attribute and data differ; skipped", extra={"event_id": event.id})
            return "invalid"
        key = event_key(event.source, event.id)
        outcome = await self.stores.outcomes.get(key)
        if outcome is not None:
            return await self.decisions.finish(outcome)
        settings = await self.stores.tenants.get(message.tenant_id)
        conversation = await self.memory.load(message.tenant_id, message.conversation_id)
        turn = Turn(event_id=key, role=ROLES[message.author.type], text=message.text, at=message.sent_at)
        conversation = await self.memory.remember(
            conversation,
            turn,
            settings,
            provider=message.provider,
            integration_id=message.integration_id,
            channel=message.channel,
            user_id=message.author.id if message.author.type == "user" else None,
        )
        if message.author.type == "user":
            return await self._respond(event, key, message, conversation, settings)
        if message.author.type == "agent":
            return await self.live_chat.route_agent(event, key, message, conversation)
        return "recorded"

    async def _respond(
        self,
        event: CloudEvent,
        key: str,
        message: MessageReceived,
        conversation: Conversation,
        settings: TenantSettings,
    ) -> str:
        now = self.clock()
        intent = detect(message.text, settings.all_handoff_phrases())
        action = first_action(conversation, intent)
        streak = conversation.low_confidence_streak
        answer: Answer | None = None
        if action is None:
            answer = await self.answering.answer(message, conversation, settings, intent, key)
            action, streak = after_answer(conversation, answer, settings)
            if answer.kind != "smalltalk":
                self.metrics.answer_confidence.observe(answer.confidence)
        events: list[tuple[Destination, CloudEvent]] = []
        state: dict[str, Any] = {"low_confidence_streak": streak}
        review: dict[str, Any] | None = None
        sync: tuple[ReplyStatus, Reply] | None = None
        if action == "silent":
            # A live agent owns the conversation: the user's message waits for them.
            state = {}
            sync = ("silent", self._notice(message, "", settings))
        elif action == "handoff":
            session_id = new_session_id(key)
            reason = "requested" if intent is Intent.HANDOFF else "low_confidence"
            handoff = LiveChatHandoff(
                tenant_id=message.tenant_id,
                conversation_id=message.conversation_id,
                session_id=session_id,
                platform=message.provider,
                reason=reason,
                user_id=conversation.user_id,
                user_message=message.text,
                integration_id=message.integration_id,
                message=settings.handoff_message,
                sender=settings.bot_name,
            )
            events.append(("platform", outputs.handoff_event(key, handoff, now)))
            state = session_fields(opened(conversation, session_id))
            sync = ("handoff", self._notice(message, settings.handoff_message, settings))
        elif answer is not None:
            reply = outputs.reply_for(message, answer, settings.bot_name)
            response_id = derived_id(key, "ai-response")
            ticket = outputs.ticket_for(message)
            if action == "hold":
                response = outputs.ai_response(response_id, message, answer, "requires_review", now)
                events.append(
                    (
                        "platform",
                        outputs.ai_event(key, EventType.AI_RESPONSE_REQUIRES_REVIEW, response, ticket, now),
                    )
                )
                review = {
                    "_id": response_id,
                    "tenant_id": message.tenant_id,
                    "conversation_id": message.conversation_id,
                    "ai_response": response.model_dump(mode="json"),
                    "ticket": ticket.model_dump(mode="json"),
                    "reply": reply.model_dump(mode="json"),
                    "created_at": now,
                }
                sync = ("held", self._notice(message, HELD_TEXT, settings))
            else:
                if answer.kind != "smalltalk":
                    response = outputs.ai_response(response_id, message, answer, "generated", now)
                    events.append(
                        (
                            "platform",
                            outputs.ai_event(key, EventType.AI_RESPONSE_GENERATED, response, ticket, now),
                        )
                    )
                events.append(("platform", outputs.reply_event(key, "reply", reply, now)))
                sync = ("answered", reply)
        correlation = event.extensions.get(REPLY_TO_EXTENSION)
        if correlation and sync is not None:
            events.append(("replies", outputs.sync_reply(key, correlation, sync[0], sync[1], now)))
        self.metrics.actions.labels(action).inc()
        return await self.decisions.decide(
            key, message.tenant_id, message.conversation_id, action, events, state, review
        )

    def _notice(self, message: MessageReceived, text: str, settings: TenantSettings) -> Reply:
        return Reply(
            tenant_id=message.tenant_id,
            conversation_id=message.conversation_id,
            in_reply_to=message.message_id,
            user_id=message.author.id,
            integration_id=message.integration_id,
            provider=message.provider,
            author=outputs.bot_author(settings.bot_name),
            text=text,
        )

    async def _on_reply(self, event: CloudEvent) -> str:
        return "recorded" if await self.memory.remember_reply(event) else "invalid"

    async def _on_feedback(self, event: CloudEvent) -> str:
        return await record_feedback(self.stores, event)
