"""Builders for events tests need, with sensible defaults and every field overridable."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import RECORD_MODELS, AnyConfig, ConfigRecord, Entity
from switchboard_contracts.events import Author, DeliveryAttempt, EventType, MessageReceived


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


def delivery_attempt(tenant_id: str, endpoint_id: str, **overrides: Any) -> DeliveryAttempt:
    """A dispatcher's attempt record: a first attempt that succeeded, now, at a webhook."""
    fields: dict[str, Any] = {
        "delivery_id": f"msg_{uuid.uuid4().hex}",
        "event_id": uuid.uuid4().hex,
        "event_type": "message.created",
        "tenant_id": tenant_id,
        "endpoint_id": endpoint_id,
        "endpoint_kind": "webhook",
        "url": "https://hooks.example.com/h",
        "attempt": 1,
        "outcome": "succeeded",
        "status_code": 200,
        "latency_ms": 42.0,
        "response_body": "ok",
        "attempted_at": datetime.now(UTC),
    }
    fields.update(overrides)
    return DeliveryAttempt(**fields)


def attempt_event(record: DeliveryAttempt, **overrides: Any) -> CloudEvent:
    """The CloudEvent the dispatcher wraps an attempt in (type delivery.<outcome>, keyed by endpoint)."""
    fields: dict[str, Any] = {
        "source": "/switchboard/dispatcher",
        "type": f"delivery.{record.outcome}",
        "tenant": record.tenant_id,
        "subject": record.delivery_id,
        "partitionkey": f"{record.endpoint_kind}:{record.endpoint_id}",
        "data": record,
    }
    fields.update(overrides)
    return CloudEvent(**fields)


#: When records built by ``config_record`` were created and last changed.
RECORDED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def config_record(
    entity: Entity, entity_id: str, tenant_id: str, state: Mapping[str, Any], version: int = 1
) -> AnyConfig:
    """The record the registry would publish for ``entity_id`` with ``state`` (its own fields, by name or wire
    alias), the bookkeeping a test does not care about filled in: name, creator, timestamps."""
    model = RECORD_MODELS[entity]
    stamps = ("createdAt", "updatedAt") if entity == "webhook" else ("created_at", "updated_at")
    fields: dict[str, Any] = {"name": entity_id, stamps[0]: RECORDED_AT, stamps[1]: RECORDED_AT}
    if entity in ("webhook", "integration", "conversation"):
        fields["createdBy" if entity == "webhook" else "created_by"] = "key-tests"
    fields.update(state)
    fields.update({"id": entity_id, "tenant_id": tenant_id, "version": version})
    return model.model_validate(fields)


def undecided_fields(model: type[ConfigRecord], follower: ModuleType, unused: Collection[str]) -> set[str]:
    """The fields of ``model`` (beyond id, tenant and version, which the shared view handles) that the
    ``follower`` module neither reads (``.field`` appears in its source) nor declares ``unused``: a field the
    registry added to a record and nobody decided about."""
    source = Path(follower.__file__ or "").read_text()
    own = set(model.model_fields) - set(ConfigRecord.model_fields)
    return {name for name in own if name not in unused and f".{name}" not in source}
