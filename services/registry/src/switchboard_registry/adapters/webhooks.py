"""Webhook subscriptions in MongoDB; every change goes through the outbox to the config topic."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from switchboard_contracts.config_records import DeliveryConfig, PreviousSecret, WebhookConfig
from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection, identity
from switchboard_registry.adapters.tenant_documents import TenantDocuments
from switchboard_registry.domain.ids import is_id, new_id


def webhook_record(document: Mapping[str, Any]) -> WebhookConfig:
    """The config record of a stored webhook (seed 000's camelCase fields stay camelCase on the wire)."""
    delivery = document.get("delivery")  # webhooks stored before per-endpoint delivery settings have none
    return WebhookConfig(
        **identity(document),
        name=document["name"],
        url=document["url"],
        description=document.get("description"),
        events=tuple(document["events"]),
        active=document["active"],
        secret=document["secret"],
        previous_secrets=tuple(
            PreviousSecret(secret=entry["secret"], expires_at=entry["expires_at"])
            for entry in document.get("previous_secrets", ())
        ),
        delivery=DeliveryConfig.model_validate(delivery) if delivery else DeliveryConfig(),
        disabled_reason=document.get("disabledReason"),
        disabled_at=document.get("disabledAt"),
        created_by=document["createdBy"],
        created_at=document["createdAt"],
        updated_at=document["updatedAt"],
    )


class WebhookStore(TenantDocuments):
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        super().__init__(
            OutboxCollection(
                "webhook", database["webhooks"], relay, webhook_record, updated_field="updatedAt"
            ),
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
