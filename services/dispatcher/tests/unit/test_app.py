from __future__ import annotations

import httpx

from switchboard_dispatcher.main import create_app
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.settings import Environment


async def test_factory_builds_an_app_that_answers_liveness_without_connecting() -> None:
    app = create_app(DispatcherSettings(environment=Environment.TEST))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
