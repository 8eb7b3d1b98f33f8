"""The delivery log's batch projection on the real server: a batch with duplicates, a replay cut into other
batches after a crash, another copy of an attempt, a crash between the writes of a batch, a rebalance that
leaves a stale replica writing, logs longer than a chunk, and a batch that fails on an error that is not a
duplicate."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from switchboard_contracts.events import DeliveryAttempt
from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.domain import delivery_log as layout
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


async def _stored(log: DeliveryLog, endpoint_id: str = "w1") -> list[dict[str, Any]]:
    """Every delivery of the endpoint, newest first, read page by page."""
    deliveries: list[dict[str, Any]] = []
    page = 1
    while True:
        items, total = await log.page("t1", "webhook", endpoint_id, page=page, per_page=100)
        deliveries.extend(items)
        if len(deliveries) >= total or not items:
            return deliveries
        page += 1


async def _attempts_stored(log: DeliveryLog) -> int:
    return sum(delivery["attempt_count"] for delivery in await _stored(log))


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
    assert await _attempts_stored(log) == 4
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
    replaying = DeliveryLog(log.heads.database) if restarted else log
    for offsets in (range(3), range(3, 8), range(8, 10)):
        await replaying.record(_at(offsets, records))

    counters = await _counted(log)
    assert counters["n"] == 10
    assert counters["lat"]["sum"] == sum(10 + i for i in range(10))
    assert await _attempts_stored(log) == 10


@pytest.mark.parametrize("step", ["rollups.store", "_write_head"])
async def test_a_crash_between_the_writes_of_a_batch_is_healed_by_the_replay(
    log: DeliveryLog, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [attempt("t1", "w1", attempted_at=NOW) for _ in range(layout.CHUNK_SIZE + 5)]
    batch = _at(range(len(records)), records, partition=2)

    async def crash(*args: Any) -> None:
        raise ConnectionError("the registry died here")

    # The crashed run filled a chunk and stored the locators, then died before the rollups or the head.
    owner, _, name = step.rpartition(".")
    monkeypatch.setattr(getattr(log, owner) if owner else log, name, crash)
    with pytest.raises(ConnectionError):
        await log.record(batch)
    monkeypatch.undo()
    await log.record(batch)

    stored = await _stored(log)
    assert [delivery["delivery_id"] for delivery in stored] == [
        record.delivery_id for record in reversed(records)
    ]
    assert (await _counted(log))["n"] == len(records)


async def test_another_copy_of_an_attempt_in_a_later_batch_is_not_counted(log: DeliveryLog) -> None:
    records = _attempts(2)
    await log.record(_at(range(2), records))
    # The dispatcher re-emitted the first attempt after a crash: a new record, the same attempt.
    inserted = await log.record([(records[0], Consumed(None, "attempts", 1, 0))])

    assert inserted == 0
    assert (await _counted(log))["n"] == 2
    assert await _attempts_stored(log) == 2


async def test_a_first_attempt_re_emitted_after_its_chunk_filled_is_not_a_new_delivery(
    log: DeliveryLog,
) -> None:
    records = _attempts(layout.CHUNK_SIZE + 1)
    await log.record(_at(range(len(records)), records))

    inserted = await log.record([(records[0], Consumed(None, "attempts", 1, 0))])

    assert inserted == 0
    assert len(await _stored(log)) == len(records)
    assert (await _counted(log))["n"] == len(records)


async def test_a_batch_failing_on_another_error_is_not_committed_and_is_projected_later(
    registry: Registry,
) -> None:
    tenant = await registry.tenant()
    created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=HOOK_BODY)
    webhook_id = created.json()["data"]["_id"]
    store: DeliveryLog = registry.app.state.deliveries
    real_insert_one = store.heads.insert_one
    failures = 0

    async def refusing(document: dict[str, Any], **kwargs: Any) -> Any:
        nonlocal failures
        if failures < 2:
            failures += 1
            # A field name the server refuses: a real write error that is not a duplicate key.
            document = {**document, "$refused": 1}
        return await real_insert_one(document, **kwargs)

    store.heads.insert_one = refusing  # type: ignore[method-assign,assignment]
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


async def test_a_log_longer_than_a_chunk_lists_pages_and_finds_every_delivery(log: DeliveryLog) -> None:
    size = layout.CHUNK_SIZE
    records = [
        attempt(
            "t1", "w1", attempted_at=NOW, event_type="conversation.created" if i in (5, 6, 300) else "a.b"
        )
        for i in range(2 * size + 30)
    ]
    # Batches that do not line up with the chunks: the head fills and is sealed in the middle of one.
    for offsets in (range(150), range(150, 260), range(260, len(records))):
        await log.record(_at(offsets, records))
    retried = records[10]  # in the first, full, chunk
    retry = retried.model_copy(
        update={"attempt": 2, "outcome": "failed", "status_code": 410, "attempted_at": NOW.replace(second=40)}
    )
    await log.record(_at(range(len(records), len(records) + 1), [*records, retry]))

    first, total = await log.page("t1", "webhook", "w1", page=1, per_page=100)
    by_type = await log.page("t1", "webhook", "w1", page=1, per_page=2, event_type="conversation.created")
    by_type_2 = await log.page("t1", "webhook", "w1", page=2, per_page=2, event_type="conversation.created")
    by_event = await log.page("t1", "webhook", "w1", page=1, per_page=20, event_id=records[5].event_id)
    last, _ = await log.page("t1", "webhook", "w1", page=5, per_page=100)
    failed, failed_total = await log.page("t1", "webhook", "w1", page=1, per_page=20, status="failed")
    old = await log.get("t1", "webhook", "w1", retried.delivery_id)
    newest = await log.get("t1", "webhook", "w1", records[-1].delivery_id)

    assert total == len(records)
    assert [d["delivery_id"] for d in first] == [r.delivery_id for r in reversed(records[-100:])]
    assert [d["delivery_id"] for d in last] == [r.delivery_id for r in reversed(records[:30])]
    assert failed_total == 1
    assert ([d["delivery_id"] for d in by_type[0]], by_type[1]) == (
        [records[300].delivery_id, records[6].delivery_id],
        3,
    )
    assert [d["delivery_id"] for d in by_type_2[0]] == [records[5].delivery_id]
    assert ([d["delivery_id"] for d in by_event[0]], by_event[1]) == ([records[5].delivery_id], 1)
    assert [d["delivery_id"] for d in failed] == [retried.delivery_id]
    assert old is not None
    assert (old["status"], old["attempt_count"], old["last_status_code"]) == ("failed", 2, 410)
    assert newest is not None
    assert newest["status"] == "succeeded"
    assert await log.get("t1", "webhook", "w2", retried.delivery_id) is None  # another endpoint's
    assert await log.get("t2", "webhook", "w1", retried.delivery_id) is None  # another tenant's
    assert (await _counted(log))["n"] == len(records) + 1


async def test_a_stale_replica_after_a_rebalance_does_not_overwrite_the_new_owner(log: DeliveryLog) -> None:
    records = [attempt("t1", "w1", attempted_at=NOW) for _ in range(layout.CHUNK_SIZE + 20)]
    stale = log
    await stale.record(_at(range(100), records))
    # The partition moved to another replica, which projected the records from the last commit on…
    owner = DeliveryLog(log.heads.database)
    await owner.record(_at(range(100, 180), records))
    # …while the old owner, not yet told, projected a batch it had fetched (the same records, cut
    # differently, and more), and then the new owner went on.
    await stale.record(_at(range(100, 210), records))
    await owner.record(_at(range(180, len(records)), records))

    stored = await _stored(log)
    assert [delivery["delivery_id"] for delivery in stored] == [
        record.delivery_id for record in reversed(records)
    ]
    assert await _attempts_stored(log) == len(records)
    assert (await _counted(log))["n"] == len(records)


async def test_a_retry_after_a_restart_finds_its_delivery_in_an_older_chunk(log: DeliveryLog) -> None:
    records = [
        attempt("t1", "w1", attempted_at=NOW, outcome="retry_scheduled") for _ in range(layout.CHUNK_SIZE + 1)
    ]
    await log.record(_at(range(len(records)), records))
    restarted = DeliveryLog(log.heads.database)  # remembers no ordinals: reads the locator
    retry = records[0].model_copy(update={"attempt": 2, "outcome": "succeeded"})
    again = records[0]  # and the dispatcher re-emits the first attempt of a delivery in a full chunk

    inserted = await restarted.record(
        [(retry, Consumed(None, "attempts", 0, 500)), (again, Consumed(None, "attempts", 0, 501))]
    )

    delivery = await log.get("t1", "webhook", "w1", records[0].delivery_id)
    assert inserted == 1
    assert delivery is not None
    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 2)
    assert (await log.page("t1", "webhook", "w1", page=1, per_page=1))[1] == len(records)


@pytest.mark.parametrize("crash", [False, True], ids=["straight", "crash before the head is written"])
@pytest.mark.parametrize("retried", ["in a later batch", "in the batch that fills their chunk"])
async def test_status_pages_follow_later_attempts_across_chunks(
    log: DeliveryLog, crash: bool, retried: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = layout.CHUNK_SIZE
    records = [
        attempt("t1", "w1", attempted_at=NOW, outcome="retry_scheduled" if i % 7 == 0 else "succeeded")
        for i in range(2 * size + 50)
    ]
    # Retries: some of the pending deliveries in what become full chunks succeed, others fail for good.
    retries = [
        record.model_copy(update={"attempt": 2, "outcome": "succeeded" if i % 2 else "failed"})
        for i, record in enumerate(records[: 2 * size : 7])
    ]
    everything = [*records, *retries]
    if retried == "in a later batch":
        await log.record(_at(range(len(records)), everything))
        batch = _at(range(len(records), len(everything)), everything)
    else:
        await log.record(_at(range(size // 2), everything))
        batch = _at(range(size // 2, len(everything)), everything)
    if crash:

        async def dies(*args: Any) -> bool:
            raise ConnectionError("the registry died here")

        monkeypatch.setattr(log, "_write_head", dies)
        with pytest.raises(ConnectionError):
            await log.record(batch)
        monkeypatch.undo()
    await log.record(batch)

    every = await _stored(log)
    assert len(every) == len(records)
    for status in ("pending", "failed", "succeeded"):
        expected = [d["delivery_id"] for d in every if d["status"] == status]
        listed: list[str] = []
        for page in range(1, len(expected) // 20 + 2):
            items, total = await log.page("t1", "webhook", "w1", page=page, per_page=20, status=status)
            assert total == len(expected), status
            listed.extend(d["delivery_id"] for d in items)
        assert listed == expected, status
