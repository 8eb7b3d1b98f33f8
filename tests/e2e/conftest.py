"""Fixtures every e2e test may ask for: services run as their own processes (the loopback webhook ``receiver``
comes from switchboard_testing.fixtures, like every real-infrastructure fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from .stack import Processes, Stack


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Starts services as processes; whatever still runs when the test ends is killed."""
    started = Processes()
    yield started
    started.kill_all()


@pytest.fixture
async def drop_stack_databases(mongo: AsyncMongoClient[dict[str, Any]], stack: Stack) -> AsyncIterator[None]:
    """Drops the databases of the test module's ``stack`` (started with deploy/local/services.sh) afterwards."""
    yield
    for name in stack.databases:
        await mongo.drop_database(name)
