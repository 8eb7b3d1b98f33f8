"""The event catalog and the payload models the services exchange.

Event types are past-tense facts (``message.received``); commands are imperative (``RedeliverDelivery``).
``EVENT_CATALOG`` is what a webhook subscription may name: every event the five source guides document plus
Switchboard's own (message.received, delivery.*, webhook.disabled, handoff.*). Payload models say what ``data``
holds for the events Switchboard itself produces; other teams' events on ``platform.events`` may carry any JSON
object as data and are delivered as they are.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, core_schema


class EventType(StrEnum):
    # seed 000: Chatbots Platform
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_DELETED = "conversation.deleted"
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    MESSAGE_DELETED = "message.deleted"
    CHATBOT_CREATED = "chatbot.created"
    CHATBOT_UPDATED = "chatbot.updated"
    CHATBOT_DELETED = "chatbot.deleted"
    CHATBOT_TRAINED = "chatbot.trained"
    CHATBOT_DEPLOYED = "chatbot.deployed"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DELETED = "user.deleted"
    USER_LOGIN = "user.login"
    USER_LOGOUT = "user.logout"
    # seed 003: AI support autoresponder
    TICKET_CREATED = "ticket.created"
    TICKET_UPDATED = "ticket.updated"
    TICKET_RESOLVED = "ticket.resolved"
    TICKET_ESCALATED = "ticket.escalated"
    AI_RESPONSE_GENERATED = "ai.response.generated"
    AI_RESPONSE_REQUIRES_REVIEW = "ai.response.requires_review"
    AI_RESPONSE_APPROVED = "ai.response.approved"
    AI_RESPONSE_REJECTED = "ai.response.rejected"
    CONVERSATION_ADDED = "conversation.added"
    FEEDBACK_RECEIVED = "feedback.received"
    # Switchboard: canonical inbound traffic, live-agent handoff (seed 002), seed 004 forms
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_REPLIED = "message.replied"
    HANDOFF_REQUESTED = "handoff.requested"
    HANDOFF_CLOSED = "handoff.closed"
    FORM_SUBMITTED = "form.submitted"
    # Switchboard: delivery lifecycle and endpoint health
    #: Accepted on the attempts topic from other producers; the dispatcher records each attempt under its
    #: outcome (succeeded, failed, retry_scheduled, exhausted), so it is not in the subscribable catalog.
    DELIVERY_ATTEMPTED = "delivery.attempted"
    DELIVERY_SUCCEEDED = "delivery.succeeded"
    DELIVERY_FAILED = "delivery.failed"
    DELIVERY_RETRY_SCHEDULED = "delivery.retry_scheduled"
    DELIVERY_EXHAUSTED = "delivery.exhausted"
    WEBHOOK_DISABLED = "webhook.disabled"
    WEBHOOK_TEST = "webhook.test"
    # Registry configuration changes (compacted config topic)
    CONFIG_CHANGED = "config.changed"


class EventInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EventType
    group: str
    description: str
    source: str = Field(description="Where the event is documented: a seed guide or 'switchboard'.")


def _info(kind: EventType, description: str, source: str) -> EventInfo:
    return EventInfo(type=kind, group=kind.value.split(".")[0], description=description, source=source)


E = EventType
#: Events a webhook subscription may name (besides "*" and prefix wildcards such as "message.*").
EVENT_CATALOG: dict[EventType, EventInfo] = {
    info.type: info
    for info in (
        _info(E.CONVERSATION_CREATED, "A new conversation is created", "seed 000"),
        _info(E.CONVERSATION_UPDATED, "A conversation is updated", "seed 000"),
        _info(E.CONVERSATION_DELETED, "A conversation is deleted", "seed 000"),
        _info(E.MESSAGE_CREATED, "A new message is sent", "seed 000"),
        _info(E.MESSAGE_UPDATED, "A message is updated", "seed 000"),
        _info(E.MESSAGE_DELETED, "A message is deleted", "seed 000"),
        _info(E.CHATBOT_CREATED, "A new chatbot is created", "seed 000"),
        _info(E.CHATBOT_UPDATED, "A chatbot is updated", "seed 000"),
        _info(E.CHATBOT_DELETED, "A chatbot is deleted", "seed 000"),
        _info(E.CHATBOT_TRAINED, "A chatbot completes training", "seed 000"),
        _info(E.CHATBOT_DEPLOYED, "A chatbot is deployed", "seed 000"),
        _info(E.USER_CREATED, "A new user is created", "seed 000"),
        _info(E.USER_UPDATED, "A user profile is updated", "seed 000"),
        _info(E.USER_DELETED, "A user is deleted", "seed 000"),
        _info(E.USER_LOGIN, "A user logs in", "seed 000"),
        _info(E.USER_LOGOUT, "A user logs out", "seed 000"),
        _info(E.TICKET_CREATED, "New ticket created", "seed 003"),
        _info(E.TICKET_UPDATED, "Ticket updated", "seed 003"),
        _info(E.TICKET_RESOLVED, "Ticket resolved", "seed 003"),
        _info(E.TICKET_ESCALATED, "Ticket escalated", "seed 003"),
        _info(E.AI_RESPONSE_GENERATED, "AI response generated", "seed 003"),
        _info(E.AI_RESPONSE_REQUIRES_REVIEW, "AI response needs review", "seed 003"),
        _info(E.AI_RESPONSE_APPROVED, "AI response approved", "seed 003"),
        _info(E.AI_RESPONSE_REJECTED, "AI response rejected", "seed 003"),
        _info(E.CONVERSATION_ADDED, "New conversation message", "seed 003"),
        _info(E.FEEDBACK_RECEIVED, "Feedback received", "seed 003"),
        _info(E.MESSAGE_RECEIVED, "A partner platform or widget message, normalized", "switchboard"),
        _info(E.MESSAGE_REPLIED, "A reply (AI or live agent) was sent into a conversation", "switchboard"),
        _info(
            E.HANDOFF_REQUESTED, "A conversation was handed to a human agent (seed 002 live chat)", "seed 002"
        ),
        _info(E.HANDOFF_CLOSED, "A live-chat session closed; the bot answers again", "seed 002"),
        _info(E.FORM_SUBMITTED, "A chat-widget form was submitted", "seed 004"),
        _info(E.DELIVERY_SUCCEEDED, "A delivery attempt got a 2xx", "switchboard"),
        _info(E.DELIVERY_FAILED, "A delivery attempt failed", "switchboard"),
        _info(
            E.DELIVERY_RETRY_SCHEDULED, "A failed delivery was scheduled for another attempt", "switchboard"
        ),
        _info(
            E.DELIVERY_EXHAUSTED,
            "A delivery used its whole retry schedule and was dead-lettered",
            "switchboard",
        ),
        _info(
            E.WEBHOOK_DISABLED, "An endpoint was disabled (410 Gone or failing for too long)", "switchboard"
        ),
        _info(E.WEBHOOK_TEST, "A test delivery requested through POST /api/webhooks/{id}/test", "seed 000"),
    )
}


#: What an integration receives when it names no event filter: replies and live-chat changes for chat partners,
#: seed 003's ticket / AI-review / feedback notifications for Slack. The registry shows these as the defaults;
#: the dispatcher applies them.
INTEGRATION_DEFAULT_EVENTS: tuple[str, ...] = ("message.replied", "handoff.requested", "handoff.closed")
SLACK_DEFAULT_EVENTS: tuple[str, ...] = (
    "ticket.*",
    "ai.response.*",
    "handoff.requested",
    "feedback.received",
)


def matches(pattern: str, event_type: str) -> bool:
    """Whether a subscription filter matches an event type: exact, ``*`` for all, or ``prefix.*``.

    ``message.*`` matches ``message.created`` and ``message.received`` but not ``message`` or ``messages.x``;
    ``ai.*`` matches ``ai.response.generated``.
    """
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def is_valid_filter(pattern: str) -> bool:
    """A filter is valid when it is ``*``, a catalog event, or a prefix wildcard matching some catalog event."""
    if pattern == "*" or pattern in EVENT_CATALOG:
        return True
    return pattern.endswith(".*") and any(matches(pattern, kind.value) for kind in EVENT_CATALOG)


# -- payloads ---------------------------------------------------------------------------------------------------


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: Sources of messages that are not partner platforms: the chat widget (seed 004) and other services' API calls.
NON_PARTNER_SOURCES: tuple[str, ...] = ("widget", "api")


def provider_names() -> tuple[str, ...]:
    """Every value ``Provider`` accepts: the registered partners' names, then the non-partner sources."""
    # Imported here: the partner modules import these models (a module-level import would be circular).
    from switchboard_contracts import partners

    return (*(partner.name for partner in partners.registered()), *NON_PARTNER_SOURCES)


class _ProviderName:
    """Validates a provider name against the partner registry when a value is validated, and documents the
    names registered when a schema is generated, so a partner added by one module is accepted everywhere."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(_known_provider, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"enum": list(provider_names()), "type": "string"}


def _known_provider(value: str) -> str:
    from switchboard_contracts import partners

    if value not in NON_PARTNER_SOURCES and partners.get(value) is None:
        raise ValueError(f"unknown provider; expected one of {', '.join(provider_names())}")
    return value


#: Where a message came from: a registered partner's name (``switchboard_contracts.partners``), "widget" or "api".
Provider = Annotated[str, _ProviderName()]
AuthorType = Literal["user", "agent", "bot", "system"]


class Author(Payload):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    type: AuthorType = "user"


class Attachment(Payload):
    url: str | None = None
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None


class MessageReceived(Payload):
    """The canonical inbound message, whatever platform it came from (``message.received``)."""

    tenant_id: str
    integration_id: str | None = None
    provider: Provider
    conversation_id: str
    message_id: str
    author: Author
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    sent_at: datetime
    channel: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    raw_ref: str | None = Field(default=None, description="Provider's id for the raw event (for support).")


class Ticket(Payload):
    id: str
    ticket_number: str | None = None
    subject: str
    message: str | None = None
    status: str = "new"
    priority: str | None = None
    category: str | None = None
    customer_email: str | None = None
    customer_name: str | None = None


class TicketCreated(Payload):
    """seed 003 ``ticket.created``: ``{ticket: {...}}``."""

    ticket: Ticket


ContentType = Literal["text", "article", "form", "card"]


class Reply(Payload):
    """A reply going into a conversation (``message.replied``), from the AI or a live agent."""

    tenant_id: str
    conversation_id: str
    in_reply_to: str | None = Field(default=None, description="Inbound message id this answers.")
    user_id: str | None = Field(default=None, description="The end user the conversation is with.")
    session_id: str | None = Field(
        default=None, description="The live-chat session an agent reply belongs to."
    )
    integration_id: str | None = None
    provider: Provider | None = None
    author: Author
    text: str
    content_type: ContentType = "text"
    content_attributes: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = None


class HandoffRequested(Payload):
    """seed 002 live-chat transfer: the conversation now belongs to a human agent."""

    tenant_id: str
    conversation_id: str
    session_id: str
    platform: str
    reason: str
    user_id: str | None = None
    user_message: str | None = None
    integration_id: str | None = None
    message: str | None = Field(default=None, description="What the user is told while an agent is found.")
    sender: str | None = Field(default=None, description="Who says it (the bot's name).")


class HandoffClosed(Payload):
    tenant_id: str
    conversation_id: str
    session_id: str


AttemptOutcome = Literal["succeeded", "failed", "retry_scheduled", "exhausted"]
ErrorKind = Literal[
    "timeout", "connect", "dns", "tls", "ssrf_blocked", "http_status", "redirect", "protocol", "other"
]
EndpointKind = Literal["webhook", "callback", "integration", "slack", "partner"]


class DeliveryAttempt(Payload):
    """One HTTP attempt of one delivery (``delivery.*`` events on the attempts topic)."""

    delivery_id: str = Field(description="Deterministic from (event id, endpoint id); stable across retries.")
    event_id: str
    event_type: str
    tenant_id: str
    endpoint_id: str
    endpoint_kind: EndpointKind
    url: str
    attempt: int = Field(ge=1)
    outcome: AttemptOutcome
    status_code: int | None = None
    latency_ms: float | None = None
    response_body: str | None = Field(default=None, description="Truncated response body.")
    error_kind: ErrorKind | None = None
    error: str | None = None
    attempted_at: datetime
    next_attempt_at: datetime | None = None
    command_id: str | None = Field(
        default=None,
        max_length=200,
        description=(
            "Id of the redeliver/recover command (its CloudEvent id) this attempt answers; None for attempts of "
            "the original schedule. Part of the attempt's idempotency key (delivery_id, command_id, attempt), "
            "so two manual redeliveries of one delivery are two records even if both number their attempt n."
        ),
    )


class RedeliverDelivery(Payload):
    """Command: attempt one delivery again (from the registry's redeliver endpoint)."""

    tenant_id: str
    endpoint_id: str
    delivery_id: str
    requested_by: str | None = None
    endpoint_kind: EndpointKind = "webhook"
    event: dict[str, Any] | None = Field(
        default=None,
        description="The event to deliver again, as a structured CloudEvent (from the registry's event log).",
    )
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="Number of the new attempt: one past the last the delivery log recorded, so a redelivery's "
        "attempt never reuses the idempotency key of an earlier one.",
    )


class RecoverEndpoint(Payload):
    """Command: replay every failed delivery of an endpoint since a time."""

    tenant_id: str
    endpoint_id: str
    since: datetime
    until: datetime | None = None
    requested_by: str | None = None


class CommandType(StrEnum):
    """Commands on the dispatch-commands topic (CloudEvent ``type``), keyed by endpoint id."""

    SEND_TEST = "switchboard.command.send_test"
    REDELIVER = "switchboard.command.redeliver"
    RECOVER = "switchboard.command.recover"


class SendTestEvent(Payload):
    """Command: deliver a ``webhook.test`` event to one endpoint, whatever its event filter."""

    tenant_id: str
    endpoint_id: str
    event_id: str
    data: dict[str, Any]
    requested_by: str | None = None


# -- AI responder (issue 6) -------------------------------------------------------------------------------------


class LiveChatHandoff(HandoffRequested):
    """``handoff.requested`` as the AI responder publishes it. ``HandoffRequested`` itself carries the seed 002
    live-chat notification fields (``message``, ``sender``) the dispatcher puts in the integration payload."""


class Citation(Payload):
    """A knowledge-base article an answer was composed from."""

    article_id: str
    title: str
    link: str | None = None
    score: float = Field(description="Retrieval confidence of the article's best passage, 0..1.")


AiResponseStatus = Literal["generated", "requires_review", "approved", "rejected"]


class AiResponse(Payload):
    """One AI answer (seed 003's ``ai_response``), whether sent, held for review, approved or rejected."""

    id: str
    tenant_id: str
    conversation_id: str
    in_reply_to: str | None = Field(default=None, description="Inbound message id this answers.")
    question: str
    text: str
    content_type: ContentType = "text"
    content_attributes: dict[str, Any] = Field(default_factory=dict)
    confidence: float = Field(ge=0, le=1)
    provider: str = Field(description="knowledge-base, openai-compatible or anthropic")
    model: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    status: AiResponseStatus
    created_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


class AiResponseEvent(Payload):
    """seed 003's ``ai.response.*`` data: ``{ticket, ai_response}`` plus ``reason`` for ``ai.response.rejected``.

    For chat conversations the ``ticket`` is the conversation: id = conversation id, subject = the question.
    """

    ticket: Ticket
    ai_response: AiResponse
    reason: str | None = None


class Feedback(Payload):
    id: str
    tenant_id: str
    conversation_id: str | None = None
    response_id: str | None = Field(default=None, description="The AiResponse id the feedback is about.")
    rating: int | None = Field(default=None, ge=1, le=5)
    helpful: bool | None = None
    comment: str | None = Field(default=None, max_length=4000)
    created_at: datetime


class FeedbackReceived(Payload):
    """seed 003's ``feedback.received`` data: ``{feedback: {...}}``."""

    feedback: Feedback


#: Synchronous request/reply over Kafka (seed 004's widget ``POST /chat`` waits for its answer). A producer that
#: waits sets the extension ``replyto`` (header ``ce_replyto``) on ``message.received`` to a correlation id it
#: chose; the AI responder then publishes exactly one ``message.replied`` to ``switchboard.replies`` carrying the
#: same value in ``correlationid`` (header ``ce_correlationid``) and the outcome in ``replystatus``.
#: The topic also carries, without those extensions, a copy of every live agent's ``message.replied`` in a widget
#: conversation (provider "widget"): ingress keeps them for the widget's ``GET /chat/messages`` poll.
REPLY_TO_EXTENSION = "replyto"
CORRELATION_EXTENSION = "correlationid"
REPLY_STATUS_EXTENSION = "replystatus"
#: answered: the bot's answer; handoff: a live-chat session was opened (the text says so); held: the answer waits
#: for review (the text says so); silent: a live agent owns the conversation (text empty, nothing to show).
ReplyStatus = Literal["answered", "handoff", "held", "silent"]


class WidgetResponse(BaseModel):
    """seed 004's chat-widget response body: ``{"output"}`` for text, ``{"content", "content_type",
    "content_attributes"}`` for rich responses (article, form, card)."""

    model_config = ConfigDict(frozen=True)

    output: str | None = None
    content: str | None = None
    content_type: ContentType | None = None
    content_attributes: dict[str, Any] | None = None

    @classmethod
    def from_reply(cls, reply: Reply) -> WidgetResponse:
        if reply.content_type == "text":
            return cls(output=reply.text)
        return cls(
            content=reply.text, content_type=reply.content_type, content_attributes=reply.content_attributes
        )

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# -- ingress (issue 5) ------------------------------------------------------------------------------------------


class ConversationUpdated(Payload):
    """``conversation.updated`` from a partner platform: a conversation's status or owner changed there
    (Freshchat assignment / resolution / reopen, Intercom admin assigned / closed, Chatwoot opened / resolved)."""

    tenant_id: str
    integration_id: str | None = None
    provider: Provider
    conversation_id: str
    change: str = Field(description="assigned, resolved, reopened, opened, closed or status_changed")
    status: str | None = Field(default=None, description="The conversation's status on the platform, if sent")
    assignee: Author | None = None
    actor: Author | None = None
    occurred_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    raw_ref: str | None = Field(default=None, description="Provider's id for the raw event (for support).")


class FormSubmitted(Payload):
    """seed 004: a chat-widget form (the contact form) was submitted and passed validation (``form.submitted``)."""

    tenant_id: str
    integration_id: str | None = None
    form_id: str = "contact"
    session_id: str | None = None
    name: str
    email: str
    message: str
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Every submitted field, the three required ones included"
    )
    submitted_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
