"""Agent messages for the chat widget: once a widget conversation is handed off to a person, the agent's
replies reach the widget through ``GET /chat/messages`` (polling), since ``POST /chat`` only answers the prompt
it was sent.

An agent's reply is a ``message.replied`` with author type ``agent``; in a widget conversation the ai-responder
publishes it to the replies topic as well as platform.events (when an agent answers through its API, the
console or a partner's live chat). Every ingress replica reads every partition of the replies topic from its
end (``KafkaTail``, no consumer group; the same tail that serves ``POST /chat``'s waiters) and keeps the agent
replies per (integration, conversation) — a widget's conversation is its ``session_id`` — so any replica answers
any poll. Reading platform.events instead would cost every replica a copy of all the traffic.

The cursor a poll sends back is the Kafka offset of the last message it got: a conversation's events share a
partition (they are keyed by conversation id), so offsets order them and every replica numbers them the same.

Kept in memory and bounded: the newest ``per_conversation`` messages of at most ``max_conversations``
conversations, each forgotten ``ttl_s`` after its last message. A restart forgets them (the transcript itself
lives in the ai-responder); a widget polling then sees the messages that arrive from then on.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.events import EventType, Reply
from switchboard_ingress.adapters.replies import CORRELATION_HEADER
from switchboard_platform.kafka import header

log = logging.getLogger(__name__)


@dataclass
class _Conversation:
    messages: deque[dict[str, Any]]
    touched: float
    ids: set[str] = field(default_factory=set)


class AgentMessages:
    """Agent replies per (integration, conversation), newest last."""

    def __init__(
        self,
        *,
        per_conversation: int = 100,
        max_conversations: int = 10_000,
        ttl_s: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_conversation = per_conversation
        self.max_conversations = max_conversations
        self.ttl_s = ttl_s
        self.clock = clock
        self._conversations: OrderedDict[tuple[str, str], _Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._conversations)

    def add(self, integration_id: str, conversation_id: str, message: dict[str, Any]) -> None:
        """Keep ``message`` (its ``id`` is the event id: a copy of a kept message is ignored; ``cursor``
        orders it)."""
        key = (integration_id, conversation_id)
        now = self.clock()
        conversation = self._conversations.get(key)
        if conversation is None:
            conversation = _Conversation(deque(maxlen=self.per_conversation), now)
            self._conversations[key] = conversation
        if message["id"] in conversation.ids:
            return
        if len(conversation.messages) == conversation.messages.maxlen:
            conversation.ids.discard(conversation.messages[0]["id"])
        conversation.messages.append(message)
        conversation.ids.add(message["id"])
        conversation.touched = now
        self._conversations.move_to_end(key)
        self._evict(now)

    def after(self, integration_id: str, conversation_id: str, cursor: int) -> list[dict[str, Any]]:
        """The conversation's messages past ``cursor`` (-1: all kept), oldest first."""
        conversation = self._conversations.get((integration_id, conversation_id))
        if conversation is None or self.clock() - conversation.touched > self.ttl_s:
            return []
        return [message for message in conversation.messages if message["cursor"] > cursor]

    def _evict(self, now: float) -> None:
        while self._conversations and (
            len(self._conversations) > self.max_conversations
            or now - next(iter(self._conversations.values())).touched > self.ttl_s
        ):
            self._conversations.popitem(last=False)

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """A replies-topic record: kept when it is an agent's reply in an integration's conversation."""
        if (
            header(record.headers, "ce_type") != EventType.MESSAGE_REPLIED
            or header(record.headers, CORRELATION_HEADER) is not None
        ):
            # Decided on headers, without parsing the body: a synchronous answer (it carries a correlation id)
            # is the bot's, never an agent's, and belongs to the waiters.
            return
        try:
            event = CloudEvent.from_kafka(record.value, record.headers)
            reply, event_id = event.data_as(Reply), event.id
        except (CloudEventError, ValidationError) as exc:
            log.warning("unreadable message.replied skipped: %s", type(exc).__name__)
            return
        if reply.author.type != "agent" or reply.integration_id is None:
            return
        self.add(
            reply.integration_id,
            reply.conversation_id,
            {
                "id": event_id,
                "cursor": record.offset,
                "text": reply.text,
                "author": reply.author.name,
                "at": datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat(),
            },
        )
