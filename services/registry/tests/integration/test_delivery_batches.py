"""The delivery log's batch projection on the real server: a batch with duplicates, a replay cut into other
batches after a crash, another copy of an attempt, and a batch that fails on an error that is not a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from switchboard_contracts.events import DeliveryAttempt
from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.domain import deliveries as rules
from switchboard_registry.domain import delivery_stats as stats
from switchboard_testing.builders import delivery_attempt as attempt
from switchboard_testing.waiting import eventually

from ..delivery_feed import HOOK_BODY, feed
from ..harness import Registry

NOW = datetime.now(UTC).replace(second=30, microsecond=0)


def _at(
    offsets: range, records: list[DeliveryAttempt], partition: int = 0
) -> list[tuple[DeliveryAttempt, Consumed]]:
    return [(records[offset], Consumed(None, "attempts", partition, offset)) for offset in offsets]


async def _counted(log: DeliveryLog) -> dict[str, Any]:
    """The endpoint's rollups over the whole minute and hour of ``NOW``."""
    hour = stats.floor_to(NOW, stats.HOUR)
    return await log.counters("t1", "webhook", "w1", hour, hour + stats.HOUR)


@pytest.fixture
async def log(mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str) -> DeliveryLog:
    store = DeliveryLog(mongo[f"{db_prefix}_deliveries"])
    await store.ensure_indexes()
    return store


def _attempts(count: int) -> list[DeliveryAttempt]:
    return [attempt("t1", "w1", attempted_at=NOW, latency_ms=float(10 + i)) for i in range(count)]


async def test_a_batch_with_duplicates_stores_and_counts_each_attempt_once(log: DeliveryLog) -> None:
    records = _attempts(4)
    batch = [*_at(range(4), records), (records[1], Consumed(None, "attempts", 0, 4))]  # a second copy

    inserted = await log.record(batch)

    assert inserted == 4
    assert await log.attempts.count_documents({}) == 4
    counters = await _counted(log)
    assert counters["n"] == 4
    assert counters["lat"]["n"] == 4


@pytest.mark.parametrize("restarted", [False, True], ids=["same process", "restarted process"])
async def test_a_replay_cut_into_other_batches_does_not_count_twice(
    log: DeliveryLog, restarted: bool
) -> None:
    records = _attempts(10)
    # The first run projected offsets 0-5 and crashed before committing them…
    await log.record(_at(range(6), records))
    # …so Kafka hands them again from offset 0, cut differently, with the records after them — to the same
    # process (a failed commit) or to a new one that remembers no marks.
    replaying = DeliveryLog(log.attempts.database) if restarted else log
    for offsets in (range(3), range(3, 8), range(8, 10)):
        await replaying.record(_at(offsets, records))

    counters = await _counted(log)
    assert counters["n"] == 10
    assert counters["lat"]["sum"] == sum(10 + i for i in range(10))
    assert await log.attempts.count_documents({}) == 10


async def test_a_crash_between_the_insert_and_the_rollups_is_healed_by_the_replay(log: DeliveryLog) -> None:
    records = _attempts(3)
    batch = _at(range(3), records, partition=2)
    # The crashed run stored the attempts but never reached the rollups.
    await log.attempts.insert_many(
        [rules.attempt_document(record, position.partition, position.offset) for record, position in batch]
    )

    await log.record(batch)

    assert (await _counted(log))["n"] == 3


async def test_another_copy_of_an_attempt_in_a_later_batch_is_not_counted(log: DeliveryLog) -> None:
    records = _attempts(2)
    await log.record(_at(range(2), records))
    # The dispatcher re-emitted the first attempt after a crash: a new record, the same attempt.
    inserted = await log.record([(records[0], Consumed(None, "attempts", 1, 0))])

    assert inserted == 0
    assert (await _counted(log))["n"] == 2


async def test_a_batch_failing_on_another_error_is_not_committed_and_is_projected_later(
    registry: Registry,
) -> None:
    tenant = await registry.tenant()
    created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=HOOK_BODY)
    webhook_id = created.json()["data"]["_id"]
    store: DeliveryLog = registry.app.state.deliveries
    real_insert_many = store.attempts.insert_many
    failures = 0

    async def refusing(documents: list[dict[str, Any]], **kwargs: Any) -> Any:
        nonlocal failures
        if failures < 2:
            failures += 1
            # A field name the server refuses: a real write error that is not a duplicate key.
            documents = [{**documents[0], "$refused": 1}, *documents[1:]]
        return await real_insert_many(documents, **kwargs)

    store.attempts.insert_many = refusing  # type: ignore[method-assign,assignment]
    record = attempt(tenant.id, webhook_id)
    async with feed(registry.settings) as publish:
        await publish.attempts(record)

    async def shown() -> bool:
        response = await tenant.client.get(
            f"/api/webhooks/{webhook_id}/deliveries/{record.delivery_id}", headers=tenant.headers
        )
        return response.status_code == 200

    assert await eventually(shown, timeout_s=30)
    assert failures == 2
