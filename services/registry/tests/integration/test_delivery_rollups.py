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
    assert await log.rollups.collection.count_documents({}) == 18 + 3
