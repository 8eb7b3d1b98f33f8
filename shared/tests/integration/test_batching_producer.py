"""The batching producer over real Kafka: every record acknowledged is there, in order per key, on the partition
Kafka's default partitioner picks, and a record Kafka refuses fails only its own caller."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from switchboard_contracts.topics import Topic
from switchboard_platform.kafka_batching import BatchingProducer
from switchboard_testing.infra import Infrastructure
from switchboard_testing.kafka import read_until

pytestmark = pytest.mark.usefixtures("kafka_topics")


async def test_concurrent_records_all_arrive_in_order_per_key(infra: Infrastructure, namespace: str) -> None:
    topic = namespace + Topic.DELIVERIES.value  # 6 partitions
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True, max_batch_size=4096
    )
    await producer.start()
    batching = BatchingProducer(producer)
    keys = [f"webhook:endpoint-{n}".encode() for n in range(12)]
    try:
        # 12 keys x 150 records from concurrent senders; ~300-byte values fill 4 KB batches, so batches close
        # both when full and at the end of the linger; one record larger than a batch goes alone in the middle.
        async def sender(key: bytes) -> None:
            for seq in range(150):
                value = b"%s|%04d|" % (key, seq) + b"x" * 260
                if key == keys[0] and seq == 75:
                    value += b"y" * 10_000  # larger than a whole batch
                await batching.send(topic, value, key=key, headers=[("seq", str(seq).encode())])

        await asyncio.gather(*(sender(key) for key in keys))

        # aiokafka's default (Java-compatible) partitioner puts each key where the batching producer did.
        partitions = sorted(await producer.partitions_for(topic))
        expected_partition = {key: DefaultPartitioner()(key, partitions, partitions) for key in keys}
    finally:
        await batching.flush()
        await producer.stop()

    records = await read_until(infra.kafka_bootstrap, topic, lambda got: len(got) >= 12 * 150, timeout_s=30)
    assert len(records) == 12 * 150
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert record.key is not None
        assert record.partition == expected_partition[record.key]
        by_key[record.key].append(int(record.value.split(b"|")[1]))
        assert int(dict(record.headers)["seq"]) == by_key[record.key][-1]
    assert dict(by_key) == {key: list(range(150)) for key in keys}


async def test_a_refused_record_fails_its_caller_only(infra: Infrastructure, namespace: str) -> None:
    topic = namespace + Topic.DELIVERY_ATTEMPTS.value
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    batching = BatchingProducer(producer)
    try:
        results = await asyncio.gather(
            batching.send(topic, b"small-1", key=b"k"),
            batching.send(topic, b"z" * 2_000_000, key=b"k"),  # over the broker's 1 MB limit
            batching.send(topic, b"small-2", key=b"k"),
            return_exceptions=True,
        )
    finally:
        await batching.flush()
        await producer.stop()
    assert results[0] is None
    assert isinstance(results[1], MessageSizeTooLargeError)
    assert results[2] is None
    records = await read_until(infra.kafka_bootstrap, topic, lambda got: len(got) >= 2)
    assert [record.value for record in records] == [b"small-1", b"small-2"]
