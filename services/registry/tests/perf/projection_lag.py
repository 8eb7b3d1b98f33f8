"""How far the registry's projections trail Kafka: the whole registry (its real consumers) over the shared
Kafka and MongoDB server, fed ``ATTEMPTS`` attempt events and ``EVENTS`` platform events as fast as a producer
can publish them, and the seconds from the last publish until the delivery log and the event log hold them all.

    uv run python services/registry/tests/perf/projection_lag.py [attempts] [events]

Topics and database are this run's own (a fresh namespace), deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, make_broker, publish_event
from switchboard_platform.kafka_admin import delete_topics, ensure_topics
from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.builders import attempt_event, cloud_event, delivery_attempt
from switchboard_testing.waiting import eventually

ENDPOINTS = 4
#: Publishes in flight at once (more overflows the producer's buffer).
PUBLISH_CHUNK = 500


async def _settle(count: Callable[[], Awaitable[int]], expected: int) -> float:
    """Seconds until ``count()`` reaches ``expected``."""
    started = time.perf_counter()

    async def done() -> bool:
        return await count() >= expected

    await eventually(done, timeout_s=900)
    return time.perf_counter() - started


def _attempt_event(index: int, at: datetime) -> CloudEvent:
    record = delivery_attempt(
        "tenant-1",
        f"wh_{index % ENDPOINTS}",
        event_type="order.created",
        latency_ms=12.0 + index % 50,
        attempted_at=at + timedelta(milliseconds=index),
    )
    return attempt_event(record)


async def main(attempts: int, events: int) -> None:
    namespace = f"lag{uuid.uuid4().hex[:8]}."
    bootstrap = os.environ.get("SB_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    mongodb_url = os.environ.get("SB_MONGODB_URL", "mongodb://127.0.0.1:27017")
    settings = RegistrySettings(
        environment=Environment.TEST,
        kafka_bootstrap=bootstrap,
        mongodb_url=SecretStr(mongodb_url),
        mongodb_database=namespace.replace(".", "_") + "registry",
        topic_namespace=namespace,
        admin_token=SecretStr("projection-lag-admin-token"),
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    database = client[settings.mongodb_database]
    await ensure_topics(bootstrap, namespace)
    try:
        producer = make_broker(settings, "projection-lag")
        to_attempts = event_publisher(
            producer, settings, Topic.DELIVERY_ATTEMPTS, title="lag", description=""
        )
        to_events = event_publisher(producer, settings, Topic.PLATFORM_EVENTS, title="lag", description="")
        async with LifespanManager(create_app(settings), startup_timeout=60), producer:
            await producer.connect()
            at = datetime.now(UTC)
            started = time.perf_counter()
            pending = [publish_event(to_attempts, _attempt_event(i, at)) for i in range(attempts)]
            pending += [
                publish_event(to_events, cloud_event(partitionkey=f"c{i % 16}")) for i in range(events)
            ]
            for first in range(0, len(pending), PUBLISH_CHUNK):
                await asyncio.gather(*pending[first : first + PUBLISH_CHUNK])
            published = time.perf_counter() - started

            async def stored_attempts() -> int:
                return await database["delivery_attempts"].estimated_document_count()

            async def stored_events() -> int:
                return await database["events"].estimated_document_count()

            attempt_lag, event_lag = await asyncio.gather(
                _settle(stored_attempts, attempts), _settle(stored_events, events)
            )
            sys.stdout.write(
                f"published {attempts} attempts + {events} events in {published:.1f} s; after the last publish "
                f"the delivery log had them all in {attempt_lag:.1f} s, the event log in {event_lag:.1f} s\n"
            )
    finally:
        await client.drop_database(settings.mongodb_database)
        await client.close()
        await delete_topics(bootstrap, namespace)


if __name__ == "__main__":
    arguments = [int(arg) for arg in sys.argv[1:]]
    asyncio.run(main(*(arguments or [20000, 5000])))
