"""The conversation-memory store on the real MongoDB-compatible server (FerretDB ignores ``$push``'s ``$slice``,
so the cap on turns is the store's own work)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from switchboard_ai_responder.adapters.conversations import ConversationStore
from switchboard_ai_responder.domain.conversation import Conversation, Turn

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_history_keeps_the_last_turns_and_remembers_more_event_ids(
    mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str
) -> None:
    collection = mongo[f"{db_prefix}_memory"]["conversations"]
    store = ConversationStore(collection, max_history=2)
    conversation = Conversation(tenant_id="t", conversation_id="c")
    await store.ensure(conversation)

    for number in range(1, 10):
        turn = Turn(event_id=f"e-{number}", role="user", text=f"message {number}", at=NOW)
        assert await store.append(conversation, turn, {"last_activity_at": NOW})
        loaded = await store.get("t", "c")
        assert loaded is not None
        assert len(loaded.history) == min(number, 2)
        conversation = loaded

    assert [turn.event_id for turn in conversation.history] == ["e-8", "e-9"]
    document = await collection.find_one({"_id": "t:c"})
    assert document is not None
    assert document["event_ids"] == [f"e-{number}" for number in range(2, 10)]
    # A turn trimmed from the history is still known by its event id: its redelivery adds nothing.
    again = Turn(event_id="e-5", role="user", text="message 5", at=NOW)
    assert not await store.append(conversation, again, {})
