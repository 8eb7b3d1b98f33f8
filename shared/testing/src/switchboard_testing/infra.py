"""Where the tests find real Kafka and MongoDB.

Order: ``SB_KAFKA_BOOTSTRAP`` / ``SB_MONGODB_URL`` when set (``make test`` sets them and starts the local
servers first); otherwise testcontainers when a Docker engine answers; otherwise the test fails saying what to
run. Integration tests never fall back to in-memory fakes.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

HINT = "run `make infra-up` (starts real Kafka and FerretDB on 127.0.0.1), or start Docker for testcontainers"


class InfrastructureUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap: str
    mongodb_url: str
    origin: str  # "environment" or "testcontainers"


def _reachable(host_port: str, timeout: float = 2.0) -> bool:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _mongo_host_port(url: str) -> str:
    rest = url.split("://", 1)[-1].split("/", 1)[0].split(",", 1)[0]
    host_port = rest.rsplit("@", 1)[-1]
    return host_port if ":" in host_port.rsplit("]", 1)[-1] else f"{host_port}:27017"


def docker_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        # `docker info` fails fast when there is a client but no engine, as on machines of this kind.
        done = subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def provide(stack: ExitStack) -> Infrastructure:
    """Find or start the infrastructure; containers started here stop when ``stack`` closes."""
    kafka = os.environ.get("SB_KAFKA_BOOTSTRAP")
    mongo = os.environ.get("SB_MONGODB_URL")
    if kafka and mongo:
        missing = [
            name
            for name, address in (("Kafka", kafka), ("MongoDB", _mongo_host_port(mongo)))
            if not _reachable(address)
        ]
        if missing:
            raise InfrastructureUnavailable(
                f"{' and '.join(missing)} not reachable (SB_KAFKA_BOOTSTRAP={kafka}, MongoDB at "
                f"{_mongo_host_port(mongo)}): {HINT}"
            )
        return Infrastructure(kafka, mongo, "environment")
    if docker_available():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        kafka_container = stack.enter_context(KafkaContainer("apache/kafka:3.9.1").with_kraft())
        mongo_container = stack.enter_context(MongoDbContainer("mongo:7.0"))
        return Infrastructure(
            kafka_container.get_bootstrap_server(), mongo_container.get_connection_url(), "testcontainers"
        )
    raise InfrastructureUnavailable(
        f"SB_KAFKA_BOOTSTRAP / SB_MONGODB_URL are not set and no Docker engine: {HINT}"
    )


def infrastructure() -> Iterator[Infrastructure]:
    with ExitStack() as stack:
        yield provide(stack)


@asynccontextmanager
async def scratch_database(url: str, prefix: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of its own (``<prefix>_<random>``) on the server at ``url``, dropped and its client closed
    afterwards: what the measurement tools write into."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    database = client[f"{prefix}_{uuid.uuid4().hex[:8]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()
