"""Durable deferral of delivery tasks: retries waiting for their time and rate-limit overflow.

A deferred task is one MongoDB document ``{_id: "<delivery_id>:<attempt>", due_at, task}`` written before the
Kafka offset of the attempt that deferred it is committed, so a restart loses nothing. The pump claims due
documents (a lease, so several dispatcher replicas never take the same one), re-publishes them to the
deliveries topic, and deletes them once Kafka acknowledged. A crash between publish and delete re-publishes
after the lease: at worst one duplicate attempt with the same delivery id, never a lost one.

Why MongoDB rather than delay topics: schedules are per endpoint and arbitrary (seed 001's 4/8/10 s, or
Svix-like hours), which fixed-delay retry topics cannot express without holding uncommitted offsets for hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from switchboard_dispatcher.domain.tasks import DeliveryTask

log = logging.getLogger(__name__)

Republish = Callable[[list[DeliveryTask]], Awaitable[None]]


class Schedule:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        lease_s: float = 30.0,
        poll_interval_s: float = 0.2,
        batch: int = 500,
        defer_timeout_s: float = 2.0,
    ) -> None:
        self.collection = collection
        #: Bound on ``defer``: while MongoDB is down the engine keeps the retry in memory instead (see
        #: ``DeliveryEngine``), so waiting out server selection (5 s) would only hold the endpoint's lane.
        self.defer_timeout_s = defer_timeout_s
        self.lease = timedelta(seconds=lease_s)
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.owner = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("due_at", ASCENDING)])

    async def defer(self, items: list[tuple[DeliveryTask, datetime]]) -> None:
        """Store tasks due later. Idempotent per (delivery, attempt): deferring the same one twice is one row.
        Raises ``PyMongoError`` when MongoDB does not answer within ``defer_timeout_s``."""
        for task, due_at in items:
            with pymongo.timeout(self.defer_timeout_s):
                await self.collection.update_one(
                    {"_id": f"{task.delivery_id}:{task.attempt}"},
                    {
                        "$setOnInsert": {
                            "due_at": due_at,
                            "task": task.model_dump(mode="json"),
                            "lease_until": None,
                        }
                    },
                    upsert=True,
                )

    async def pending(self) -> int:
        """How many tasks wait in the schedule, due or not (MongoDB's collection count: no scan)."""
        return await self.collection.estimated_document_count()

    async def pump_once(self, republish: Republish, now: datetime | None = None) -> int:
        """Re-publish every due task (up to one batch). Returns how many were re-published."""
        now = now or datetime.now(UTC)
        due = [
            document
            async for document in self.collection.find(
                {"due_at": {"$lte": now}, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
                {"_id": 1},
            )
            .sort("due_at", ASCENDING)
            .limit(self.batch)
        ]
        if not due:
            return 0
        ids = [document["_id"] for document in due]
        lease_until = now + self.lease
        await self.collection.update_many(
            {"_id": {"$in": ids}, "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
            {"$set": {"lease_until": lease_until, "owner": self.owner}},
        )
        claimed = [
            document
            async for document in self.collection.find(
                {"_id": {"$in": ids}, "owner": self.owner, "lease_until": lease_until}
            )
        ]
        if not claimed:
            return 0
        tasks = [DeliveryTask.model_validate(document["task"]) for document in claimed]
        await republish(tasks)
        await self.collection.delete_many({"_id": {"$in": [document["_id"] for document in claimed]}})
        return len(claimed)

    def start(self, republish: Republish) -> None:
        self._task = asyncio.create_task(self._run(republish), name="delivery-schedule-pump")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, republish: Republish) -> None:
        while True:
            try:
                moved = await self.pump_once(republish)
            except Exception:
                log.exception("schedule pump failed; retrying")
                moved = 0
            if moved < self.batch:
                await asyncio.sleep(self.poll_interval_s)
