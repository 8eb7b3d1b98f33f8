"""Reading what landed on a topic, for assertions (a throwaway consumer from the earliest offset)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


def headers_of(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def _consume(
    bootstrap: str, topic: str, done: Callable[[list[ConsumerRecord[Any, Any]]], bool], timeout_s: float
) -> tuple[list[ConsumerRecord[Any, Any]], bool]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while not done(records):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return records, False
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.2) * 1000) or 1)
            for partition_records in batch.values():
                records.extend(partition_records)
        return records, True
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    *,
    timeout_s: float = 20.0,
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic`` from the start until ``done(records)`` holds; TimeoutError otherwise."""
    records, finished = await _consume(bootstrap, topic, done, timeout_s)
    if not finished:
        raise TimeoutError(f"{topic}: condition not met within {timeout_s} s ({len(records)} records read)")
    return records


async def read_for(bootstrap: str, topic: str, seconds: float) -> list[ConsumerRecord[Any, Any]]:
    """Everything on ``topic`` after reading for ``seconds`` (to assert that something did *not* arrive)."""
    records, _ = await _consume(bootstrap, topic, lambda _: False, seconds)
    return records
