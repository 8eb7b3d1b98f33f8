"""Fixtures every e2e test may ask for: services run as their own processes (the loopback webhook ``receiver``
comes from switchboard_shared.testing.fixtures, like every real-infrastructure fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .stack import Processes


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Starts services as processes; whatever still runs when the test ends is killed."""
    started = Processes()
    yield started
    started.kill_all()
