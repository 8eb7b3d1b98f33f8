"""A tenant's resources in one outbox-published collection (webhooks, integrations, conversations): the lookups
every such store makes the same way.

Every query carries the tenant, so another tenant's id is simply not found; an id of the wrong shape is not
found without asking MongoDB; soft-deleted documents (tombstones still being published) are invisible.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING

from switchboard_registry.adapters.outbox import OutboxCollection


class TenantDocuments:
    def __init__(
        self, docs: OutboxCollection, *, is_valid_id: Callable[[str], bool], created_field: str = "created_at"
    ) -> None:
        self.docs = docs
        self.is_valid_id = is_valid_id
        self.created_field = created_field

    async def ensure_indexes(self) -> None:
        await self.docs.collection.create_index([("tenant_id", ASCENDING), (self.created_field, DESCENDING)])

    async def get(self, tenant_id: str, item_id: str) -> dict[str, Any] | None:
        """The tenant's document, or None — also for another tenant's id, whose existence stays hidden."""
        if not self.is_valid_id(item_id):
            return None
        return await self.docs.collection.find_one(
            OutboxCollection.live({"_id": item_id, "tenant_id": tenant_id})
        )

    async def page(
        self, tenant_id: str, page: int, per_page: int, filters: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the tenant's documents, newest first, and how many there are in all."""
        query = OutboxCollection.live({"tenant_id": tenant_id, **(filters or {})})
        total = await self.docs.collection.count_documents(query)
        cursor = self.docs.collection.find(query).sort(
            [(self.created_field, DESCENDING), ("_id", DESCENDING)]
        )
        items = [document async for document in cursor.skip((page - 1) * per_page).limit(per_page)]
        return items, total

    async def delete(self, tenant_id: str, item_id: str) -> bool:
        if not self.is_valid_id(item_id):
            return False
        return await self.docs.delete({"_id": item_id, "tenant_id": tenant_id})

    async def _update(
        self,
        tenant_id: str,
        item_id: str,
        changes: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        if not self.is_valid_id(item_id):
            return None
        return await self.docs.update({"_id": item_id, "tenant_id": tenant_id}, changes, extra)
