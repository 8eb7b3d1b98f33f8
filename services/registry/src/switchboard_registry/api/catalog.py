"""``GET /api/event-types``: the event catalog a subscription's ``events`` are validated against."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from switchboard_contracts.events import EVENT_CATALOG
from switchboard_platform.http import BoundedJsonRoute, success_body

router = APIRouter(tags=["event types"], route_class=BoundedJsonRoute)


@router.get("/api/event-types", summary="List the event types a webhook can subscribe to")
async def list_event_types() -> dict[str, Any]:
    return success_body(
        {
            "wildcards": ["*", "<group>.*"],
            "event_types": [info.model_dump(mode="json") for info in EVENT_CATALOG.values()],
        },
    )
