"""What a delivery-log batch costs as the number of endpoints with a head grows, on a private FerretDB v1.

    uv run python services/registry/tests/perf/head_costs.py 10 100 1000

Every batch writes one head per endpoint it touched (ADR 0009; since ADR 0011 the head also carries the open
stats buckets). The FerretDB v1 release does not push a guarded update down: each head update decoded the heads
collection, one document per endpoint that ever had a delivery (ADR 0012 patches the build ``make up`` makes so
the update goes through the ``_id`` index). For each N (cumulative): N endpoints get a head with 150
deliveries in its open chunk, then ``--batches`` batches of 50 attempts over 4 of them are projected
(``DeliveryLog.record``), and FerretDB's CPU (utime + stime from ``/proc``) is reported per attempt and per
head update, with the wall time per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from switchboard_platform.kafka import Consumed
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_testing.builders import delivery_attempt
from switchboard_testing.infra import scratch_database
from switchboard_testing.private_ferretdb import PrivateFerretDB
from switchboard_testing.processes import cpu_seconds

#: Deliveries in each endpoint's open chunk when it is created (a chunk holds 200).
OPEN = 150
#: Attempts per measured batch, and the endpoints they touch.
BATCH, TOUCHED = 50, 4


async def _measure(url: str, pid: int, counts: list[int], batches: int) -> None:
    async with scratch_database(url, "head_costs") as database:
        log = DeliveryLog(database)
        await log.ensure_indexes()
        now = datetime.now(UTC)
        offset, created = 0, 0
        for count in counts:
            seeded = []
            for endpoint in range(created, count):
                for index in range(OPEN):
                    at = now + timedelta(milliseconds=index)
                    seeded.append((delivery_attempt("t1", f"e{endpoint}", attempted_at=at), offset))
                    offset += 1
            for first in range(0, len(seeded), 3000):
                await log.record(
                    [(a, Consumed(None, "attempts", 0, o)) for a, o in seeded[first : first + 3000]]
                )
            created = count
            before, started = cpu_seconds(pid) or 0.0, time.perf_counter()
            for number in range(batches):
                at = now + timedelta(seconds=1 + number)
                await log.record(
                    [
                        (
                            delivery_attempt("t1", f"e{i % TOUCHED}", attempted_at=at),
                            Consumed(None, "attempts", 1, offset + i),
                        )
                        for i in range(BATCH)
                    ]
                )
                offset += BATCH
            used = (cpu_seconds(pid) or 0.0) - before
            sys.stdout.write(
                f"{count:>7,} endpoints with a head: FerretDB CPU {used / (batches * BATCH) * 1e6:8,.0f} µs per "
                f"attempt, {used / (batches * TOUCHED) * 1e3:6.1f} ms per head update, "
                f"{(time.perf_counter() - started) / batches * 1e3:5.0f} ms per batch (wall)\n"
            )
            sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("counts", nargs="*", type=int, default=[10, 100, 1000])
    parser.add_argument("--batches", type=int, default=20, help="measured batches per count")
    args = parser.parse_args()
    with PrivateFerretDB.temporary("head-costs-") as ferretdb:
        assert ferretdb.pid is not None
        await _measure(ferretdb.url, ferretdb.pid, sorted(args.counts), args.batches)


if __name__ == "__main__":
    asyncio.run(main())
