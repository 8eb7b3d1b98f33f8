"""Builders for events tests need, with sensible defaults and every field overridable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from switchboard_shared.cloudevents import CloudEvent
from switchboard_shared.events import Author, EventType, MessageReceived


def message_received(**overrides: Any) -> MessageReceived:
    fields: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "provider": "generic",
        "conversation_id": f"conv-{uuid.uuid4().hex[:8]}",
        "message_id": f"msg-{uuid.uuid4().hex[:8]}",
        "author": Author(id="user-1", name="Ada", type="user"),
        "text": "Hello, I need help with my account.",
        "sent_at": datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return MessageReceived(**fields)


def cloud_event(type_: str = EventType.MESSAGE_CREATED, data: Any = None, **overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {
        "source": "/tests",
        "type": str(type_),
        "tenant": "tenant-1",
        "partitionkey": "conv-1",
        "subject": "conv-1",
        "data": data
        if data is not None
        else {"id": "m-1", "conversationId": "conv-1", "content": {"text": "hi"}},
    }
    fields.update(overrides)
    return CloudEvent(**fields)
