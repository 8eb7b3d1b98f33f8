"""The batching producer's bound on a record's acknowledgement, over a producer that acknowledges on command."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from switchboard_platform.kafka_batching import BatchingProducer


class HeldProducer:
    """aiokafka's batch builder (never started: it connects nowhere); each batch is acknowledged when the test
    says so, or never."""

    def __init__(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9")
        self.pending: list[asyncio.Future[None]] = []
        self.sent = asyncio.Event()

    def create_batch(self) -> Any:
        return self.producer.create_batch()

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1}

    async def send_batch(self, builder: Any, topic: str, *, partition: int) -> asyncio.Future[None]:
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append(delivered)
        self.sent.set()
        return delivered

    def acknowledge(self) -> None:
        for delivered in self.pending:
            delivered.set_result(None)
        self.pending.clear()


async def test_a_record_not_acknowledged_in_time_raises_timeout() -> None:
    producer = HeldProducer()
    batching = BatchingProducer(producer, linger_s=0)
    with pytest.raises(TimeoutError):
        await batching.send("t", b"v", key=b"k", timeout_s=0.05)


async def test_a_record_acknowledged_in_time_returns() -> None:
    producer = HeldProducer()
    batching = BatchingProducer(producer, linger_s=0)
    sent = asyncio.ensure_future(batching.send("t", b"v", key=b"k", timeout_s=0.2))
    await producer.sent.wait()
    producer.acknowledge()
    await sent
    assert sent.result() is None


def test_the_producer_follows_a_new_event_loop() -> None:
    batchings: list[BatchingProducer] = []

    async def one() -> None:
        producer = HeldProducer()  # aiokafka's producer belongs to the loop it was created in
        if not batchings:
            batchings.append(BatchingProducer(producer, linger_s=0))
        batching = batchings[0]
        batching.producer = producer
        sent = asyncio.ensure_future(batching.send("t", b"v", key=b"k", timeout_s=5))
        await producer.sent.wait()
        producer.acknowledge()
        await sent

    asyncio.run(one())
    asyncio.run(one())  # the first loop is closed: the second run's futures belong to its own loop
