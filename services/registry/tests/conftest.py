"""Registry fixtures: the app over real Kafka + FerretDB (types and fake DNS live in harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory

from .harness import ADMIN_TOKEN, Registry, running


@pytest.fixture
async def registry(make_settings: SettingsFactory) -> AsyncIterator[Registry]:
    settings = make_settings(
        RegistrySettings, admin_token=ADMIN_TOKEN, allow_loopback_urls=False, outbox_sweep_interval_s=0.5
    )
    async with running(settings) as registry:
        yield registry
