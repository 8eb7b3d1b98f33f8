"""Conversations with callback configuration (seed 001) in MongoDB, published through the outbox.

The config topic record is keyed ``conversation:<id>`` and carries tenant, id, ``config.callback_url`` and the
``delivery`` settings: everything the dispatcher needs to route a message event to its callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection
from switchboard_registry.domain.conversations import is_conversation_id, new_conversation_id


class ConversationStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        self.docs = OutboxCollection("conversation", database["conversations"], relay)

    async def ensure_indexes(self) -> None:
        await self.docs.collection.create_index([("tenant_id", ASCENDING), ("created_at", DESCENDING)])

    async def create(self, tenant_id: str, created_by: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await self.docs.insert(
            {
                "_id": new_conversation_id(),
                "tenant_id": tenant_id,
                "created_by": created_by,
                "created_at": now,
                "updated_at": now,
                **fields,
            }
        )

    async def get(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        """The tenant's conversation, or None — also for another tenant's id, whose existence stays hidden."""
        if not is_conversation_id(conversation_id):
            return None
        return await self.docs.collection.find_one(
            OutboxCollection.live({"_id": conversation_id, "tenant_id": tenant_id})
        )

    async def page(
        self, tenant_id: str, page: int, per_page: int, filters: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], int]:
        query = OutboxCollection.live({"tenant_id": tenant_id, **filters})
        total = await self.docs.collection.count_documents(query)
        cursor = self.docs.collection.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        items = [document async for document in cursor.skip((page - 1) * per_page).limit(per_page)]
        return items, total

    async def update(
        self, tenant_id: str, conversation_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        if not is_conversation_id(conversation_id):
            return None
        return await self.docs.update({"_id": conversation_id, "tenant_id": tenant_id}, fields)

    async def delete(self, tenant_id: str, conversation_id: str) -> bool:
        if not is_conversation_id(conversation_id):
            return False
        return await self.docs.delete({"_id": conversation_id, "tenant_id": tenant_id})
