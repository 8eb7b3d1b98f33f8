"""Dispatcher fixtures: the app over real Kafka + FerretDB, a loopback receiver, and a platform publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from switchboard_dispatcher.main import create_app
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

DISPATCHER_OVERRIDES: dict[str, Any] = {
    "allow_loopback_urls": True,
    "resolve_overrides": {"hooks.test": "127.0.0.1", "other.test": "127.0.0.1"},
    "schedule_poll_interval_s": 0.1,
    "commit_interval_s": 0.2,
}


@pytest.fixture
def dispatcher_settings(make_settings: SettingsFactory) -> DispatcherSettings:
    return make_settings(DispatcherSettings, **DISPATCHER_OVERRIDES)


@pytest.fixture
async def dispatcher(dispatcher_settings: DispatcherSettings) -> AsyncIterator[FastAPI]:
    app = create_app(dispatcher_settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        yield app


@pytest.fixture
async def platform(dispatcher_settings: DispatcherSettings) -> AsyncIterator[Platform]:
    async with Platform(dispatcher_settings) as publisher:
        yield publisher


async def wait_for_target(app: FastAPI, kind: str, endpoint_id: str, present: bool = True) -> None:
    async def seen() -> bool:
        return (app.state.view.target(kind, endpoint_id) is not None) == present

    await eventually(seen, timeout_s=20)
