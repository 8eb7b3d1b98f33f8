"""The delivery log on a private FerretDB: what projecting an attempt costs the database, and what the
console's reads cost, as the log grows (issues #14 and #15).

    uv run python -m bench.deliverylog.run                          # this checkout's DeliveryLog
    git show <commit>:services/registry/src/switchboard_registry/adapters/deliveries.py > /tmp/old.py
    uv run python -m bench.deliverylog.run --log /tmp/old.py --label before

A private FerretDB v1 (the binary ``make up`` built, SQLite backend, on a free loopback port: heavy writes
stay off the shared instance) and a fresh database. Deliveries to ``--endpoints`` webhooks of one tenant,
round-robin, are projected the way the consumer does it: ``DeliveryLog.record`` with Kafka-batch-sized lists
(``--batch`` records), one in ten failing first and retried ``--retry-lag`` batches later (a late attempt
of an older delivery). At each size in ``--sizes`` (deliveries stored, cumulative) the run reports FerretDB's
process CPU per attempt projected since the previous size (from /proc), and p50/p95 of the reads one
endpoint's console pages make: the first page, a deep page, the status filter, one delivery.
``--log FILE`` loads the ``DeliveryLog`` class from another version of ``adapters/deliveries.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import ROOT, log, percentiles
from bench.dispatch.common import cpu_seconds
from switchboard_platform.kafka import Consumed
from switchboard_testing.builders import delivery_attempt
from switchboard_testing.private_ferretdb import PrivateFerretDB


def _log_class(path: str | None) -> Any:
    if path is None:
        from switchboard_registry.adapters.deliveries import DeliveryLog

        return DeliveryLog
    spec = importlib.util.spec_from_file_location("bench_deliverylog_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DeliveryLog


async def _timed(rounds: int, read: Any) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        await read()
        times.append((time.perf_counter() - began) * 1000)
    return {
        key: round(value, 1) for key, value in percentiles(times, (50, 95)).items() if key in ("p50", "p95")
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with PrivateFerretDB.temporary("bench-deliverylog-") as ferret:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ferret.url, tz_aware=True)
        deliveries = _log_class(args.log)(client["bench_deliverylog"])
        await deliveries.ensure_indexes()
        pid = ferret.pid
        assert pid is not None
        endpoints = [f"w{i}" for i in range(args.endpoints)]
        start = datetime.now(UTC) - timedelta(hours=20)
        stored = 0
        offset = 0
        retries: list[tuple[int, Any]] = []
        batches = 0
        ids: dict[str, list[str]] = {endpoint: [] for endpoint in endpoints}
        rows = []
        for size in args.sizes:
            attempts = 0
            cpu_before = cpu_seconds(pid) or 0.0
            wall = time.perf_counter()
            while stored < size:
                batch = []
                for _ in range(min(args.batch, size - stored)):
                    endpoint = endpoints[stored % len(endpoints)]
                    failed = stored % 10 == 0
                    at = start + timedelta(milliseconds=stored * 50)
                    record = delivery_attempt(
                        "t1",
                        endpoint,
                        outcome="retry_scheduled" if failed else "succeeded",
                        status_code=503 if failed else 200,
                        latency_ms=20.0 + stored % 80,
                        attempted_at=at,
                    )
                    batch.append(record)
                    ids[endpoint].append(record.delivery_id)
                    if failed:
                        retry = record.model_copy(
                            update={
                                "attempt": 2,
                                "outcome": "failed",
                                "status_code": 500,
                                "attempted_at": at + timedelta(minutes=5),
                            }
                        )
                        retries.append((batches + args.retry_lag, retry))
                    stored += 1
                batch.extend(retry for when, retry in retries if when <= batches)
                retries = [(when, retry) for when, retry in retries if when > batches]
                batches += 1
                positioned = []
                for record in batch:
                    positioned.append((record, Consumed(None, "attempts", 0, offset)))
                    offset += 1
                await deliveries.record(positioned)
                attempts += len(batch)
            cpu = (cpu_seconds(pid) or 0.0) - cpu_before
            seconds = time.perf_counter() - wall
            target = endpoints[0]
            sample = random.Random(size).sample(ids[target], min(args.rounds, len(ids[target])))
            picks = iter(sample * 2)

            async def first_page(target: str = target) -> Any:
                return await deliveries.page("t1", "webhook", target, page=1, per_page=20)

            async def deep_page(target: str = target) -> Any:
                return await deliveries.page(
                    "t1", "webhook", target, page=max(len(ids[target]) // 40, 1), per_page=20
                )

            async def failed_page(target: str = target) -> Any:
                return await deliveries.page("t1", "webhook", target, page=1, per_page=20, status="failed")

            async def one(target: str = target, picks: Any = picks) -> Any:
                found = await deliveries.get("t1", "webhook", target, next(picks))
                assert found is not None
                return found

            row = {
                "stored_deliveries": stored,
                "endpoint_deliveries": len(ids[target]),
                "attempts_projected": attempts,
                "attempts_per_s": round(attempts / seconds),
                "ferretdb_cpu_us_per_attempt": round(cpu / attempts * 1e6, 1),
                "page_1_ms": await _timed(args.rounds, first_page),
                "page_deep_ms": await _timed(args.rounds, deep_page),
                "status_failed_ms": await _timed(args.rounds, failed_page),
                "get_ms": await _timed(args.rounds, one),
            }
            log(json.dumps(row))
            rows.append(row)
        return {
            "label": args.label,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "endpoints": args.endpoints,
            "batch": args.batch,
            "rows": rows,
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log", help="a deliveries.py to load DeliveryLog from (default: this checkout's)")
    parser.add_argument("--label", default="current")
    parser.add_argument("--sizes", default="1000,10000,100000", help="deliveries stored at each measurement")
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500, help="first attempts per record() call")
    parser.add_argument("--retry-lag", type=int, default=3, help="batches between a failure and its retry")
    parser.add_argument("--rounds", type=int, default=10, help="reads per measurement")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",")]
    result = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / f"deliverylog-{args.label}-{datetime.now(UTC):%Y-%m-%d-%H%M}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    log(f"results in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
