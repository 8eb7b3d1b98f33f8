"""Answers held for review (seed 003), collection ``reviews``, ``_id`` = the AiResponse id.

A review moves once, atomically, from ``pending`` to ``approved`` or ``rejected`` (a conditional update), so two
reviewers clicking at once get one decision and one 409. ``published`` flips after the decision's events are
in Kafka; repeating the same decision re-publishes them (same event ids) if that never happened.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class ReviewStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("status", ASCENDING)])

    async def hold(self, document: dict[str, Any]) -> None:
        try:
            await self.collection.insert_one({**document, "status": "pending", "published": False})
        except DuplicateKeyError:
            pass  # a redelivered inbound message: the review exists already

    async def get(self, tenant_id: str, review_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": review_id, "tenant_id": tenant_id})

    async def list(self, tenant_id: str, status: str | None, limit: int) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if status is not None:
            query["status"] = status
        cursor = self.collection.find(query).sort("created_at", DESCENDING).limit(limit)
        return [document async for document in cursor]

    async def decide(
        self,
        tenant_id: str,
        review_id: str,
        status: str,
        by: str | None,
        reason: str | None,
        text: str | None,
    ) -> dict[str, Any] | None:
        """pending → ``status``; the updated review, or None when it is not pending (or not there)."""
        changes: dict[str, Any] = {
            "status": status,
            "decided_by": by,
            "decided_at": datetime.now(UTC),
            "reason": reason,
        }
        if text is not None:
            changes["edited_text"] = text
        return await self.collection.find_one_and_update(
            {"_id": review_id, "tenant_id": tenant_id, "status": "pending"},
            {"$set": changes},
            return_document=True,
        )

    async def mark_published(self, review_id: str) -> None:
        await self.collection.update_one({"_id": review_id}, {"$set": {"published": True}})
