"""A conversation as the responder remembers it, and the rules that decide what the bot does next.

The state is a projection of ``platform.events`` (message.received, message.replied, handoff.requested,
handoff.closed): the turns so far, who owns the conversation (``bot`` or a ``live`` agent session), and how many
answers in a row found nothing. Every rule here is a pure function of that state, the tenant's settings and the
incoming message; ``service.Responder`` does the I/O.

Live chat (seed 002): a handoff opens a session and the bot goes silent; user messages are left for the agent,
agent messages are routed to the user; ``handoff.closed`` gives the conversation back to the bot.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from switchboard_ai_responder.domain.answers import Answer
from switchboard_ai_responder.domain.intents import Intent
from switchboard_ai_responder.domain.tenants import TenantSettings
from switchboard_contracts.events import Provider

Role = Literal["user", "assistant", "agent", "system"]
Mode = Literal["bot", "live"]
#: What happens to a user message: answered (maybe held for review), handed to a human, or left to the agent.
Action = Literal["answer", "hold", "handoff", "silent"]

_NAMESPACE = uuid.UUID("8f0c5f8e-6a57-4c1e-9a39-5b7e3c2f1d40")


@dataclass(frozen=True)
class Turn:
    event_id: str
    role: Role
    text: str
    at: datetime


@dataclass(frozen=True)
class Conversation:
    tenant_id: str
    conversation_id: str
    provider: Provider | None = None
    integration_id: str | None = None
    user_id: str | None = None
    channel: str | None = None
    mode: Mode = "bot"
    session_id: str | None = None
    low_confidence_streak: int = 0
    history: tuple[Turn, ...] = ()
    last_activity_at: datetime | None = None
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def fresh(self) -> Conversation:
        """The conversation after its memory expired: same identity, no turns, back with the bot."""
        return Conversation(
            tenant_id=self.tenant_id,
            conversation_id=self.conversation_id,
            provider=self.provider,
            integration_id=self.integration_id,
            user_id=self.user_id,
            channel=self.channel,
        )

    def window(self, turns: int, excluding: str | None = None) -> list[Turn]:
        """The last ``turns`` turns before the message being answered (``excluding`` its event id)."""
        earlier = [turn for turn in self.history if turn.event_id != excluding]
        return earlier[-turns:] if turns else []


def conversation_key(tenant_id: str, conversation_id: str) -> str:
    return f"{tenant_id}:{conversation_id}"


def event_key(source: str, event_id: str) -> str:
    """CloudEvents identity is (source, id); this is that pair as one short string."""
    return hashlib.sha256(f"{source}\x1f{event_id}".encode()).hexdigest()[:32]


def derived_id(key: str, purpose: str) -> str:
    """The id of an event produced for the inbound event ``key``: the same on every redelivery, so a replayed
    publish is a duplicate consumers drop (they deduplicate on source and id), never a second answer."""
    return uuid.uuid5(_NAMESPACE, f"{key}/{purpose}").hex


def new_session_id(key: str) -> str:
    return "live_" + derived_id(key, "session")[:12]


def expiry(now: datetime, settings: TenantSettings, default_idle_s: int) -> datetime:
    return now + timedelta(seconds=settings.session_idle_s or default_idle_s)


def first_action(conversation: Conversation, intent: Intent) -> Action | None:
    """What to do before asking a provider: stay silent while an agent owns the conversation, or hand over."""
    if conversation.mode == "live":
        return "silent"
    if intent is Intent.HANDOFF:
        return "handoff"
    return None


def after_answer(conversation: Conversation, answer: Answer, settings: TenantSettings) -> tuple[Action, int]:
    """(what to do with ``answer``, the low-confidence streak afterwards).

    A fallback ("I couldn't find…") extends the streak and, once it reaches the tenant's limit, hands over to a
    human instead. A real answer below the review threshold is held; small talk is never held.
    """
    low = answer.kind == "fallback" or (
        answer.kind == "answer" and answer.confidence < settings.min_confidence
    )
    if low:
        streak = conversation.low_confidence_streak + 1
    elif answer.kind == "answer":
        streak = 0
    else:  # small talk neither breaks nor extends a run of unanswered questions
        streak = conversation.low_confidence_streak
    limit = settings.handoff_after_low_confidence
    if low and limit and streak >= limit:
        return "handoff", 0
    threshold = settings.review_threshold
    if answer.kind == "answer" and threshold is not None and answer.confidence < threshold:
        return "hold", streak
    return "answer", streak


def opened(conversation: Conversation, session_id: str) -> Conversation:
    return replace(conversation, mode="live", session_id=session_id, low_confidence_streak=0)


def closed(conversation: Conversation, session_id: str | None) -> Conversation:
    """Back to the bot, unless ``session_id`` names a session other than the open one (a stale close)."""
    if conversation.mode == "live" and session_id not in (None, conversation.session_id):
        return conversation
    return replace(conversation, mode="bot", session_id=None, low_confidence_streak=0)


def session_fields(conversation: Conversation) -> dict[str, Any]:
    """Who owns ``conversation``, as stored: what ``opened`` and ``closed`` change."""
    return {
        "mode": conversation.mode,
        "session_id": conversation.session_id,
        "low_confidence_streak": conversation.low_confidence_streak,
    }
