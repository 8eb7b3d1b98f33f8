"""The pipes, end to end: ingress → Kafka (CloudEvents binary mode) → registry consumer → MongoDB.

All four services are built by their own ``create_app`` factories and served by real uvicorn servers; Kafka and
the MongoDB wire-protocol server are the real ones (``make infra-up``), isolated by this test's namespace.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from switchboard_ai_responder.main import create_app as create_ai_responder
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.main import create_app as create_dispatcher
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.main import create_app as create_ingress
from switchboard_ingress.settings import IngressSettings
from switchboard_registry.main import create_app as create_registry
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually

from .servers import serve

TOKEN = "e2e-events-token"


async def _consume_one(infra: Infrastructure, topic: str, event_id: str, timeout_s: float = 30) -> Any:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            async for record in consumer:
                headers = {name: value.decode() for name, value in record.headers}
                if headers.get("ce_id") == event_id:
                    return record
    finally:
        await consumer.stop()


async def test_event_posted_to_ingress_reaches_kafka_a_consumer_and_mongodb(
    infra: Infrastructure, make_settings: SettingsFactory, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    registry_settings = make_settings(RegistrySettings)
    apps = {
        "ingress": create_ingress(make_settings(IngressSettings, events_token=TOKEN)),
        "registry": create_registry(registry_settings),
        "dispatcher": create_dispatcher(make_settings(DispatcherSettings)),
        "ai-responder": create_ai_responder(make_settings(AiResponderSettings)),
    }
    event_id = uuid.uuid4().hex
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": "//e2e/chat",
        "type": "message.created",
        "tenant": "acme",
        "partitionkey": "conv-7",
        "subject": "conv-7",
        "data": {"id": "m-1", "conversationId": "conv-7", "content": {"type": "text", "text": "hi"}},
    }

    async with serve(apps) as urls, httpx.AsyncClient(timeout=10) as http:
        for name, url in urls.items():
            ready = await http.get(f"{url}/readyz")
            assert ready.status_code == 200, f"{name} not ready: {ready.text}"

        response = await http.post(
            f"{urls['ingress']}/v1/events", json=envelope, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 202, response.text

        record = await _consume_one(infra, registry_settings.topic(Topic.PLATFORM_EVENTS), event_id)
        headers = {name: value.decode() for name, value in record.headers}
        assert headers["ce_specversion"] == "1.0"
        assert headers["ce_type"] == "message.created"
        assert headers["ce_source"] == "//e2e/chat"
        assert headers["ce_tenant"] == "acme"
        assert headers["content-type"] == "application/json"
        assert record.key == b"conv-7"
        assert json.loads(record.value) == envelope["data"]

        events = mongo[registry_settings.mongodb_database]["events"]
        document = await eventually(lambda: events.find_one({"event_id": event_id}))
        assert document is not None
        assert document["type"] == "message.created"
        assert document["tenant"] == "acme"
        assert document["data"] == envelope["data"]
        assert document["kafka"]["offset"] == record.offset
