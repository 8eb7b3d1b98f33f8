"""pytest fixtures over real infrastructure (registered by the root conftest.py).

Each test gets its own topic namespace (topics created from the contract, deleted afterwards) and its own
MongoDB database names, so tests never see each other's records.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pymongo import AsyncMongoClient

from switchboard_platform.kafka_admin import delete_topics, ensure_topics
from switchboard_platform.settings import Environment, ServiceSettings
from switchboard_testing.infra import Infrastructure, InfrastructureUnavailable, infrastructure
from switchboard_testing.private_ferretdb import FerretDBMissing, PrivateFerretDB
from switchboard_testing.private_kafka import KafkaJarsMissing, PrivateKafka
from switchboard_testing.webhooks import Receiver

S = TypeVar("S", bound=ServiceSettings)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    try:
        yield from infrastructure()
    except InfrastructureUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
async def kafka_topics(infra: Infrastructure, namespace: str) -> AsyncIterator[str]:
    """Create the contract's topics under this test's namespace; yields the namespace."""
    await ensure_topics(infra.kafka_bootstrap, namespace)
    yield namespace
    await delete_topics(infra.kafka_bootstrap, namespace)


@pytest.fixture
async def mongo(infra: Infrastructure) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
async def db_prefix(mongo: AsyncMongoClient[dict[str, Any]], namespace: str) -> AsyncIterator[str]:
    """A unique database-name prefix; every database starting with it is dropped afterwards."""
    prefix = namespace.rstrip(".").replace(".", "_")
    yield prefix
    for name in await mongo.list_database_names():
        if name.startswith(prefix):
            await mongo.drop_database(name)


class SettingsFactory:
    """Builds any service's settings pointed at the test infrastructure and namespace."""

    def __init__(self, infra: Infrastructure, namespace: str, db_prefix: str) -> None:
        self.infra = infra
        self.namespace = namespace
        self.db_prefix = db_prefix

    def __call__(self, cls: type[S], **overrides: Any) -> S:
        fields: dict[str, Any] = {
            "environment": Environment.TEST,
            "kafka_bootstrap": self.infra.kafka_bootstrap,
            "mongodb_url": self.infra.mongodb_url,
            "topic_namespace": self.namespace,
        }
        if "mongodb_database" in cls.model_fields:
            fields["mongodb_database"] = f"{self.db_prefix}_{cls.__name__.lower()}"
        fields.update(overrides)
        return cls(**fields)


@pytest.fixture
def make_settings(infra: Infrastructure, kafka_topics: str, db_prefix: str) -> SettingsFactory:
    return SettingsFactory(infra, kafka_topics, db_prefix)


@pytest.fixture
async def private_kafka(tmp_path: Path) -> AsyncIterator[PrivateKafka]:
    """A broker of this test's own, for tests that stop and restart Kafka (the shared one serves the rest)."""
    try:
        kafka = PrivateKafka(tmp_path)
    except KafkaJarsMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    await asyncio.to_thread(kafka.prepare)
    await asyncio.to_thread(kafka.start)
    try:
        yield kafka
    finally:
        await asyncio.to_thread(kafka.stop)


@pytest.fixture
async def private_ferretdb(tmp_path: Path) -> AsyncIterator[PrivateFerretDB]:
    """A MongoDB server (FerretDB) of this test's own, for tests that stop and restart it."""
    try:
        server = PrivateFerretDB(tmp_path)
    except FerretDBMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1; names mapped to loopback (``resolve_overrides``) reach it."""
    server = Receiver()
    await server.start()
    yield server
    await server.stop()
