"""The stats rollups read back on the real server: a window with ragged edges counts exactly its attempts,
whichever buckets stand for the edges and however the server is read, and settled buckets kept in memory
never hide an attempt this process counted late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from switchboard_contracts.events import DeliveryAttempt
from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.delivery_rollups import bucket_key
from switchboard_registry.domain import delivery_stats as stats
from switchboard_testing.builders import delivery_attempt

HOUR = stats.floor_to(datetime.now(UTC), stats.HOUR) - timedelta(hours=3)
#: Attempts every 10 minutes over three hours, a latency each, at three settled hours' minutes.
TIMES = [HOUR + timedelta(minutes=10 * step, seconds=step) for step in range(18)]


@pytest.fixture
async def log(mongo: AsyncMongoClient[dict[str, Any]], db_prefix: str) -> DeliveryLog:
    store = DeliveryLog(mongo[f"{db_prefix}_rollups"])
    await store.ensure_indexes()
    return store


def _attempt(at: datetime, index: int) -> DeliveryAttempt:
    return delivery_attempt("t1", "w1", attempted_at=at, latency_ms=float(100 + index))


async def _project(log: DeliveryLog, times: list[datetime], first_offset: int = 0) -> list[DeliveryAttempt]:
    attempts = [_attempt(at, first_offset + index) for index, at in enumerate(times)]
    await log.record(
        [(attempt, Consumed(None, "attempts", 0, first_offset + i)) for i, attempt in enumerate(attempts)]
    )
    return attempts


def _latencies(counters: dict[str, Any]) -> tuple[int, float]:
    return int(counters.get("n", 0)), float(counters.get("lat", {}).get("sum", 0))


@pytest.mark.parametrize("point_reads", [True, False], ids=["_id lookups", "_id $in"])
@pytest.mark.parametrize(
    ("since", "until"),
    [
        # Edges whose hours hold attempts outside the window: read from minute buckets.
        (HOUR + timedelta(minutes=15), HOUR + timedelta(hours=2, minutes=35)),
        # An end after the last attempt of its hour: that hour's bucket stands for the edge.
        (HOUR + timedelta(minutes=5), HOUR + timedelta(hours=2, minutes=59)),
        # Inside one hour.
        (HOUR + timedelta(hours=1, minutes=12), HOUR + timedelta(hours=1, minutes=41)),
        # An edge in an hour with no attempts at all.
        (HOUR - timedelta(minutes=30), HOUR + timedelta(hours=1)),
    ],
    ids=["minute edges", "hour for the end", "one hour", "empty hour"],
)
async def test_a_window_counts_exactly_the_attempts_made_in_it(
    log: DeliveryLog, point_reads: bool, since: datetime, until: datetime
) -> None:
    attempts = await _project(log, TIMES)
    log.rollups._point_reads = point_reads
    inside = [index for index, attempt in enumerate(attempts) if since <= attempt.attempted_at < until]

    counted = await log.counters("t1", "webhook", "w1", since, until)

    assert _latencies(counted) == (len(inside), sum(100.0 + index for index in inside))


async def test_hour_buckets_are_returned_as_counters_only(log: DeliveryLog) -> None:
    await _project(log, TIMES)

    hours = await log.hourly("t1", "webhook", "w1", HOUR - stats.HOUR, HOUR + 4 * stats.HOUR)

    assert sorted(hours) == [HOUR + index * stats.HOUR for index in range(3)]
    assert {bucket["n"] for bucket in hours.values()} == {6}
    assert not {"first", "last", "hw", "_id", "start"} & {key for bucket in hours.values() for key in bucket}


async def test_an_attempt_this_process_counts_late_shows_at_once(log: DeliveryLog) -> None:
    await _project(log, TIMES)
    window = (HOUR, HOUR + 3 * stats.HOUR)
    before = await log.counters("t1", "webhook", "w1", *window)
    hours_before = await log.hourly("t1", "webhook", "w1", *window)

    # The registry was behind: an attempt of two hours ago is projected only now.
    await _project(log, [HOUR + timedelta(minutes=1)], first_offset=100)

    assert (await log.counters("t1", "webhook", "w1", *window))["n"] == before["n"] + 1
    assert (await log.hourly("t1", "webhook", "w1", *window))[HOUR]["n"] == hours_before[HOUR]["n"] + 1


async def test_another_replicas_late_attempt_shows_once_the_kept_bucket_expires(log: DeliveryLog) -> None:
    await _project(log, TIMES)
    window = (HOUR, HOUR + 3 * stats.HOUR)
    before = await log.counters("t1", "webhook", "w1", *window)
    other_replica = DeliveryLog(log.heads.database)
    await other_replica.record(
        [(_attempt(HOUR + timedelta(minutes=1), 100), Consumed(None, "attempts", 1, 0))]
    )

    log.rollups.settled.TTL_S = 0.0  # what TTL_S later looks like

    assert (await log.counters("t1", "webhook", "w1", *window))["n"] == before["n"] + 1


async def test_the_sweep_deletes_expired_buckets_and_keeps_the_rest(log: DeliveryLog) -> None:
    await _project(log, [*TIMES, datetime.now(UTC) - stats.MAX_WINDOW - timedelta(hours=2)])

    deleted = await log.rollups.sweep()

    assert deleted == 2  # the old attempt's minute and hour
    stored = await log.rollups.collection.count_documents({})
    still_open = await log.open_buckets(("t1", "webhook", "w1"))
    # Every minute and hour bucket of the recent attempts: stored, or still open in the endpoint's head.
    assert stored + len(still_open) == 18 + 3


# -- open buckets (ADR 0011) ---------------------------------------------------------------------------------------

NOW = stats.floor_to(datetime.now(UTC), stats.MINUTE)


def _window(log: DeliveryLog) -> Any:
    return log.counters("t1", "webhook", "w1", NOW - 2 * stats.HOUR, NOW + 2 * stats.HOUR)


async def test_a_bucket_is_counted_in_the_head_until_attempts_seal_it_then_stored_once(
    log: DeliveryLog,
) -> None:
    await _project(log, [NOW + timedelta(seconds=second) for second in range(0, 50, 10)])

    # Nothing stored yet: a busy endpoint's minute is one head write per batch, not a rollup update.
    assert await log.rollups.collection.count_documents({}) == 0
    assert _latencies(await _window(log)) == (5, sum(100.0 + index for index in range(5)))

    # An attempt past the minute's end + SEAL_AFTER seals it: stored once, the count unchanged.
    await _project(log, [NOW + stats.MINUTE + stats.SEAL_AFTER], first_offset=5)

    minute = await log.rollups.collection.find_one({"size": "m"})
    assert minute is not None
    assert (minute["n"], minute["start"].replace(tzinfo=UTC)) == (5, NOW)
    assert _latencies(await _window(log)) == (6, sum(100.0 + index for index in range(6)))


async def test_a_late_attempt_of_a_sealed_bucket_is_added_once_even_when_replayed(log: DeliveryLog) -> None:
    await _project(log, [NOW, NOW + stats.MINUTE + stats.SEAL_AFTER])
    late = [(_attempt(NOW + timedelta(seconds=5), 2), Consumed(None, "attempts", 0, 2))]

    await log.record(late)
    await DeliveryLog(log.heads.database).record(late)  # a replay, by a process that remembers no marks

    minute = await log.rollups.collection.find_one({"size": "m", "start": NOW})
    assert minute is not None
    assert minute["n"] == 2
    assert (await _window(log))["n"] == 3


async def test_a_bucket_counted_the_old_way_is_merged_with_its_open_part(log: DeliveryLog) -> None:
    # Before ADR 0011 the registry stored every bucket as it went: this minute and hour hold two attempts.
    earlier = [_attempt(NOW + timedelta(seconds=second), second) for second in (1, 2)]
    await log.rollups.add([(attempt, Consumed(None, "attempts", 0, i)) for i, attempt in enumerate(earlier)])
    await _project(log, [NOW + timedelta(seconds=20)], first_offset=2)

    assert (await _window(log))["n"] == 3  # the stored part and the open part

    await _project(
        log, [NOW + stats.HOUR + stats.SEAL_AFTER], first_offset=3
    )  # seals the minute and the hour

    assert (await _window(log))["n"] == 4
    stored = {doc["size"]: doc["n"] async for doc in log.rollups.collection.find({"start": {"$lte": NOW}})}
    assert stored == {"m": 3, "h": 3}


async def test_a_crash_after_storing_sealed_buckets_is_healed_by_the_replay(
    log: DeliveryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = [NOW, NOW + timedelta(seconds=30), NOW + stats.MINUTE + stats.SEAL_AFTER]
    batch = [(_attempt(at, index), Consumed(None, "attempts", 0, index)) for index, at in enumerate(times)]

    async def crash(*args: Any) -> None:
        raise ConnectionError("the registry died before writing the head")

    monkeypatch.setattr(log, "_write_head", crash)
    with pytest.raises(ConnectionError):
        await log.record(batch)
    assert await log.rollups.collection.count_documents({"size": "m"}) == 1  # the sealed minute was stored
    monkeypatch.undo()
    await log.record(batch)

    minute = await log.rollups.collection.find_one({"size": "m"})
    assert minute is not None
    assert minute["n"] == 2
    assert (await _window(log))["n"] == 3


async def test_an_open_bucket_is_read_from_the_head_alone(
    log: DeliveryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new head's first buckets may have a part stored the old way; buckets opened after its first write not.
    await _project(log, [NOW + timedelta(seconds=1)])
    await _project(log, [NOW + stats.MINUTE + timedelta(seconds=1)], first_offset=1)
    asked: list[str] = []
    fetch = log.rollups._fetch

    async def spy(ids: list[str]) -> dict[str, dict[str, Any]]:
        asked.extend(ids)
        return await fetch(ids)

    monkeypatch.setattr(log.rollups, "_fetch", spy)

    counted = await log.counters("t1", "webhook", "w1", NOW + stats.MINUTE, NOW + 2 * stats.MINUTE)

    assert counted["n"] == 1
    # An open bucket is not stored: looking for it is a read wasted (on the FerretDB v1 release, a scan).
    assert bucket_key("t1", "webhook", "w1", "m", NOW + stats.MINUTE) not in asked


async def test_a_stats_read_reads_the_heads_open_buckets_once(
    log: DeliveryLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _project(log, [NOW + timedelta(seconds=1), NOW + stats.MINUTE + timedelta(seconds=1)])
    reads = 0
    read = log.rollups.open_buckets
    assert read is not None

    async def counting(endpoint: tuple[str, str, str]) -> dict[str, dict[str, Any]]:
        nonlocal reads
        reads += 1
        return await read(endpoint)

    monkeypatch.setattr(log.rollups, "open_buckets", counting)

    # An edge whose hour holds attempts outside it: hour buckets, then minute buckets.
    counted = await log.counters("t1", "webhook", "w1", NOW + stats.MINUTE, NOW + 2 * stats.MINUTE)

    assert counted["n"] == 1
    assert reads == 1
