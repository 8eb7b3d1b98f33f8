"""The delivery log's stats rollups in MongoDB: per endpoint, one counter document per minute and per hour with
traffic (see ``domain.delivery_stats`` for why), written from the attempts the delivery log counts, a Kafka
batch at a time, and read back merged over a window.

A batch's attempts are summed in memory and each bucket gets one ``$inc`` per batch, not one per attempt.
``$inc`` is not idempotent by itself, so the bucket keeps, per Kafka partition, the offset of the last record
folded in (``hw.p<partition>``): a write folds only the records past those marks and is guarded on them, in
the same document. A partition's records are consumed in offset order, so the records counted in a bucket are
always exactly its records up to that mark, whatever batches a replay after a crash cuts the partition into.
Which copy of an attempt is counted is the delivery log's decision (``DeliveryLog.record``): the one whose
Kafka record is stored.

Every bucket carries ``expires_at`` (30 days after its bucket) for a TTL index. FerretDB v1 has no TTL
indexes; there the rollups are not pruned and a warning says so.
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
from pymongo.errors import DuplicateKeyError

from switchboard_contracts.events import DeliveryAttempt, EndpointKind
from switchboard_platform.mongo import ensure_expiry_index
from switchboard_registry.adapters.event_log import KafkaPosition
from switchboard_registry.adapters.versioned import MAX_ROUNDS, ConflictingWrites
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain import delivery_stats as stats

log = logging.getLogger(__name__)

#: What a stats read needs from a rollup (never the replay marks).
_COUNTERS = {"n": 1, "outcome": 1, "final": 1, "retries": 1, "errors": 1, "codes": 1, "lat": 1}
#: Rollup buckets whose marks are remembered (a minute and an hour bucket per endpoint with traffic).
_MARKS_KEPT = 10_000


class DeliveryRollups:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection: AsyncCollection[dict[str, Any]] = database["delivery_rollups"]
        #: Per rollup bucket, the marks this process last wrote there (saves a read per bucket per batch).
        self._marks: dict[str, dict[str, int]] = {}

    async def ensure_indexes(self) -> None:
        await self.collection.create_index(
            [
                ("tenant_id", ASCENDING),
                ("endpoint_kind", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("size", ASCENDING),
                ("start", ASCENDING),
            ]
        )
        # The rollups are not swept, so a plain index in place of the TTL one would only cost writes.
        if not await ensure_expiry_index(self.collection, plain_index=False):
            log.warning(
                "TTL indexes are not supported by this server (FerretDB v1): %s is not pruned",
                self.collection.name,
            )

    # -- the projection --------------------------------------------------------------------------------------

    async def add(self, attempts: Sequence[tuple[DeliveryAttempt, KafkaPosition]]) -> None:
        """Count ``attempts`` (each with the Kafka record it came from) in their minute and hour buckets: one
        write per bucket touched, records already counted (a replay) skipped."""
        parts: dict[str, dict[int, list[tuple[int, stats.Contribution]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        identities: dict[str, dict[str, Any]] = {}
        for attempt, position in attempts:
            part = stats.contribution(attempt)
            for size, step in stats.STEPS.items():
                document_id = bucket_id(attempt, size)
                parts[document_id][position.partition].append((position.offset, part))
                if document_id not in identities:
                    start = stats.floor_to(attempt.attempted_at, step)
                    identities[document_id] = {
                        "tenant_id": attempt.tenant_id,
                        "endpoint_kind": attempt.endpoint_kind,
                        "endpoint_id": attempt.endpoint_id,
                        "size": size,
                        "start": start,
                        "expires_at": start + step + stats.MAX_WINDOW,
                    }
        for document_id, by_partition in parts.items():
            await self._fold_into(document_id, by_partition, identities[document_id])

    async def _fold_into(
        self,
        document_id: str,
        parts: dict[int, list[tuple[int, stats.Contribution]]],
        identity: dict[str, Any],
    ) -> None:
        """Add the records past the bucket's mark of their partition, and move the marks, in one write."""
        # Optimistic: the marks this process last wrote (or none). Where the stored marks are further on — a
        # replay, another replica before a rebalance — the guard refuses the write, and the marks are read.
        marks = self._marks.get(document_id, {})
        for _ in range(MAX_ROUNDS):
            fresh = stats.past_marks(parts, marks)
            if not fresh:
                return  # all counted already: a replay
            delta = stats.fold(part for records in fresh.values() for _, part in records)
            guards: list[dict[str, Any]] = []
            moved: dict[str, int] = {}
            for partition, records in fresh.items():
                mark = stats.mark_key(partition)
                first = min(offset for offset, _ in records)
                # Only while the mark is still before these records: they are then not in the bucket yet.
                guards.append({"$or": [{f"hw.{mark}": {"$lt": first}}, {f"hw.{mark}": {"$exists": False}}]})
                moved[mark] = max(offset for offset, _ in records)
            update: dict[str, Any] = {
                "$inc": delta.inc,
                "$max": {**delta.maximum, **{f"hw.{mark}": offset for mark, offset in moved.items()}},
                "$setOnInsert": identity,
            }
            if delta.minimum:
                update["$min"] = delta.minimum
            try:
                await self.collection.update_one({"_id": document_id, "$and": guards}, update, upsert=True)
            except DuplicateKeyError:
                # A guard refused (the upsert then collides with the existing bucket): read the real marks.
                # A lookup by _id alone is the one read FerretDB v1 answers without a scan.
                current = await self.collection.find_one({"_id": document_id}, {"hw": 1})
                marks = {} if current is None else current.get("hw", {})
                continue
            if len(self._marks) >= _MARKS_KEPT:
                self._marks.clear()  # old buckets get no more attempts; the next write of a live one re-reads
            self._marks[document_id] = {**marks, **moved}
            return
        raise ConflictingWrites(f"rollup {document_id}: {MAX_ROUNDS} conflicting writes in a row")

    # -- queries ---------------------------------------------------------------------------------------------

    async def counters(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[str, Any]:
        """The endpoint's rollups over the minute-aligned ``[since, until)``, merged."""
        total: dict[str, Any] = {}
        for span in stats.plan(since, until):
            cursor = self.collection.find(
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

    async def hourly(
        self, tenant_id: str, kind: EndpointKind, endpoint_id: str, since: datetime, until: datetime
    ) -> dict[datetime, dict[str, Any]]:
        """The endpoint's hour buckets starting in ``[since, until)`` by start (hours without traffic have none):
        the console's charts, one read for the whole window rather than one ``counters`` per hour."""
        cursor = self.collection.find(
            {
                "tenant_id": tenant_id,
                "endpoint_kind": kind,
                "endpoint_id": endpoint_id,
                "size": "h",
                "start": {"$gte": since, "$lt": until},
            },
            {**_COUNTERS, "start": 1},
        )
        buckets: dict[datetime, dict[str, Any]] = {}
        async for bucket in cursor:
            bucket.pop("_id", None)
            buckets[rules.utc(bucket.pop("start"))] = bucket
        return buckets


def bucket_id(attempt: DeliveryAttempt, size: stats.BucketSize) -> str:
    """The rollup document of ``attempt``'s minute or hour."""
    start = stats.floor_to(attempt.attempted_at, stats.STEPS[size])
    return ":".join(
        (attempt.tenant_id, attempt.endpoint_kind, attempt.endpoint_id, size, start.strftime("%Y%m%d%H%M"))
    )
