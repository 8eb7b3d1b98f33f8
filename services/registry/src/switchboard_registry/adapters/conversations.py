"""Conversations with callback configuration (seed 001) in MongoDB, published through the outbox.

The config topic record is keyed ``conversation:<id>`` and carries tenant, id, ``config.callback_url`` and the
``delivery`` settings: everything the dispatcher needs to route a message event to its callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from switchboard_contracts.config_records import CallbackConfig, ConversationConfig, DeliveryConfig
from switchboard_registry.adapters.outbox import ChangeRelay, OutboxCollection, identity
from switchboard_registry.adapters.tenant_documents import TenantDocuments
from switchboard_registry.domain.conversations import is_conversation_id, new_conversation_id


def conversation_record(document: Mapping[str, Any]) -> ConversationConfig:
    """The config record of a stored conversation: its callback (secret sealed) and delivery settings."""
    return ConversationConfig(
        **identity(document),
        channel=document["channel"],
        usecase=document["usecase"],
        config=CallbackConfig.model_validate(document["config"]),
        delivery=DeliveryConfig.model_validate(document["delivery"]),
        created_by=document["created_by"],
        created_at=document["created_at"],
        updated_at=document["updated_at"],
    )


class ConversationStore(TenantDocuments):
    def __init__(self, database: AsyncDatabase[dict[str, Any]], relay: ChangeRelay) -> None:
        super().__init__(
            OutboxCollection("conversation", database["conversations"], relay, conversation_record),
            is_valid_id=is_conversation_id,
        )

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

    async def update(
        self, tenant_id: str, conversation_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        return await self._update(tenant_id, conversation_id, fields)
