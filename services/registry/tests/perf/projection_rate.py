"""Records per second of the registry's projections at a given number of stored documents, on a real server.

    uv run python services/registry/tests/perf/projection_rate.py 1000 10000 100000

For each count N: a fresh database whose attempts and event-log collections already hold N documents
(inserted directly), then ``RECORDS`` new attempts and events projected the way the consumers do it, a batch
of ``BATCH`` at a time (``DeliveryLog.record``, ``EventLog.record_many``). A flat rate from 1k to 100k+ is the
point (issue #15): FerretDB v1 scans a collection for every keyed update, so a write that looks anything up
slows as the log grows. ``SB_MONGODB_URL`` picks the server (default: the local FerretDB).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from switchboard_contracts.events import DeliveryAttempt
from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.event_log import EventLog
from switchboard_testing.builders import cloud_event, delivery_attempt

RECORDS = 2000
BATCH = 500
ENDPOINTS = 4


def _attempt(index: int, at: datetime) -> DeliveryAttempt:
    """Four endpoints, one attempt in ten a retry, the latencies spread."""
    failed = index % 10 == 0
    return delivery_attempt(
        "tenant-1",
        f"wh_{index % ENDPOINTS}",
        event_type="order.created",
        outcome="retry_scheduled" if failed else "succeeded",
        status_code=503 if failed else 200,
        latency_ms=12.0 + index % 50,
        attempted_at=at + timedelta(milliseconds=index),
    )


async def _prefill(log: DeliveryLog, events: EventLog, count: int) -> None:
    earlier = datetime.now(UTC) - timedelta(hours=2)
    for start in range(0, count, 5000):
        size = min(5000, count - start)
        # On a partition of its own, projected as the consumer does (the log is all inserts but the heads).
        await log.record(
            [(_attempt(start + i, earlier), Consumed(None, "attempts", 9, start + i)) for i in range(size)]
        )
        await events.collection.insert_many(
            [{"_id": f"/prefill|{uuid.uuid4().hex}", "event_id": "x", "pad": "p" * 800} for _ in range(size)],
            ordered=False,
        )


async def _measure(client: AsyncMongoClient[dict[str, Any]], stored: int) -> tuple[float, float]:
    database = client[f"projection_rate_{uuid.uuid4().hex[:8]}"]
    try:
        log, events = DeliveryLog(database), EventLog(database["events"])
        await log.ensure_indexes()
        await events.ensure_indexes()
        await _prefill(log, events, stored)
        now = datetime.now(UTC)
        attempts = [(_attempt(i, now), Consumed(None, "attempts", i % 3, i)) for i in range(RECORDS)]
        started = time.perf_counter()
        for first in range(0, RECORDS, BATCH):
            await log.record(attempts[first : first + BATCH])
        attempt_rate = RECORDS / (time.perf_counter() - started)
        batch = [(cloud_event(), Consumed(None, "events", 0, i)) for i in range(RECORDS)]
        started = time.perf_counter()
        for first in range(0, RECORDS, BATCH):
            await events.record_many(batch[first : first + BATCH])
        return attempt_rate, RECORDS / (time.perf_counter() - started)
    finally:
        await client.drop_database(database.name)


async def main(counts: list[int]) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ.get("SB_MONGODB_URL", "mongodb://127.0.0.1:27017")
    )
    try:
        for stored in counts:
            attempts, events = await _measure(client, stored)
            sys.stdout.write(f"stored={stored}: attempts {attempts:,.0f}/s  events {events:,.0f}/s\n")
            sys.stdout.flush()
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main([int(arg) for arg in sys.argv[1:]] or [1000, 10000]))
