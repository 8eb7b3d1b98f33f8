"""The delivery log in MongoDB: the projection of the dispatcher's attempt events.

Two collections, both written only by the attempts consumer and both idempotent under Kafka's at-least-once
redelivery, in any order:

``deliveries`` — one document per delivery, ``_id`` ``<tenant>:<delivery_id>``, every attempt embedded under
``attempts.<command|scheduled>:<n>`` together with the fields derived from them (status, attempt count, last
attempt…). A write reads the document, adds the attempt, re-derives the summary and replaces both in one
compare-and-set on ``version``: attempts and summary can never disagree, an attempt already present is left
as it was (the first copy wins), and a concurrent writer makes the loser re-read and retry.

``delivery_rollups`` — per endpoint, one counter document per minute and per hour with traffic (see
``domain.delivery_stats`` for why). Counters grow with ``$inc``, which is not idempotent by itself, so each
update is guarded in the same document: it only matches while the attempt's token is not yet in ``applied``
and pushes the token with the increment. A replayed attempt finds its token and changes nothing (the upsert's
insert then fails on the duplicate ``_id``, which is the "already applied" answer). ``applied`` grows by one
short token per attempt: bounded by the endpoint's attempts per hour (about 120 KB at the default 100/min).

Every document carries ``expires_at`` (30 days after its last attempt) for a TTL index. FerretDB v1 has no TTL
indexes; there the log is not pruned and a warning says so.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from switchboard_registry.adapters.versioned import MAX_ROUNDS, ConflictingWrites, compare_and_set
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain import delivery_stats as stats
from switchboard_shared.events import DeliveryAttempt, EndpointKind
from switchboard_shared.mongo import ensure_expiry_index

log = logging.getLogger(__name__)

#: What a stats read needs from a rollup (never the ``applied`` guard list).
_COUNTERS = {"n": 1, "outcome": 1, "final": 1, "retries": 1, "errors": 1, "codes": 1, "lat": 1}


class DeliveryLog:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.deliveries: AsyncCollection[dict[str, Any]] = database["deliveries"]
        self.rollups: AsyncCollection[dict[str, Any]] = database["delivery_rollups"]

    async def ensure_indexes(self) -> None:
        await self.deliveries.create_index(
            [
                ("tenant_id", ASCENDING),
                ("endpoint_kind", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("created_at", DESCENDING),
            ]
        )
        await self.deliveries.create_index([("tenant_id", ASCENDING), ("event_id", ASCENDING)])
        await self.rollups.create_index(
            [
                ("tenant_id", ASCENDING),
                ("endpoint_kind", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("size", ASCENDING),
                ("start", ASCENDING),
            ]
        )
        for collection in (self.deliveries, self.rollups):
            # The log is not swept, so a plain index in place of the TTL one would only cost writes.
            if not await ensure_expiry_index(collection, plain_index=False):
                log.warning(
                    "TTL indexes are not supported by this server (FerretDB v1): %s is not pruned",
                    collection.name,
                )

    # -- the projection --------------------------------------------------------------------------------------

    async def record(self, attempt: DeliveryAttempt) -> bool:
        """Project one attempt: into its delivery document, then into its endpoint's rollups (both steps run
        for a replay too, so a crash between them heals). True when the attempt was new."""
        inserted = await self._add_to_delivery(attempt)
        await self._roll_up(attempt)
        return inserted

    async def _add_to_delivery(self, attempt: DeliveryAttempt) -> bool:
        key = rules.attempt_key(attempt)
        record = rules.attempt_record(attempt)

        def add(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is not None and key in current["attempts"]:
                return None  # a replay: the first copy stays
            base = current or {
                "tenant_id": attempt.tenant_id,
                "delivery_id": attempt.delivery_id,
                "endpoint_kind": attempt.endpoint_kind,
                "endpoint_id": attempt.endpoint_id,
                "event_id": attempt.event_id,
                "event_type": attempt.event_type,
                "attempts": {},
            }
            attempts = {**base["attempts"], key: record}
            summary = rules.summarize(attempts.values())
            summary["expires_at"] = summary["last_attempt_at"] + stats.MAX_WINDOW
            return {**base, "attempts": attempts, **summary}

        document_id = rules.delivery_document_id(attempt.tenant_id, attempt.delivery_id)
        _, written = await compare_and_set(self.deliveries, document_id, add)
        return written

    async def _roll_up(self, attempt: DeliveryAttempt) -> None:
        part = stats.contribution(attempt)
        token = rules.attempt_token(attempt)
        update: dict[str, Any] = {"$inc": part.inc, "$push": {"applied": token}}
        if part.minimum:
            update["$min"] = part.minimum
            update["$max"] = part.maximum
        for size, step in stats.STEPS.items():
            start = stats.floor_to(attempt.attempted_at, step)
            identity = {
                "tenant_id": attempt.tenant_id,
                "endpoint_kind": attempt.endpoint_kind,
                "endpoint_id": attempt.endpoint_id,
                "size": size,
                "start": start,
                "expires_at": start + step + stats.MAX_WINDOW,
            }
            await self._apply_once(bucket_id(attempt, size), token, {**update, "$setOnInsert": identity})

    async def _apply_once(self, document_id: str, token: str, update: dict[str, Any]) -> bool:
        """Apply ``update`` to the bucket unless ``token`` was applied already. True when this call did."""
        for _ in range(MAX_ROUNDS):
            try:
                await self.rollups.update_one(
                    {"_id": document_id, "applied": {"$ne": token}}, update, upsert=True
                )
            except DuplicateKeyError:
                # Either the token is there (a replay) or another attempt created the bucket first: retry then.
                if await self.rollups.count_documents({"_id": document_id, "applied": token}, limit=1):
                    return False
                continue
            return True
        raise ConflictingWrites(f"rollup {document_id}: {MAX_ROUNDS} conflicting writes in a row")

    # -- queries ---------------------------------------------------------------------------------------------

    async def get(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, delivery_id: str
    ) -> dict[str, Any] | None:
        """The endpoint's delivery, or None — also for another tenant's or another endpoint's delivery."""
        return await self.deliveries.find_one(
            {
                "_id": rules.delivery_document_id(tenant_id, delivery_id),
                "tenant_id": tenant_id,
                "endpoint_kind": kind,
                "endpoint_id": endpoint_id,
            }
        )

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
    ) -> tuple[list[dict[str, Any]], int]:
        query: dict[str, Any] = {"tenant_id": tenant_id, "endpoint_kind": kind, "endpoint_id": endpoint_id}
        for name, value in (("status", status), ("event_type", event_type), ("event_id", event_id)):
            if value is not None:
                query[name] = value
        total = await self.deliveries.count_documents(query)
        cursor = (
            self.deliveries.find(query, {"attempts": 0})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip((page - 1) * per_page)
            .limit(per_page)
        )
        return [document async for document in cursor], total

    async def counters(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[str, Any]:
        """The endpoint's rollups over the minute-aligned ``[since, until)``, merged."""
        total: dict[str, Any] = {}
        for span in stats.plan(since, until):
            cursor = self.rollups.find(
                {
                    "tenant_id": tenant_id,
                    "endpoint_kind": kind,
                    "endpoint_id": endpoint_id,
                    "size": span.size,
                    "start": {"$gte": span.start, "$lt": span.end},
                },
                _COUNTERS,
            )
            async for bucket in cursor:
                bucket.pop("_id", None)
                stats.merge(total, bucket)
        return total


def bucket_id(attempt: DeliveryAttempt, size: stats.BucketSize) -> str:
    """The rollup document of ``attempt``'s minute or hour."""
    start = stats.floor_to(attempt.attempted_at, stats.STEPS[size])
    return ":".join(
        (attempt.tenant_id, attempt.endpoint_kind, attempt.endpoint_id, size, start.strftime("%Y%m%d%H%M"))
    )
