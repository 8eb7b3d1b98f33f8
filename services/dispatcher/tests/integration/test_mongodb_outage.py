"""The dispatcher while MongoDB is down (a private FerretDB, stopped): it keeps delivering from its in-memory
view, retries wait in memory instead of in the schedule, and endpoint-health bookkeeping never repeats an
attempt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from switchboard_dispatcher.adapters.health import EndpointHealth
from switchboard_dispatcher.main import create_app
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.private_ferretdb import PrivateFerretDB
from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import DISPATCHER_OVERRIDES, wait_for_target


@pytest.fixture
def settings(make_settings: SettingsFactory, private_ferretdb: PrivateFerretDB) -> DispatcherSettings:
    return make_settings(DispatcherSettings, mongodb_url=private_ferretdb.url, **DISPATCHER_OVERRIDES)


@pytest.fixture
async def dispatcher(settings: DispatcherSettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app


@pytest.mark.timeout(120)
async def test_retries_wait_in_memory_while_mongodb_is_down(
    dispatcher: FastAPI, settings: DispatcherSettings, private_ferretdb: PrivateFerretDB, receiver: Receiver
) -> None:
    receiver.script("flaky", (503, {}, 0.0), (503, {}, 0.0))  # then 200
    async with Platform(settings) as platform:
        await platform.webhook(
            "w-1", "acme", receiver.url("flaky"), ["*"], delivery={"retry_schedule": [1, 1]}
        )
        await wait_for_target(dispatcher, "webhook", "w-1")
        await asyncio.to_thread(private_ferretdb.stop)
        await platform.event("message.created", "acme", {"id": "m-1"})

        requests = await receiver.wait_for("flaky", 3, timeout_s=60)

    assert [request.headers["x-switchboard-attempt"] for request in requests] == ["1", "2", "3"]
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    await asyncio.sleep(2)
    assert len(receiver.requests["/flaky"]) == 3  # delivered once it succeeded: not repeated


@pytest.fixture
async def unreachable() -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A client of a server that is not there (nothing listens on port 1)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:1/", serverSelectionTimeoutMS=200, connectTimeoutMS=200
    )
    yield client
    await client.close()


async def test_endpoint_health_answers_from_memory_without_mongodb(
    unreachable: AsyncMongoClient[dict[str, Any]],
) -> None:
    health = EndpointHealth(unreachable["d"]["endpoint_health"], timedelta(0), timeout_s=0.5)

    assert await health.failed("webhook:w-1") is True  # disable_after 0: the first failure decides
    await health.succeeded("webhook:w-1")  # the clock is cleared in memory; its write is retried later

    assert "webhook:w-1" in health._uncleared
    assert await health._since("webhook:w-1") is None
