"""seed 003 review over real Kafka + FerretDB: held answers, approve (released), reject (dropped)."""

from __future__ import annotations

from typing import Any

import httpx

from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_testing.builders import message_received
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Platform

from .helpers import TENANT, of_type, platform_events
from .knowledge import seed


def _message(conversation_id: str, message_id: str, text: str) -> dict[str, Any]:
    return message_received(
        tenant_id=TENANT, conversation_id=conversation_id, message_id=message_id, text=text
    ).model_dump(mode="json")


async def _held(api: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    async def pending() -> list[dict[str, Any]]:
        reviews: list[dict[str, Any]] = (await api.get("/reviews")).json()["data"]
        return reviews if len(reviews) >= count else []

    return await eventually(pending, timeout_s=20)


async def test_an_answer_below_the_threshold_is_held_until_approved_then_released(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    response = await api.put("/settings", json={"review_threshold": 0.99})
    assert response.status_code == 200, response.text
    await platform.event(
        "message.received",
        TENANT,
        _message("c-1", "m-1", "how long does express shipping take"),
        partitionkey="c-1",
    )

    events = await platform_events(
        responder_settings, lambda es: bool(of_type(es, "ai.response.requires_review"))
    )
    (held,) = of_type(events, "ai.response.requires_review")
    assert held.data["ai_response"]["status"] == "requires_review"
    assert held.data["ai_response"]["confidence"] < 0.99
    assert held.data["ticket"]["subject"] == "how long does express shipping take"
    assert of_type(events, "message.replied") == []
    (review,) = await _held(api, 1)
    assert review["id"] == held.data["ai_response"]["id"]

    response = await api.post(f"/reviews/{review['id']}/approve", json={"reviewer": "lead@acme.test"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "approved"

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "message.replied")))
    (approved,) = of_type(events, "ai.response.approved")
    assert approved.data["ai_response"]["reviewed_by"] == "lead@acme.test"
    (released,) = of_type(events, "message.replied")
    assert released.data["in_reply_to"] == "m-1"
    assert released.data["text"] == held.data["ai_response"]["text"]
    assert "next day" in released.data["text"]
    again = await api.post(f"/reviews/{review['id']}/approve")
    assert again.status_code == 409
    assert (await api.get("/reviews")).json()["data"] == []


async def test_a_rejected_answer_is_dropped_with_its_reason(
    api: httpx.AsyncClient, platform: Platform, responder_settings: AiResponderSettings
) -> None:
    await seed(api)
    await api.put("/settings", json={"review_threshold": 0.99})
    await platform.event(
        "message.received",
        TENANT,
        _message("c-2", "m-9", "how do I export workspace data to a spreadsheet"),
        partitionkey="c-2",
    )
    (review,) = await _held(api, 1)

    response = await api.post(
        f"/reviews/{review['id']}/reject", json={"reason": "Export is disabled for this plan"}
    )
    assert response.status_code == 200, response.text

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "ai.response.rejected")))
    (rejected,) = of_type(events, "ai.response.rejected")
    assert rejected.data["reason"] == "Export is disabled for this plan"
    assert rejected.data["ai_response"]["status"] == "rejected"
    assert of_type(events, "message.replied") == []
    assert (await api.post(f"/reviews/{review['id']}/approve")).status_code == 409


async def test_feedback_is_accepted_published_and_recorded(
    api: httpx.AsyncClient, responder_settings: AiResponderSettings
) -> None:
    response = await api.post("/feedback", json={"conversation_id": "c-3", "rating": 5, "comment": "Spot on"})
    assert response.status_code == 202, response.text

    events = await platform_events(responder_settings, lambda es: bool(of_type(es, "feedback.received")))
    (event,) = of_type(events, "feedback.received")
    assert event.data["feedback"]["rating"] == 5

    async def recorded() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await api.get("/feedback")).json()["data"]
        return items

    (item,) = await eventually(recorded, timeout_s=20)
    assert item["feedback"]["comment"] == "Spot on"
