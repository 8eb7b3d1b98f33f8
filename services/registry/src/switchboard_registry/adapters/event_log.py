"""The event log: one MongoDB document per CloudEvent seen on ``platform.events``.

The registry keeps it so operators and the delivery log can find an event by id, type or tenant, and so
``recover since`` can replay what happened in a window. Writes are idempotent on (source, id) — the pair
CloudEvents makes unique, stored as ``_id`` — so Kafka's at-least-once redelivery never creates a second record.
A batch is one unordered ``insert_many``: the ``_id`` index refuses what is already there, with no lookup first
(FerretDB v1 pays a collection scan for every keyed update, so an upsert per event slowed as the log grew).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_platform import telemetry
from switchboard_platform.mongo import insert_new


class KafkaPosition(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


def event_key(event: CloudEvent) -> str:
    # "|" cannot start a URI-reference's scheme and ids rarely contain it; the pair is unique per CloudEvents.
    return f"{event.source}|{event.id}"


class EventLog:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant", ASCENDING), ("time", DESCENDING)])
        await self.collection.create_index([("type", ASCENDING), ("time", DESCENDING)])
        await self.collection.create_index([("event_id", ASCENDING)])

    async def record(self, event: CloudEvent, position: KafkaPosition | None = None) -> bool:
        """Store ``event`` once. Returns True when this call inserted it, False for a redelivery."""
        return await self.record_many([(event, position)]) == 1

    async def record_many(self, events: Sequence[tuple[CloudEvent, KafkaPosition | None]]) -> int:
        """Store each event once, in one bulk write. Returns how many were new (the rest were stored already,
        or repeated within ``events``)."""
        with telemetry.processing_batch("registry event-log", [event for event, _ in events]):
            documents = [_document(event, position) for event, position in events]
            refused = await insert_new(self.collection, documents)
        return len(documents) - len(refused)

    async def get(self, source: str, event_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": f"{source}|{event_id}"})

    async def find(self, tenant_id: str, event_id: str) -> CloudEvent | None:
        """The tenant's event ``event_id`` as recorded (ids are unique per source; should two sources share
        one, the first recorded is taken)."""
        document = await self.collection.find_one({"tenant": tenant_id, "event_id": event_id})
        if document is None:
            return None
        return CloudEvent(
            id=document["event_id"],
            source=document["source"],
            type=document["type"],
            subject=document.get("subject"),
            tenant=document.get("tenant"),
            partitionkey=document.get("partitionkey"),
            time=document["time"],
            datacontenttype=document.get("datacontenttype") or "application/json",
            extensions=document.get("extensions") or {},
            data=document.get("data"),
        )


def _document(event: CloudEvent, position: KafkaPosition | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": event_key(event),
        "event_id": event.id,
        "source": event.source,
        "type": event.type,
        "subject": event.subject,
        "tenant": event.tenant,
        "partitionkey": event.partitionkey,
        "time": event.time,
        "datacontenttype": event.datacontenttype,
        "extensions": event.extensions,
        "data": event.data if not isinstance(event.data, bytes | bytearray) else None,
        "recorded_at": datetime.now(UTC),
    }
    if position is not None:
        document["kafka"] = {
            "topic": position.topic,
            "partition": position.partition,
            "offset": position.offset,
        }
    return document
