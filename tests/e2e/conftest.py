"""Fixtures every e2e test may ask for: a loopback webhook receiver, and services run as their own processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from switchboard_shared.testing.webhooks import Receiver

from .stack import Processes


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1; names mapped to loopback (``resolve_overrides``) reach it."""
    server = Receiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Starts services as processes; whatever still runs when the test ends is killed."""
    started = Processes()
    yield started
    started.kill_all()
