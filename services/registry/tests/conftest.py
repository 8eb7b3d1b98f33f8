"""Registry fixtures: the app over real Kafka + FerretDB (types and fake DNS live in harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings
from switchboard_shared.testing.fixtures import SettingsFactory

from .harness import ADMIN_TOKEN, Registry, fake_resolver


@pytest.fixture
async def registry(make_settings: SettingsFactory) -> AsyncIterator[Registry]:
    settings = make_settings(
        RegistrySettings, admin_token=ADMIN_TOKEN, allow_loopback_urls=False, outbox_sweep_interval_s=0.5
    )
    app = create_app(settings)
    app.state.services.resolver = fake_resolver
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(app, client, settings)
