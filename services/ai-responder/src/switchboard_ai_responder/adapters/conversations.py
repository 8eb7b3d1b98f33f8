"""The conversation-memory projection in MongoDB (collection ``conversations``, ``_id`` ``<tenant>:<conversation>``).

Appending a turn is idempotent on the event id (the update only matches while the id is absent), so a replayed
event never duplicates a turn. Expiry: ``expires_at`` is pushed forward on every message; a TTL index deletes
idle conversations on MongoDB, and ``sweep`` does the same on servers without TTL indexes (FerretDB). Readers
also treat an expired document as empty, so expiry holds between sweeps.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from switchboard_ai_responder.domain.conversation import Conversation, Turn, conversation_key
from switchboard_platform.mongo import ensure_expiry_index, sweep_expired

log = logging.getLogger(__name__)

#: Event ids remembered for idempotency, beyond the turns kept (turns are trimmed, ids a little later).
_IDS_KEPT_FACTOR = 4


def _turn(document: dict[str, Any]) -> Turn:
    return Turn(
        event_id=document["event_id"], role=document["role"], text=document["text"], at=document["at"]
    )


def to_conversation(document: dict[str, Any]) -> Conversation:
    return Conversation(
        tenant_id=document["tenant_id"],
        conversation_id=document["conversation_id"],
        provider=document.get("provider"),
        integration_id=document.get("integration_id"),
        user_id=document.get("user_id"),
        channel=document.get("channel"),
        mode=document.get("mode", "bot"),
        session_id=document.get("session_id"),
        low_confidence_streak=int(document.get("low_confidence_streak", 0)),
        history=tuple(_turn(turn) for turn in document.get("history", [])),
        last_activity_at=document.get("last_activity_at"),
        expires_at=document.get("expires_at"),
    )


class ConversationStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], max_history: int) -> None:
        self.collection = collection
        self.max_history = max_history
        #: False when the server refused a TTL index; the service then sweeps expired documents itself.
        self.ttl_index = False

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("last_activity_at", ASCENDING)])
        self.ttl_index = await ensure_expiry_index(self.collection)
        if not self.ttl_index:
            log.info("TTL indexes unsupported by the server; expired conversations are swept periodically")

    async def get(self, tenant_id: str, conversation_id: str) -> Conversation | None:
        document = await self.collection.find_one({"_id": conversation_key(tenant_id, conversation_id)})
        return to_conversation(document) if document is not None else None

    async def list(self, tenant_id: str, mode: str | None, limit: int) -> list[Conversation]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if mode is not None:
            query["mode"] = mode
        cursor = self.collection.find(query).sort("last_activity_at", -1).limit(limit)
        return [to_conversation(document) async for document in cursor]

    async def ensure(self, conversation: Conversation) -> None:
        try:
            await self.collection.insert_one(
                {
                    "_id": conversation_key(conversation.tenant_id, conversation.conversation_id),
                    "tenant_id": conversation.tenant_id,
                    "conversation_id": conversation.conversation_id,
                    "mode": "bot",
                    "session_id": None,
                    "low_confidence_streak": 0,
                    "history": [],
                    "event_ids": [],
                }
            )
        except DuplicateKeyError:
            pass

    async def append(self, conversation: Conversation, turn: Turn, fields: dict[str, Any]) -> bool:
        """Add ``turn`` to ``conversation`` (as just loaded) unless its event is already there, and set
        ``fields``; True when it was added."""
        key = conversation_key(conversation.tenant_id, conversation.conversation_id)
        result = await self.collection.update_one(
            {"_id": key, "event_ids": {"$ne": turn.event_id}},
            {
                "$push": {
                    "history": {
                        "event_id": turn.event_id,
                        "role": turn.role,
                        "text": turn.text,
                        "at": turn.at,
                    },
                    "event_ids": turn.event_id,
                },
                "$set": fields,
            },
        )
        # Below the cap the history was never trimmed since the conversation began (or was reset), so its
        # event ids are exactly its turns and neither list needs the read that trimming costs.
        if result.modified_count and len(conversation.history) >= self.max_history:
            await self._trim(key)
        return bool(result.modified_count)

    async def _trim(self, key: str) -> None:
        # FerretDB ignores $push's $slice, so the cap is applied with a second write when it is exceeded.
        document = await self.collection.find_one({"_id": key}, {"history": 1, "event_ids": 1})
        if document is None:
            return
        history, ids = document.get("history", []), document.get("event_ids", [])
        changes: dict[str, Any] = {}
        if len(history) > self.max_history:
            changes["history"] = history[-self.max_history :]
        if len(ids) > self.max_history * _IDS_KEPT_FACTOR:
            changes["event_ids"] = ids[-self.max_history * _IDS_KEPT_FACTOR :]
        if changes:
            await self.collection.update_one({"_id": key}, {"$set": changes})

    async def update(self, tenant_id: str, conversation_id: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one(
            {"_id": conversation_key(tenant_id, conversation_id)}, {"$set": fields}
        )

    async def reset(self, conversation: Conversation) -> None:
        """Forget an expired conversation's turns and session (its identity stays)."""
        await self.update(
            conversation.tenant_id,
            conversation.conversation_id,
            {"history": [], "event_ids": [], "mode": "bot", "session_id": None, "low_confidence_streak": 0},
        )

    async def sweep(self, now: datetime) -> int:
        return await sweep_expired(self.collection, now=now)
