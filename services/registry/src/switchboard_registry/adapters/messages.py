"""Seed 002's message history in MongoDB (``messages``): see ``domain.messages`` for what it holds and why.

Both writers — the message-event consumer and the attempts consumer — go through one compare-and-set per
document (``adapters.versioned``), so a message and the status of its deliveries never overwrite each other,
whatever order their events arrive in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_contracts.events import DeliveryAttempt
from switchboard_registry.adapters.versioned import compare_and_set
from switchboard_registry.domain import messages as rules


class MessageHistory:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.messages: AsyncCollection[dict[str, Any]] = database["messages"]

    async def ensure_indexes(self) -> None:
        await self.messages.create_index(
            [("tenant_id", ASCENDING), ("timestamp", DESCENDING), ("_id", DESCENDING)]
        )
        await self.messages.create_index(
            [
                ("tenant_id", ASCENDING),
                ("platform", ASCENDING),
                ("message_type", ASCENDING),
                ("status", ASCENDING),
            ]
        )

    async def record_message(self, tenant_id: str, event_id: str, fields: dict[str, Any]) -> bool:
        """Project a message event. True when the document changed."""

        def apply(current: dict[str, Any] | None) -> dict[str, Any]:
            return rules.with_message(current, tenant_id, event_id, fields)

        _, written = await compare_and_set(self.messages, rules.message_id(tenant_id, event_id), apply)
        return written

    async def track_deliveries(self, attempts: Sequence[DeliveryAttempt]) -> int:
        """Project a batch's attempts of message events' deliveries: one write per message, whatever number
        of its attempts the batch holds. Returns how many documents changed."""
        by_message: dict[str, list[DeliveryAttempt]] = defaultdict(list)
        for attempt in attempts:
            by_message[rules.message_id(attempt.tenant_id, attempt.event_id)].append(attempt)
        changed = 0
        for document_id, its_attempts in by_message.items():

            def apply(
                current: dict[str, Any] | None, batch: list[DeliveryAttempt] = its_attempts
            ) -> dict[str, Any] | None:
                return rules.with_deliveries(current, batch)

            _, written = await compare_and_set(self.messages, document_id, apply)
            changed += written
        return changed

    async def page(
        self,
        tenant_id: str,
        *,
        page: int,
        per_page: int,
        platform: str | None = None,
        message_type: str | None = None,
        status: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        # Documents that so far only know a delivery (the message event is still on its way) are not listed.
        query: dict[str, Any] = {
            "tenant_id": tenant_id,
            "message_type": message_type if message_type is not None else {"$in": list(rules.MESSAGE_TYPES)},
        }
        if platform is not None:
            query["platform"] = platform
        if status is not None:
            query["status"] = status
        total = await self.messages.count_documents(query)
        cursor = (
            self.messages.find(query)
            .sort([("timestamp", DESCENDING), ("_id", DESCENDING)])
            .skip((page - 1) * per_page)
            .limit(per_page)
        )
        return [document async for document in cursor], total
