"""Decisions on a message, stored before they take effect: a redelivered message re-publishes the same events
(same ids) or nothing — never a second answer."""

from __future__ import annotations

import logging
from typing import Any

from switchboard_ai_responder.adapters.outcomes import Destination, stored_events
from switchboard_ai_responder.domain.conversation import Action
from switchboard_ai_responder.service.memory import Memory
from switchboard_ai_responder.service.ports import Publisher, Stores
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import EventType

log = logging.getLogger(__name__)


class Decisions:
    def __init__(self, stores: Stores, publisher: Publisher, memory: Memory) -> None:
        self.stores = stores
        self.publisher = publisher
        self.memory = memory

    async def decide(
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
        return await self.finish(outcome)

    async def finish(self, outcome: dict[str, Any]) -> str:
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
                await self.memory.remember_reply(event)
            await self.publisher.publish(destination, event)
        await self.stores.outcomes.mark_published(outcome["_id"])
        return str(outcome.get("action") or "handled")
