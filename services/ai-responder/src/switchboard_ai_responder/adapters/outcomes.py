"""What the responder decided for each inbound message (collection ``outcomes``, ``_id`` = the event key).

This record is what makes the responder idempotent on the inbound event: it is written before anything is
published, holding every event to publish (with ids derived from the inbound event). A redelivered message
finds it and re-publishes those same events if the first run did not finish, or does nothing if it did — it
never asks a provider again, so it can never produce a second, different answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from switchboard_contracts.cloudevents import CloudEvent

Destination = Literal["platform", "replies"]


class OutcomeStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def get(self, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": key})

    async def record(
        self,
        key: str,
        tenant_id: str,
        conversation_id: str,
        action: str,
        events: list[tuple[Destination, CloudEvent]],
        state: dict[str, Any],
        review: dict[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Store the decision and return it; None when another run already stored one for this event (theirs
        stands)."""
        document = {
            "_id": key,
            "tenant_id": tenant_id,
            "conversation_id": conversation_id,
            "action": action,
            "events": [{"to": to, "event": event.structured()} for to, event in events],
            "state": state,
            "review": review,
            "published": False,
            "created_at": datetime.now(UTC),
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            return None
        return document

    async def mark_published(self, key: str) -> None:
        await self.collection.update_one({"_id": key}, {"$set": {"published": True}})


def stored_events(document: dict[str, Any]) -> list[tuple[Destination, CloudEvent]]:
    return [(item["to"], CloudEvent.from_structured(item["event"])) for item in document.get("events", [])]
