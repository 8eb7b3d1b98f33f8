"""Webhook subscriptions in MongoDB; every change goes through the outbox to the config topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection
from switchboard_registry.domain.ids import is_id, new_id


class WebhookStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        self.docs = OutboxCollection("webhook", database["webhooks"], relay, updated_field="updatedAt")

    async def ensure_indexes(self) -> None:
        await self.docs.collection.create_index([("tenant_id", ASCENDING), ("createdAt", DESCENDING)])

    async def create(self, tenant_id: str, created_by: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        return await self.docs.insert(
            {
                "_id": new_id(),
                "tenant_id": tenant_id,
                "createdBy": created_by,
                "createdAt": now,
                "updatedAt": now,
                "previous_secrets": [],
                **fields,
            }
        )

    async def get(self, tenant_id: str, webhook_id: str) -> dict[str, Any] | None:
        """The tenant's webhook, or None — also for another tenant's id, whose existence stays hidden."""
        if not is_id(webhook_id):
            return None
        return await self.docs.collection.find_one(
            OutboxCollection.live({"_id": webhook_id, "tenant_id": tenant_id})
        )

    async def page(self, tenant_id: str, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        query = OutboxCollection.live({"tenant_id": tenant_id})
        total = await self.docs.collection.count_documents(query)
        cursor = self.docs.collection.find(query).sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
        items = [document async for document in cursor.skip((page - 1) * per_page).limit(per_page)]
        return items, total

    async def update(self, tenant_id: str, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        if not is_id(webhook_id):
            return None
        return await self.docs.update({"_id": webhook_id, "tenant_id": tenant_id}, changes)

    async def delete(self, tenant_id: str, webhook_id: str) -> bool:
        if not is_id(webhook_id):
            return False
        return await self.docs.delete({"_id": webhook_id, "tenant_id": tenant_id})
