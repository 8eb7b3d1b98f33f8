"""What the stats rollups cost as they accumulate: FerretDB CPU per projected attempt, and the latency of the
stats reads, with N rollup documents of other endpoints in the collection — on a private FerretDB.

    uv run python services/registry/tests/perf/rollup_costs.py 1000 10000 100000

For each N: a fresh database whose ``delivery_rollups`` already holds N buckets of other tenants' endpoints
(inserted directly, after a day of history of the measured webhook projected the way the consumer does it,
``DeliveryLog.record``: one attempt per minute for 24 h), then:

- **writes**: ``--batches`` (``LIVE_BATCHES``) batches of ``BATCH`` attempts over the endpoints, 100 ms apart (a batch spans
  30 s, so one or two minute buckets per endpoint), FerretDB's CPU (utime + stime from ``/proc``) per attempt
  for the whole ``record`` (the delivery log and its rollups: open buckets in the heads, ADR 0011) and for
  late attempts alone (``DeliveryRollups.add``, the guarded update of a stored bucket that an attempt of a
  bucket sealed already takes);
- **reads**: ``counters`` over the 24 h back from now (``GET /stats``' default window) and ``hourly`` over
  the console's 24 hours, ``--repeat`` times each, p50 / p95 / max — *cold* (a new ``DeliveryLog`` per read:
  nothing cached in the process) and *warm* (the same one, as the registry serves pages).

FerretDB runs privately (``switchboard_testing.private_ferretdb``) so heavy seeding and its CPU count belong
to this run alone. Pass ``--url`` to measure another server (CPU is then not reported).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.domain import delivery_stats as stats
from switchboard_testing.builders import delivery_attempt
from switchboard_testing.infra import scratch_database
from switchboard_testing.private_ferretdb import PrivateFerretDB
from switchboard_testing.processes import cpu_seconds

ENDPOINTS = 4
BATCH = 300
LIVE_BATCHES = 10
TENANT = "tenant-1"


def _attempt(index: int, endpoint: int, at: datetime) -> Any:
    failed = index % 10 == 0
    return delivery_attempt(
        TENANT,
        f"wh_{endpoint}",
        outcome="retry_scheduled" if failed else "succeeded",
        attempt=2 if index % 7 == 0 else 1,
        status_code=503 if failed else 200,
        latency_ms=12.0 + index % 50,
        attempted_at=at,
    )


def _unrelated(index: int, now: datetime) -> dict[str, Any]:
    """A bucket of another tenant's endpoint, shaped like the ones the projection writes."""
    start = stats.floor_to(now - timedelta(minutes=index % 40_000), stats.MINUTE)
    endpoint = f"wh_other_{index // 40_000}_{index % 97}"
    return {
        "_id": f"other-{index % 89}:webhook:{endpoint}:m:{start:%Y%m%d%H%M}:{index}",
        "tenant_id": f"other-{index % 89}",
        "endpoint_kind": "webhook",
        "endpoint_id": endpoint,
        "size": "m",
        "start": start,
        "expires_at": start + stats.MAX_WINDOW,
        "n": 12,
        "outcome": {"succeeded": 11, "retry_scheduled": 1},
        "final": {"a1": 11},
        "errors": {"http_status": 1},
        "codes": {"s503": 1},
        "lat": {
            "n": 12,
            "sum": 480.5,
            "min": 12.0,
            "max": 61.0,
            "bins": {"b125": 6, "b150": 6},
            "dist": {"le50": 12},
        },
        "hw": {"p0": index},
    }


def _cpu_s(pid: int | None) -> float:
    """FerretDB's CPU seconds so far; 0 for a server measured by ``--url`` (not this machine's to read)."""
    return (cpu_seconds(pid) or 0.0) if pid is not None else 0.0


async def _seed(log: DeliveryLog, stored: int, now: datetime) -> None:
    # First a day of history at the measured endpoint (one attempt a minute, projected in batches of BATCH),
    # while the collection is small: on FerretDB v1 every update scans the collection.
    start = stats.floor_to(now - timedelta(hours=24), stats.MINUTE)
    history = [_attempt(minute, 0, start + timedelta(minutes=minute, seconds=7)) for minute in range(24 * 60)]
    for first in range(0, len(history), BATCH):
        batch = history[first : first + BATCH]
        await log.record([(a, Consumed(None, "attempts", 1, first + i)) for i, a in enumerate(batch)])
    for first in range(0, stored, 5000):
        await log.rollups.collection.insert_many(
            [_unrelated(index, now) for index in range(first, min(first + 5000, stored))], ordered=False
        )


async def _writes(log: DeliveryLog, pid: int | None, now: datetime, batches: int) -> tuple[float, float]:
    """FerretDB CPU µs per attempt: late attempts alone (stored buckets updated), then the whole ``record``."""
    base = now - timedelta(seconds=batches * BATCH // 10)
    rollups_cpu = record_cpu = 0.0
    for number in range(batches):
        batch = [
            (
                _attempt(i, i % ENDPOINTS, base + timedelta(milliseconds=100 * i)),
                Consumed(None, "attempts", 0, i),
            )
            for i in range(number * BATCH, (number + 1) * BATCH)
        ]
        before = _cpu_s(pid)
        await log.rollups.add(batch)
        rollups_cpu += _cpu_s(pid) - before
        # The whole projection, on new attempts of the same minutes from another partition (its own marks).
        again = [
            (_attempt(i, i % ENDPOINTS, at.attempted_at), Consumed(None, "attempts", 2, i))
            for i, (at, _) in enumerate(batch, start=number * BATCH)
        ]
        before = _cpu_s(pid)
        await log.record(again)
        record_cpu += _cpu_s(pid) - before
    attempts = batches * BATCH
    return rollups_cpu / attempts * 1e6, record_cpu / attempts * 1e6


async def _timed(read: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        await read()
        took.append((time.perf_counter() - started) * 1000)
    return took


def _row(name: str, took: list[float]) -> str:
    ordered = sorted(took)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"  {name:<16} p50 {statistics.median(ordered):8.1f} ms  p95 {p95:8.1f} ms  max {ordered[-1]:8.1f} ms"
    )


async def _measure(
    url: str, pid: int | None, stored: int, repeat: int, batches: int, *, warm: bool = True
) -> None:
    async with scratch_database(url, "rollup_costs") as database:
        log = DeliveryLog(database)
        await log.ensure_indexes()
        now = datetime.now(UTC)
        await _seed(log, stored, now)
        total = await log.rollups.collection.estimated_document_count()
        sys.stdout.write(f"N={stored:,} other rollups ({total:,} in the collection)\n")
        if batches:  # --batches 0: reads only (every update scans the collection on FerretDB v1)
            rollups_us, record_us = await _writes(log, pid, now, batches)
            sys.stdout.write(
                f"  writes: FerretDB CPU {record_us:,.0f} µs per attempt for the whole record, {rollups_us:,.0f} µs "
                f"per late attempt (stored buckets updated)\n"
            )
        now = datetime.now(UTC)
        since, until = (
            stats.floor_to(now - timedelta(hours=24), stats.MINUTE),
            stats.ceil_to(now, stats.MINUTE),
        )
        end = stats.floor_to(now, stats.HOUR) + stats.HOUR
        database_of = log.heads.database

        async def counters_cold() -> object:
            return await DeliveryLog(database_of).counters(TENANT, "webhook", "wh_0", since, until)

        async def hourly_cold() -> object:
            return await DeliveryLog(database_of).hourly(
                TENANT, "webhook", "wh_0", end - timedelta(hours=24), end
            )

        async def counters_warm() -> object:
            return await log.counters(TENANT, "webhook", "wh_0", since, until)

        async def hourly_warm() -> object:
            return await log.hourly(TENANT, "webhook", "wh_0", end - timedelta(hours=24), end)

        counted = await counters_warm()
        assert isinstance(counted, dict)
        assert counted["n"] >= 23 * 60, counted.get("n")  # the day's history is all there
        reads = [("counters cold", counters_cold), ("hourly cold", hourly_cold)]
        if warm:
            reads += [("counters warm", counters_warm), ("hourly warm", hourly_warm)]
        for name, read in reads:
            sys.stdout.write(_row(name, await _timed(read, repeat)) + "\n")
        sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("counts", nargs="*", type=int, default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--batches", type=int, default=LIVE_BATCHES, help="live batches written")
    parser.add_argument("--no-warm", action="store_true", help="cold reads only (code without a cache)")
    parser.add_argument("--url", help="measure this server instead of a private FerretDB (no CPU figures)")
    args = parser.parse_args()
    if args.url:
        for stored in args.counts:
            await _measure(args.url, None, stored, args.repeat, args.batches, warm=not args.no_warm)
        return
    with PrivateFerretDB.temporary("rollup-costs-") as ferretdb:
        for stored in args.counts:
            await _measure(
                ferretdb.url, ferretdb.pid, stored, args.repeat, args.batches, warm=not args.no_warm
            )


if __name__ == "__main__":
    asyncio.run(main())
