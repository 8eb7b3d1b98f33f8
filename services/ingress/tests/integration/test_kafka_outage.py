"""Acknowledge only what is durable: with Kafka stopped, partners get 503 + Retry-After (never a 2xx for a message
that is not in Kafka); after Kafka comes back, their retry is accepted and the message is there.

Runs against a private broker (``private_kafka.PrivateKafka``) so stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio

import pytest

from switchboard_ingress.settings import IngressSettings
from switchboard_platform.kafka_admin import ensure_topics
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.private_kafka import PrivateKafka
from switchboard_testing.webhooks import Platform

from ..partners import (
    BEARER,
    SEED002_MESSAGE,
    body_of,
    freshchat_headers,
    freshchat_message,
    freshchat_public_key_as_pasted,
)
from .conftest import INGRESS_OVERRIDES, add_integration, events_on, running

AUTH = {"Authorization": f"Bearer {BEARER}"}


@pytest.mark.timeout(240)
async def test_kafka_down_is_503_with_retry_after_then_the_retry_is_accepted(
    private_kafka: PrivateKafka, make_settings: SettingsFactory, namespace: str
) -> None:
    await ensure_topics(private_kafka.bootstrap, namespace)
    settings = make_settings(
        IngressSettings,
        **{
            **INGRESS_OVERRIDES,
            "kafka_bootstrap": private_kafka.bootstrap,
            "publish_timeout_s": 2.0,
            "retry_after_s": 3,
        },
    )
    async with Platform(settings) as platform, running(settings) as (app, client):
        await add_integration(platform, [app], "gen-1", "generic", verification={"bearer_token": BEARER})
        await add_integration(
            platform,
            [app],
            "fc-1",
            "freshchat",
            verification={"public_key": freshchat_public_key_as_pasted()},
        )
        before = await client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)
        assert before.status_code == 202, before.text

        await asyncio.to_thread(private_kafka.stop)
        during = {
            **SEED002_MESSAGE,
            "message": "sent while Kafka is down",
            "timestamp": "2025-01-19T12:05:00Z",
        }
        refused = await client.post("/api/webhook/incoming", json=during, headers=AUTH)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "3"
        assert refused.json()["success"] is False
        body = body_of(freshchat_message("also while down", message_id="m-down"))
        refused_webhook = await client.post(
            "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body)
        )
        assert refused_webhook.status_code == 503

        await asyncio.to_thread(private_kafka.start)
        # The partner retries after Retry-After until it is accepted (the producer reconnects meanwhile).
        accepted = None
        for _ in range(30):
            accepted = await client.post("/api/webhook/incoming", json=during, headers=AUTH)
            if accepted.status_code != 503:
                break
            await asyncio.sleep(1)
        assert accepted is not None
        assert accepted.status_code == 202, accepted.text
        webhook = await client.post(
            "/webhooks/freshchat/fc-1", content=body, headers=freshchat_headers(body, retry=1)
        )
        assert webhook.status_code == 200, webhook.text
        # The refused delivery left a claim but no completion in the dedup store: its retry is published, not
        # acknowledged as a duplicate (which would also be 200).
        assert webhook.json()["status"] == "accepted"

        events = await events_on(settings, 3)
        texts = {event.data["text"] for event in events}
        assert texts == {SEED002_MESSAGE["message"], "sent while Kafka is down", "also while down"}
        # A publish that timed out may still land after the restart; it then carries the accepted retry's id.
        retried = [event for event in events if event.data["text"] == "sent while Kafka is down"]
        assert {event.data["message_id"] for event in retried} == {accepted.json()["message_id"]}
        assert len({event.id for event in retried}) == 1
