"""POST /v1/events at the HTTP edge, with FastStream's in-memory broker standing in for Kafka."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaTimeoutError
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import SecretStr

from switchboard_ingress.main import Adapters, create_app
from switchboard_ingress.settings import IngressSettings
from switchboard_platform.settings import Environment

TOKEN = "test-events-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EVENT = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "//tests",
    "type": "message.created",
    "tenant": "acme",
    "partitionkey": "conv-1",
    "data": {"id": "m-1"},
}


@pytest.fixture
async def app_client() -> AsyncIterator[tuple[httpx.AsyncClient, KafkaBroker]]:
    settings = IngressSettings(
        environment=Environment.TEST, events_token=SecretStr(TOKEN), max_body_bytes=2048
    )
    app = create_app(settings, Adapters(publish_through_broker=True))
    broker = app.state.runtime.broker
    async with TestKafkaBroker(broker) as test_broker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
            yield client, test_broker


async def test_structured_event_is_published_with_binary_mode_headers(
    app_client: tuple[httpx.AsyncClient, KafkaBroker],
) -> None:
    client, broker = app_client
    seen: list[Any] = []

    @broker.subscriber("platform.events")
    async def capture(message: KafkaMessage) -> None:  # registered on the in-memory broker only
        seen.append(message)

    await broker.start()
    response = await client.post("/v1/events", json=EVENT, headers=AUTH)

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted", "id": "e-1", "type": "message.created"}
    assert len(seen) == 1
    assert seen[0].headers["ce_type"] == "message.created"
    assert seen[0].headers["ce_tenant"] == "acme"
    assert json.loads(seen[0].body) == {"id": "m-1"}


async def test_binary_mode_http_request_is_accepted(
    app_client: tuple[httpx.AsyncClient, KafkaBroker],
) -> None:
    client, _ = app_client
    headers = {
        **AUTH,
        "ce-specversion": "1.0",
        "ce-id": "e-2",
        "ce-source": "//tests",
        "ce-type": "user.login",
        "content-type": "application/json",
    }
    response = await client.post("/v1/events", content=b'{"user":"u1"}', headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["type"] == "user.login"


async def test_missing_token_is_401(app_client: tuple[httpx.AsyncClient, KafkaBroker]) -> None:
    client, _ = app_client
    response = await client.post("/v1/events", json=EVENT)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_wrong_token_is_401(app_client: tuple[httpx.AsyncClient, KafkaBroker]) -> None:
    client, _ = app_client
    response = await client.post("/v1/events", json=EVENT, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


async def test_malformed_json_is_400(app_client: tuple[httpx.AsyncClient, KafkaBroker]) -> None:
    client, _ = app_client
    response = await client.post(
        "/v1/events", content=b"{not json", headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "error": {
            "code": "invalid_json",
            "message": "request body is not valid JSON: Expecting property name enclosed in double quotes",
        },
    }


async def test_missing_attribute_is_422_naming_it(app_client: tuple[httpx.AsyncClient, KafkaBroker]) -> None:
    client, _ = app_client
    response = await client.post(
        "/v1/events", json={k: v for k, v in EVENT.items() if k != "source"}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "source"


async def test_oversized_body_is_413(app_client: tuple[httpx.AsyncClient, KafkaBroker]) -> None:
    client, _ = app_client
    big = {**EVENT, "data": {"text": "x" * 4096}}
    response = await client.post("/v1/events", json=big, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def client_app(client: httpx.AsyncClient) -> Any:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return transport.app


async def test_kafka_not_acknowledging_is_503_with_retry_after(
    app_client: tuple[httpx.AsyncClient, KafkaBroker], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = app_client

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise KafkaTimeoutError

    monkeypatch.setattr(client_app(client).state.to_platform_events, "publish", refuse)
    response = await client.post("/v1/events", json=EVENT, headers=AUTH)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_the_openapi_document_describes_the_202(
    app_client: tuple[httpx.AsyncClient, KafkaBroker],
) -> None:
    client, _ = app_client
    document = (await client.get("/openapi.json")).json()
    answers = document["paths"]["/v1/events"]["post"]["responses"]
    schema = answers["202"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/EventAccepted"}
    assert set(document["components"]["schemas"]["EventAccepted"]["properties"]) == {"status", "id", "type"}
    assert {"400", "401", "413", "422", "503"} <= set(answers)


async def test_accepted_events_are_counted_by_route_and_type(
    app_client: tuple[httpx.AsyncClient, KafkaBroker],
) -> None:
    client, broker = app_client
    await broker.start()
    assert (await client.post("/v1/events", json=EVENT, headers=AUTH)).status_code == 202
    exposition = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/v1/events",status="202"} 1.0' in exposition
    assert 'events_accepted_total{type="message.created"} 1.0' in exposition
