from __future__ import annotations

import httpx

from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings


async def test_event_types_lists_the_catalog_with_wildcards() -> None:
    app = create_app(RegistrySettings(environment=Environment.TEST))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://registry"
    ) as client:
        response = await client.get("/api/event-types")
    body = response.json()
    names = {item["type"] for item in body["data"]["event_types"]}
    assert response.status_code == 200
    assert body["status"] == "success"
    assert {"conversation.created", "ticket.created", "ai.response.approved", "delivery.failed"} <= names
    assert "*" in body["data"]["wildcards"]
