"""Webhook subscriptions in MongoDB; every change goes through the outbox to the config topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection
from switchboard_registry.adapters.tenant_documents import TenantDocuments
from switchboard_registry.domain.ids import is_id, new_id


class WebhookStore(TenantDocuments):
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        super().__init__(
            OutboxCollection("webhook", database["webhooks"], relay, updated_field="updatedAt"),
            is_valid_id=is_id,
            created_field="createdAt",
        )

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

    async def update(self, tenant_id: str, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        return await self._update(tenant_id, webhook_id, changes)
