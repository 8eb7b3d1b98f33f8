"""The service layer: what happens for each event on ``platform.events``, and for the management API's actions.

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
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from switchboard_ai_responder.adapters.articles import ArticleStore
from switchboard_ai_responder.adapters.conversations import ConversationStore
from switchboard_ai_responder.adapters.feedback import FeedbackStore
from switchboard_ai_responder.adapters.outcomes import Destination, OutcomeStore, stored_events
from switchboard_ai_responder.adapters.reviews import ReviewStore
from switchboard_ai_responder.adapters.tenants import TenantSettingsStore
from switchboard_ai_responder.domain import answers, outputs
from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.conversation import (
    Action,
    Conversation,
    Role,
    Turn,
    after_answer,
    closed,
    derived_id,
    event_key,
    expiry,
    first_action,
    new_session_id,
    opened,
    session_fields,
)
from switchboard_ai_responder.domain.intents import Intent, detect
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_ai_responder.metrics import ResponderMetrics
from switchboard_ai_responder.providers.anthropic import AnthropicProvider
from switchboard_ai_responder.providers.base import AnswerProvider, AnswerRequest, ProviderError
from switchboard_ai_responder.providers.knowledge_base import KnowledgeBaseProvider
from switchboard_ai_responder.providers.openai_compatible import OpenAICompatibleProvider
from switchboard_ai_responder.retrieval import Retrieval
from switchboard_shared import telemetry
from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.events import (
    REPLY_TO_EXTENSION,
    AiResponse,
    AiResponseEvent,
    Author,
    EventType,
    Feedback,
    FeedbackReceived,
    HandoffClosed,
    LiveChatHandoff,
    MessageReceived,
    Reply,
    ReplyStatus,
)

log = logging.getLogger(__name__)

HELD_TEXT = (
    "Thanks for your question! A member of our team will check the answer and get back to you shortly."
)
SUGGESTED_ARTICLES = 3
PASSAGES = 3
_ROLES: dict[str, Role] = {"user": "user", "agent": "agent", "bot": "assistant", "system": "system"}


class Publisher(Protocol):
    async def publish(self, destination: Destination, event: CloudEvent) -> None: ...


class ProviderFactory:
    """The answering provider a tenant's settings choose (LLM providers share one HTTP connection pool)."""

    def __init__(self, client: httpx.AsyncClient, default_timeout_s: float) -> None:
        self.client = client
        self.default_timeout_s = default_timeout_s
        self.knowledge_base = KnowledgeBaseProvider()

    def for_tenant(self, settings: TenantSettings) -> AnswerProvider:
        llm = settings.llm
        if settings.provider == "knowledge-base" or llm is None:
            return self.knowledge_base
        kind = OpenAICompatibleProvider if settings.provider == "openai-compatible" else AnthropicProvider
        return kind(
            self.client,
            model=llm.model,
            api_key=llm.api_key.get_secret_value() if llm.api_key else None,
            base_url=llm.base_url,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            timeout_s=llm.timeout_s or self.default_timeout_s,
            max_retries=llm.max_retries,
        )


class Conflict(Exception):
    """The action does not fit the current state (the message says why)."""


class NotFound(Exception):
    pass


@dataclass
class Stores:
    conversations: ConversationStore
    outcomes: OutcomeStore
    reviews: ReviewStore
    articles: ArticleStore
    tenants: TenantSettingsStore
    feedback: FeedbackStore


M = TypeVar("M", bound=BaseModel)


def _valid(event: CloudEvent, model: type[M]) -> M | None:
    try:
        return event.data_as(model)
    except ValidationError as exc:
        log.warning(
            "event data does not match %s; skipped: %s",
            model.__name__,
            exc.errors()[0].get("msg"),
            extra={"event_id": event.id, "type": event.type, "tenant": event.tenant},
        )
        return None


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
        self._handlers: dict[str, Callable[[CloudEvent], Awaitable[str]]] = {
            EventType.MESSAGE_RECEIVED: self._on_message,
            EventType.MESSAGE_REPLIED: self._on_reply,
            EventType.HANDOFF_REQUESTED: self._on_handoff,
            EventType.HANDOFF_CLOSED: self._on_closed,
            EventType.FEEDBACK_RECEIVED: self._on_feedback,
        }

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

    # -- conversation memory ----------------------------------------------------------------------------------

    async def _load(self, tenant_id: str, conversation_id: str) -> Conversation:
        """The conversation as it stands; an expired one is forgotten first (seed 004's idle expiry)."""
        conversation = await self.stores.conversations.get(tenant_id, conversation_id)
        if conversation is None:
            conversation = Conversation(tenant_id=tenant_id, conversation_id=conversation_id)
            await self.stores.conversations.ensure(conversation)
        elif conversation.expired(self.clock()):
            await self.stores.conversations.reset(conversation)
            conversation = conversation.fresh()
        return conversation

    async def _remember(
        self, conversation: Conversation, turn: Turn, settings: TenantSettings, **identity: str | None
    ) -> Conversation:
        now = self.clock()
        fields: dict[str, Any] = {
            "last_activity_at": now,
            "expires_at": expiry(now, settings, self.default_idle_s),
            **{name: value for name, value in identity.items() if value is not None},
        }
        await self.stores.conversations.append(conversation, turn, fields)
        return replace(conversation, history=(*conversation.history, turn), **fields)

    # -- message.received ---------------------------------------------------------------------------------------

    async def _on_message(self, event: CloudEvent) -> str:
        message = _valid(event, MessageReceived)
        if message is None:
            return "invalid"
        if event.tenant is not None and event.tenant != message.tenant_id:
            log.warning("tenant attribute and data differ; skipped", extra={"event_id": event.id})
            return "invalid"
        key = event_key(event.source, event.id)
        outcome = await self.stores.outcomes.get(key)
        if outcome is not None:
            return await self._finish(outcome)
        settings = await self.stores.tenants.get(message.tenant_id)
        conversation = await self._load(message.tenant_id, message.conversation_id)
        turn = Turn(event_id=key, role=_ROLES[message.author.type], text=message.text, at=message.sent_at)
        conversation = await self._remember(
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
            return await self._route_agent(event, key, message, conversation)
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
            answer = await self._answer(message, conversation, settings, intent, key)
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
        return await self._decide(
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

    async def _answer(
        self,
        message: MessageReceived,
        conversation: Conversation,
        settings: TenantSettings,
        intent: Intent,
        key: str,
    ) -> Answer:
        started = time.perf_counter()
        provider: AnswerProvider = self.providers.knowledge_base
        if intent is Intent.GREETING:
            index = await self.retrieval.index(message.tenant_id, settings)
            answer = answers.greeting(settings.greeting, index.articles[:SUGGESTED_ARTICLES])
        elif intent is Intent.THANKS:
            answer = answers.thanks()
        elif intent is Intent.CONTACT:
            answer = answers.contact_form(settings.contact_form)
        elif intent is Intent.PRODUCT and settings.product_cards is not None:
            answer = answers.product_cards(settings.product_cards)
        else:
            provider = self.providers.for_tenant(settings)
            retrieved = await self.retrieval.search(message.tenant_id, message.text, settings, PASSAGES)
            request = AnswerRequest(
                question=message.text,
                history=conversation.window(settings.history_window, excluding=key),
                passages=retrieved.passages,
                settings=settings,
                min_confidence=retrieved.min_confidence,
            )
            try:
                answer = await provider.answer(request)
            except ProviderError as exc:
                # The bot still answers, from the knowledge base, rather than leaving the user waiting.
                self.metrics.provider_errors.labels(provider.name).inc()
                log.warning(
                    "provider failed; answering from the knowledge base: %s",
                    exc,
                    extra={"tenant": message.tenant_id, "provider": provider.name},
                )
                answer = await self.providers.knowledge_base.answer(request)
        self.metrics.answer_latency.labels(provider.name).observe(time.perf_counter() - started)
        return answer

    async def _route_agent(
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
        events: list[tuple[Destination, CloudEvent]] = [
            ("platform", outputs.reply_event(key, "agent", reply, self.clock()))
        ]
        return await self._decide(
            key, message.tenant_id, message.conversation_id, "route_agent", events, {}, None
        )

    async def _decide(
        self,
        key: str,
        tenant_id: str,
        conversation_id: str,
        action: Action | str,
        events: list[tuple[Destination, CloudEvent]],
        state: dict[str, Any],
        review: dict[str, Any] | None,
    ) -> str:
        outcome = await self.stores.outcomes.record(
            key, tenant_id, conversation_id, action, events, state, review
        )
        if outcome is None:
            log.info("another run decided this message first; using its outcome", extra={"key": key})
            outcome = await self.stores.outcomes.get(key)
            if outcome is None:  # pragma: no cover - outcomes are never deleted
                raise RuntimeError("outcome vanished")
        return await self._finish(outcome)

    async def _finish(self, outcome: dict[str, Any]) -> str:
        """Apply and publish a stored decision, unless that already happened (a redelivery)."""
        if outcome.get("published"):
            return "duplicate"
        tenant_id, conversation_id = outcome["tenant_id"], outcome["conversation_id"]
        if outcome.get("state"):
            await self.stores.conversations.update(tenant_id, conversation_id, outcome["state"])
        if outcome.get("review"):
            await self.stores.reviews.hold(outcome["review"])
        for destination, event in stored_events(outcome):
            if destination == "platform" and event.type == EventType.MESSAGE_REPLIED:
                # Remembered now rather than when it comes back from Kafka, so the next message sees it.
                await self._remember_reply(event)
            await self.publisher.publish(destination, event)
        await self.stores.outcomes.mark_published(outcome["_id"])
        return str(outcome.get("action") or "handled")

    # -- other events -------------------------------------------------------------------------------------------

    async def _remember_reply(self, event: CloudEvent) -> bool:
        reply = _valid(event, Reply)
        if reply is None:
            return False
        settings = await self.stores.tenants.get(reply.tenant_id)
        conversation = await self._load(reply.tenant_id, reply.conversation_id)
        turn = Turn(
            event_id=event_key(event.source, event.id),
            role=_ROLES[reply.author.type],
            text=reply.text,
            at=event.time,
        )
        await self._remember(conversation, turn, settings)
        return True

    async def _on_reply(self, event: CloudEvent) -> str:
        return "recorded" if await self._remember_reply(event) else "invalid"

    async def _on_handoff(self, event: CloudEvent) -> str:
        handoff = _valid(event, LiveChatHandoff)
        if handoff is None:
            return "invalid"
        conversation = await self._load(handoff.tenant_id, handoff.conversation_id)
        if conversation.mode == "live" and conversation.session_id == handoff.session_id:
            return "duplicate"
        await self.stores.conversations.update(
            handoff.tenant_id,
            handoff.conversation_id,
            session_fields(opened(conversation, handoff.session_id)),
        )
        return "live"

    async def _on_closed(self, event: CloudEvent) -> str:
        data = _valid(event, HandoffClosed)
        if data is None:
            return "invalid"
        conversation = await self._load(data.tenant_id, data.conversation_id)
        after = closed(conversation, data.session_id)
        if after == conversation:
            return "ignored"
        await self.stores.conversations.update(data.tenant_id, data.conversation_id, session_fields(after))
        return "closed"

    async def _on_feedback(self, event: CloudEvent) -> str:
        data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
        nested = data.get("feedback")
        # seed 003's shape is {feedback: {...}}; other producers' flat objects are recorded as they are.
        feedback: dict[str, Any] = nested if isinstance(nested, dict) else data
        tenant_id = event.tenant or str(feedback.get("tenant_id") or "")
        if not tenant_id:
            return "invalid"
        recorded = await self.stores.feedback.record(
            event_key(event.source, event.id), tenant_id, feedback, event.id
        )
        return "recorded" if recorded else "duplicate"


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
        event = outputs.reply_event(uuid.uuid4().hex, "agent", reply, self.clock())
        await self.publisher.publish("platform", event)
        return event

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
