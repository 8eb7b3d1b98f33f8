"""The delivery log in MongoDB: the projection of the dispatcher's attempt events, written a Kafka batch at a
time and append-only, so a record costs the same whether the log holds 1k or 1M documents.

Two collections, both written only by the attempts consumer and both idempotent under Kafka's at-least-once
redelivery, in any order:

``delivery_attempts`` — one document per attempt, ``_id`` ``<tenant>:<delivery_id>:<command|scheduled>:<n>``,
inserted once and never updated: a batch is one unordered ``insert_many`` and the ``_id`` index refuses an
attempt already stored (the first copy wins). A delivery — its status, attempt count, last attempt… — is
derived from its attempts when it is read (``domain.deliveries.delivery_of``), so no write ever reads or
rewrites an earlier one. Why: FerretDB v1 (local and CI) scans the whole collection for every keyed update —
measured 6 / 46 / 161 ms per ``update_one`` at 1k / 10k / 50k documents, while an insert stays ~20 µs — and
the read-modify-write per attempt left the log minutes behind the dispatcher (issue #15).

``delivery_rollups`` — per endpoint, one counter document per minute and per hour with traffic, for the stats
(``adapters.delivery_rollups``, which owns them). An attempt is counted by the Kafka record whose copy is stored
(its ``kafka`` position): a replay of that record is caught by the rollups' per-partition marks, and another
copy of the same attempt — the dispatcher re-emitting it after a crash, under a new event id — is not counted
at all.

Every attempt carries ``expires_at`` (30 days after it) for a TTL index. FerretDB v1 has no TTL indexes; there
the log is not pruned and a warning says so.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from switchboard_contracts.events import DeliveryAttempt, EndpointKind
from switchboard_platform.mongo import ensure_expiry_index, insert_new
from switchboard_registry.adapters.delivery_rollups import DeliveryRollups
from switchboard_registry.adapters.event_log import KafkaPosition
from switchboard_registry.domain import deliveries as rules

log = logging.getLogger(__name__)

#: What a listing needs from an attempt (response bodies are only shown with a single delivery).
_LISTED = {"response_body": 0, "kafka": 0, "expires_at": 0}


class DeliveryLog:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.attempts: AsyncCollection[dict[str, Any]] = database["delivery_attempts"]
        self.rollups = DeliveryRollups(database)

    async def ensure_indexes(self) -> None:
        # One index serves both reads (a delivery: all four fields; a listing: the first three — it is grouped
        # and sorted in Python). Every index is paid by every insert, and FerretDB v1's inserts are the cost here.
        await self.attempts.create_index(
            [
                ("tenant_id", ASCENDING),
                ("endpoint_kind", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("delivery_id", ASCENDING),
            ]
        )
        # The log is not swept, so a plain index in place of the TTL one would only cost writes.
        if not await ensure_expiry_index(self.attempts, plain_index=False):
            log.warning(
                "TTL indexes are not supported by this server (FerretDB v1): %s is not pruned",
                self.attempts.name,
            )
        await self.rollups.ensure_indexes()

    # -- the projection --------------------------------------------------------------------------------------

    async def record(self, attempts: Sequence[tuple[DeliveryAttempt, KafkaPosition]]) -> int:
        """Project a batch of attempts with the Kafka records they came from: one bulk insert, then one write
        per rollup bucket touched. Returns how many attempts were new. Both steps run for a replay too, so a
        crash between them heals when the batch is consumed again."""
        documents = [
            rules.attempt_document(attempt, position.partition, position.offset)
            for attempt, position in attempts
        ]
        refused = await insert_new(self.attempts, documents)
        counted = []
        for index, (attempt, position) in enumerate(attempts):
            if index in refused and not await self._is_stored_copy(documents[index]):
                continue  # another record carried this attempt first: that one is counted
            counted.append((attempt, position))
        await self.rollups.add(counted)
        return len(documents) - len(refused)

    async def _is_stored_copy(self, document: dict[str, Any]) -> bool:
        """Whether the stored attempt came from the same Kafka record as ``document`` (a replay of it)."""
        stored = await self.attempts.find_one({"_id": document["_id"]}, {"kafka": 1})
        return stored is not None and stored.get("kafka") == document["kafka"]

    # -- queries ---------------------------------------------------------------------------------------------

    async def get(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, delivery_id: str
    ) -> dict[str, Any] | None:
        """The endpoint's delivery, or None — also for another tenant's or another endpoint's delivery."""
        query = {
            "tenant_id": tenant_id,
            "endpoint_kind": kind,
            "endpoint_id": endpoint_id,
            "delivery_id": delivery_id,
        }
        documents = [document async for document in self.attempts.find(query)]
        return rules.delivery_of(documents) if documents else None

    async def page(
        self,
        tenant_id: str,
        kind: EndpointKind,
        endpoint_id: str,
        *,
        page: int,
        per_page: int,
        status: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the endpoint's deliveries, newest first, and how many match. A delivery's status is its
        latest attempt's, so the endpoint's attempts are grouped here rather than stored per delivery (the
        cost of the append-only log: O(the endpoint's attempts in the 30 days kept) per listing)."""
        query: dict[str, Any] = {"tenant_id": tenant_id, "endpoint_kind": kind, "endpoint_id": endpoint_id}
        # A delivery's event is the same in all its attempts, so these filter attempts and deliveries alike.
        for name, value in (("event_type", event_type), ("event_id", event_id)):
            if value is not None:
                query[name] = value
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        async for document in self.attempts.find(query, _LISTED):
            grouped[document["delivery_id"]].append(document)
        deliveries = [rules.delivery_of(documents) for documents in grouped.values()]
        if status is not None:
            deliveries = [delivery for delivery in deliveries if delivery["status"] == status]
        # A delivery is placed in time by its first attempt (``createdAt``), like the listing's order.
        if since is not None:
            deliveries = [delivery for delivery in deliveries if delivery["created_at"] >= since]
        if until is not None:
            deliveries = [delivery for delivery in deliveries if delivery["created_at"] < until]
        deliveries.sort(key=lambda delivery: (delivery["created_at"], delivery["delivery_id"]), reverse=True)
        first = (page - 1) * per_page
        return deliveries[first : first + per_page], len(deliveries)

    async def counters(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[str, Any]:
        """The endpoint's rollups over the minute-aligned ``[since, until)``, merged (``DeliveryRollups``)."""
        return await self.rollups.counters(tenant_id, kind, endpoint_id, since, until)

    async def hourly(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[datetime, dict[str, Any]]:
        """The endpoint's hour buckets starting in ``[since, until)`` by start (``DeliveryRollups``)."""
        return await self.rollups.hourly(tenant_id, kind, endpoint_id, since, until)
