"""The single-document outbox: every configuration change reaches the compacted config topic.

FerretDB (like MongoDB without a replica set) cannot write a document and an outbox record atomically, so
the pending change lives *inside* the changed document: one write sets the new state, bumps ``version`` and
sets ``_outbox``. The relay then publishes the document's current state keyed by ``<entity>:<id>`` (a
tombstone for a deletion) and clears ``_outbox`` only if the version is still the one it published.

If the process dies between the write and the publish, ``_outbox`` stays set and the sweeper — at start-up
and then periodically, on every replica — publishes it. A change may be published more than once (two
replicas, a crash after publishing); consumers keep the highest ``version`` per key, so that is harmless.
Publishing the *current* state rather than each intermediate one is correct for a compacted topic: only the
latest value per key survives compaction anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from faststream.kafka.publisher import DefaultPublisher
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import AnyConfig, ConfigChanged, Entity, config_key
from switchboard_contracts.events import EventType
from switchboard_platform.periodic import Periodic

log = logging.getLogger(__name__)

SOURCE = "/switchboard/registry"
OUTBOX = "_outbox"
DELETED = "_deleted"


class RecordIdentity(TypedDict):
    """What every config record takes from its document the same way (``ConfigRecord``'s fields)."""

    id: str
    tenant_id: str
    version: int


def identity(document: Mapping[str, Any]) -> RecordIdentity:
    return {"id": document["_id"], "tenant_id": document["tenant_id"], "version": document["version"]}


#: A stored document as its config record (``switchboard_contracts.config_records``): what the topic carries.
StateView = Callable[[Mapping[str, Any]], AnyConfig]


class ChangeRelay:
    """Publishes pending changes of every registered collection to the config topic."""

    def __init__(self, publisher: DefaultPublisher, *, sweep_interval_s: float = 2.0) -> None:
        self.publisher = publisher
        self.sweep_interval_s = sweep_interval_s
        self._collections: dict[Entity, tuple[AsyncCollection[dict[str, Any]], StateView]] = {}
        # Changes younger than one interval are usually being published inline right now.
        self._sweeper = Periodic(
            lambda: self.sweep(older_than=timedelta(seconds=self.sweep_interval_s)),
            sweep_interval_s,
            name="config-outbox-sweeper",
            failure="outbox sweep failed; retrying next interval",
            logger=log,
        )

    def register(self, entity: Entity, collection: AsyncCollection[dict[str, Any]], state: StateView) -> None:
        self._collections[entity] = (collection, state)

    # -- writing side: what repositories put in their single-document writes ---------------------------------

    @staticmethod
    def pending(version: int) -> dict[str, Any]:
        return {OUTBOX: {"version": version, "since": datetime.now(UTC)}}

    # -- publishing side --------------------------------------------------------------------------------------

    async def publish(self, entity: Entity, document: Mapping[str, Any]) -> bool:
        """Publish ``document``'s pending change and clear it. Returns False (change still pending) on error."""
        collection, state = self._collections[entity]
        marker = document.get(OUTBOX)
        if not marker:
            return True
        version = int(marker["version"])
        entity_id = str(document["_id"])
        tenant = document.get("tenant_id")
        key = config_key(entity, entity_id)
        deleted = bool(document.get(DELETED))
        try:
            event = CloudEvent(
                source=SOURCE,
                type=EventType.CONFIG_CHANGED,
                subject=key,
                tenant=tenant,
                partitionkey=key,
                data=None
                if deleted
                else ConfigChanged(
                    entity=entity,
                    entity_id=entity_id,
                    tenant_id=tenant,
                    version=version,
                    state=state(document),
                ),
                extensions={"entity": entity, "version": str(version)},
            )
            # A deletion is a tombstone: a null value (not the empty bytes of an event without data).
            await self.publisher.publish(
                None if deleted else event.kafka_value(),
                key=key.encode(),
                headers=event.kafka_headers(),
                correlation_id=event.id,
            )
        except Exception:  # the change stays pending; the sweeper retries it
            log.warning(
                "config change not published yet",
                extra={"entity": entity, "entity_id": entity_id},
                exc_info=True,
            )
            return False
        if deleted:
            await collection.delete_one({"_id": document["_id"], f"{OUTBOX}.version": version})
        else:
            await collection.update_one(
                {"_id": document["_id"], f"{OUTBOX}.version": version}, {"$unset": {OUTBOX: ""}}
            )
        return True

    async def sweep(self, older_than: timedelta = timedelta(0)) -> int:
        """Publish every pending change older than ``older_than``; returns how many were published."""
        published = 0
        cutoff = datetime.now(UTC) - older_than
        for entity, (collection, _) in self._collections.items():
            async for document in collection.find({f"{OUTBOX}.since": {"$lte": cutoff}}):
                published += await self.publish(entity, document)
        return published

    async def start(self) -> None:
        await self.sweep()
        await self._sweeper.start()

    async def stop(self) -> None:
        await self._sweeper.stop()


class OutboxCollection:
    """Writes to one entity's collection that always carry their outbox marker, then relay inline."""

    def __init__(
        self,
        entity: Entity,
        collection: AsyncCollection[dict[str, Any]],
        relay: ChangeRelay,
        state: StateView,
        *,
        updated_field: str = "updated_at",
    ) -> None:
        self.entity = entity
        self.updated_field = updated_field
        self.collection = collection
        self.relay = relay
        relay.register(entity, collection, state)

    @staticmethod
    def live(query: Mapping[str, Any]) -> dict[str, Any]:
        return {**query, DELETED: {"$ne": True}}

    async def insert(self, document: dict[str, Any]) -> dict[str, Any]:
        document = {**document, "version": 1, **ChangeRelay.pending(1)}
        await self.collection.insert_one(document)
        await self.relay.publish(self.entity, document)
        return document

    async def update(
        self, query: Mapping[str, Any], changes: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Apply ``$set: changes`` (plus any other operators in ``extra``) to the live document matching
        ``query``; returns the new document or None when nothing matched."""
        return await self._write(query, {**changes, self.updated_field: datetime.now(UTC)}, extra)

    async def delete(self, query: Mapping[str, Any]) -> bool:
        """Soft-delete the live document matching ``query``: the relay publishes its tombstone, then removes it."""
        return await self._write(query, {DELETED: True}) is not None

    async def _write(
        self, query: Mapping[str, Any], fields: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        # The version is read and bumped in the same single-document write, so the marker always names it.
        current = await self.collection.find_one(self.live(query), {"version": 1})
        if current is None:
            return None
        version = int(current.get("version", 0)) + 1
        document = await self.collection.find_one_and_update(
            {**self.live(query), "version": current.get("version", 0)},
            {**(extra or {}), "$set": {**fields, "version": version, **ChangeRelay.pending(version)}},
            return_document=ReturnDocument.AFTER,
        )
        if document is None:  # a concurrent writer won; retry on its version
            return await self._write(query, fields, extra)
        await self.relay.publish(self.entity, document)
        return document
