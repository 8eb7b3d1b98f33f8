"""While MongoDB (the dedup store) is unreachable: routes that deduplicate partner redeliveries answer 503 with
Retry-After and publish nothing; routes without a dedup key do not depend on MongoDB and keep accepting."""

from __future__ import annotations

import pytest

from ..harness import Harness
from ..partners import BEARER, SEED002_MESSAGE

AUTH = {"Authorization": f"Bearer {BEARER}"}


@pytest.fixture
def down(harness: Harness) -> Harness:
    harness.integration("gen-1", "generic", verification={"bearer_token": BEARER})
    harness.dedup.unavailable = True
    return harness


async def test_a_message_that_cannot_be_deduplicated_is_refused_with_503_and_retry_after(
    down: Harness,
) -> None:
    response = await down.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(down.settings.retry_after_s)
    assert response.json()["error"]["code"] == "unavailable"
    assert down.events == []


async def test_the_refused_message_is_accepted_once_the_store_is_back(down: Harness) -> None:
    await down.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)
    down.dedup.unavailable = False

    response = await down.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)

    assert response.status_code == 202, response.text
    assert [event.type for event in down.events] == ["message.received"]


async def test_post_v1_events_does_not_depend_on_the_dedup_store(down: Harness) -> None:
    response = await down.client.post(
        "/v1/events",
        json={
            "specversion": "1.0",
            "id": "e-1",
            "source": "//tests",
            "type": "ticket.created",
            "tenant": "acme",
            "data": {"n": 1},
        },
        headers={"Authorization": f"Bearer {down.settings.events_token.get_secret_value()}"},
    )

    assert response.status_code == 202, response.text
    assert [event.id for event in down.events] == ["e-1"]
