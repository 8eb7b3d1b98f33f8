"""AI responder fixtures: the app over real Kafka + FerretDB, an authenticated client, a platform publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from switchboard_ai_responder.main import create_app
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.webhooks import Platform

from .fakes import FakeApi
from .helpers import ADMIN, TENANT


@pytest.fixture
def responder_settings(make_settings: SettingsFactory) -> AiResponderSettings:
    return make_settings(AiResponderSettings, admin_token=ADMIN, allow_loopback_llm_urls=True)


@pytest.fixture
async def responder(responder_settings: AiResponderSettings) -> AsyncIterator[FastAPI]:
    app = create_app(responder_settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app


@pytest.fixture
async def api(responder: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=responder),
        base_url=f"http://responder/api/tenants/{TENANT}",
        headers={"Authorization": f"Bearer {ADMIN}"},
    ) as client:
        yield client


@pytest.fixture
async def platform(responder_settings: AiResponderSettings) -> AsyncIterator[Platform]:
    async with Platform(responder_settings) as publisher:
        yield publisher


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeApi]:
    server = FakeApi()
    await server.start()
    yield server
    await server.stop()
