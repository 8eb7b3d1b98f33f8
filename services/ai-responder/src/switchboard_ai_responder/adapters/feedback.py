"""Recorded ``feedback.received`` events (seed 003), collection ``feedback``, ``_id`` = the event key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


class FeedbackStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("recorded_at", ASCENDING)])

    async def record(self, key: str, tenant_id: str, feedback: dict[str, Any], event_id: str) -> bool:
        try:
            await self.collection.insert_one(
                {
                    "_id": key,
                    "tenant_id": tenant_id,
                    "event_id": event_id,
                    "feedback": feedback,
                    "response_id": feedback.get("response_id"),
                    "recorded_at": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def list(self, tenant_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id}).sort("recorded_at", DESCENDING).limit(limit)
        return [document async for document in cursor]
