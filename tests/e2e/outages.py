"""What the outage tests share: a tenant with webhooks on the loopback receiver, and clients that keep sending
while something is down — each remembering what the ingress accepted (2xx) and what it refused (503)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from switchboard_dispatcher.domain.tasks import delivery_id
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .stack import SERVICES, Stack

ADMIN = "e2e-admin-token-0c7d9e41"
EVENTS_TOKEN = "e2e-events-token-0c7d9e41"
BRIDGE_TOKEN = "e2e-bridge-token-0c7d9e41"
HOST = "hooks.test"

#: What the stacks of these tests need beyond their Kafka, namespace and MongoDB.
STACK_ENV = {
    "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
    "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
    "SB_RESOLVE_OVERRIDES": f'{{"{HOST}": "127.0.0.1"}}',
    "SB_REGISTRY_ALLOW_LOOPBACK_URLS": "true",
    "SB_DISPATCHER_ALLOW_LOOPBACK_URLS": "true",
    # The bridge below sends faster than seed 002's 100 requests a minute.
    "SB_INGRESS_RATE_LIMIT_PER_MINUTE": "100000",
    "SB_INGRESS_RETRY_AFTER_S": "1",
}


@dataclass
class Tenant:
    id: str
    auth: dict[str, str]
    webhooks: dict[str, str]  # receiver path → webhook id


async def tenant_with_webhooks(
    stack: Stack, receiver: Receiver, hooks: dict[str, list[str]], delivery: dict[str, Any]
) -> Tenant:
    """A development-mode tenant, an API key, a webhook per receiver path (its events), and a generic partner
    integration whose bridge authenticates with ``BRIDGE_TOKEN``."""
    registry = stack.urls["registry"]
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=registry, timeout=30) as http:
        tenant = await http.post(
            "/api/admin/tenants", headers=admin, json={"name": "Outage", "development_mode": True}
        )
        tenant_id = tenant.json()["data"]["id"]
        key = await http.post(f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "e2e"})
        auth = {"Authorization": f"Bearer {key.json()['data']['key']}"}
        webhooks = {}
        for path, events in hooks.items():
            created = await http.post(
                "/api/webhooks",
                headers=auth,
                json={
                    "name": path,
                    "url": receiver.url(path, host=HOST),
                    "events": events,
                    "delivery": delivery,
                },
            )
            assert created.status_code == 201, created.text
            webhooks[path] = created.json()["data"]["_id"]
        integration = await http.post(
            "/api/webhook/config",
            headers=auth,
            json={"name": "bridge", "provider": "generic", "verification": {"bearer_token": BRIDGE_TOKEN}},
        )
        assert integration.status_code == 201, integration.text
    return Tenant(tenant_id, auth, webhooks)


async def wait_config_applied(stack: Stack, tenant: Tenant) -> None:
    """Until the ingress knows the bridge's token (its view of the config topic caught up)."""
    async with httpx.AsyncClient(timeout=10) as http:

        async def known() -> bool:
            probe = await http.post(
                f"{stack.urls['ingress']}/api/webhook/incoming",
                headers={"Authorization": f"Bearer {BRIDGE_TOKEN}"},
                json={},
            )
            return probe.status_code != 401

        await eventually(known, timeout_s=60, interval_s=0.2)


@dataclass
class Traffic:
    """What the clients saw: accepted events and messages, and every refusal."""

    events: list[str] = field(default_factory=list)  # ids of ticket.created events answered 202
    chats: list[str] = field(default_factory=list)  # conversations of message.received events answered 202
    messages: list[str] = field(default_factory=list)  # message ids of bridge messages answered 2xx
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (route, status) → count
    refusals: list[tuple[str, float, dict[str, str]]] = field(default_factory=list)  # (route, at, headers)
    errors: Counter[str] = field(default_factory=Counter)


class Clients:
    """Two senders until stopped: an internal producer on ``POST /v1/events`` (one event per ``interval_s``,
    every fifth a ``message.received`` opening a conversation of its own, the others ``ticket.created``; each
    refused event is counted, not resent — a producer would resend it with the same id), and a partner
    bridge on ``POST /api/webhook/incoming`` that resends each refused message (same ``Idempotency-Key``)
    after its ``Retry-After`` until it is accepted, as partner platforms do."""

    def __init__(self, stack: Stack, tenant: Tenant, interval_s: float) -> None:
        self.ingress = stack.urls["ingress"]
        self.tenant = tenant
        self.interval_s = interval_s
        self.traffic = Traffic()
        self._stop = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self, *, bridge: bool = True) -> AsyncIterator[Traffic]:
        async with httpx.AsyncClient(timeout=30) as http, asyncio.TaskGroup() as group:
            group.create_task(self._producer(http))
            if bridge:
                group.create_task(self._bridge(http))
            try:
                yield self.traffic
            finally:
                self._stop.set()

    def _note(self, route: str, response: httpx.Response) -> None:
        self.traffic.statuses[route, response.status_code] += 1
        if response.status_code == 503:
            self.traffic.refusals.append((route, time.monotonic(), dict(response.headers)))

    async def _producer(self, http: httpx.AsyncClient) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            event_id = uuid.uuid4().hex
            chat = n % 5 == 0
            key = f"chat-{n}" if chat else event_id
            event_type, data = ("message.received", self._chat(n)) if chat else ("ticket.created", {"n": n})
            try:
                response = await http.post(
                    f"{self.ingress}/v1/events",
                    headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
                    json={
                        "specversion": "1.0",
                        "id": event_id,
                        "source": "//outage-test",
                        "type": event_type,
                        "tenant": self.tenant.id,
                        "partitionkey": key,
                        "data": data,
                    },
                )
            except httpx.TransportError as exc:
                self.traffic.errors[type(exc).__name__] += 1
            else:
                self._note("events", response)
                if response.status_code == 202:
                    (self.traffic.chats if chat else self.traffic.events).append(key)
            await asyncio.sleep(self.interval_s)

    def _chat(self, n: int) -> dict[str, Any]:
        """A customer's first message in a conversation of its own, for the AI responder to answer."""
        return {
            "tenant_id": self.tenant.id,
            "provider": "generic",
            "conversation_id": f"chat-{n}",  # the producer's partition key
            "message_id": f"chat-{n}-1",
            "author": {"id": f"customer-{n}", "type": "user"},
            "text": "Hello, where is my order?",
            "sent_at": datetime.now(UTC).isoformat(),
        }

    async def _bridge(self, http: httpx.AsyncClient) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            while True:  # this message until it is accepted, whatever happens meanwhile
                try:
                    response = await http.post(
                        f"{self.ingress}/api/webhook/incoming",
                        headers={"Authorization": f"Bearer {BRIDGE_TOKEN}", "Idempotency-Key": f"m-{n}"},
                        json={"user_id": "u-1", "message": f"message {n}", "conversation_id": f"c-{n % 4}"},
                    )
                except httpx.TransportError as exc:
                    self.traffic.errors[type(exc).__name__] += 1
                    await asyncio.sleep(1)
                    continue
                self._note("incoming", response)
                if response.is_success:
                    self.traffic.messages.append(response.json()["message_id"])
                    break
                assert response.status_code == 503, response.text
                await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 1.0))
            await asyncio.sleep(self.interval_s * 3)


async def readiness(stack: Stack) -> dict[str, int]:
    """Each service's /readyz status code."""
    async with httpx.AsyncClient(timeout=10) as http:
        answers = await asyncio.gather(*(http.get(f"{stack.urls[name]}/readyz") for name in SERVICES))
    return {name: answer.status_code for name, answer in zip(SERVICES, answers, strict=True)}


async def until_readiness(stack: Stack, status: int, timeout_s: float) -> float:
    """Until every service's /readyz answers ``status``; returns the seconds it took."""
    started = time.monotonic()

    async def reached() -> bool:
        return set((await readiness(stack)).values()) == {status}

    await eventually(reached, timeout_s=timeout_s, interval_s=0.25)
    return time.monotonic() - started


def expected_deliveries(traffic: Traffic, tenant: Tenant, hooks: dict[str, list[str]]) -> dict[str, set[str]]:
    """Per receiver path, the webhook-ids of the accepted ticket events it subscribed to."""
    return {
        path: {
            delivery_id("//outage-test", event, "webhook", tenant.webhooks[path]) for event in traffic.events
        }
        for path, events in hooks.items()
        if "ticket.*" in events
    }


def of_type(receiver: Receiver, path: str, event_type: str) -> Receiver:
    """A receiver holding only the requests of ``path`` that delivered ``event_type`` (for ``zero_loss.check``)."""
    only = Receiver()
    only.requests[f"/{path}"] = [
        request for request in receiver.requests[f"/{path}"] if request.json().get("event") == event_type
    ]
    return only


def since(receiver: Receiver, at: float) -> Receiver:
    """A receiver holding only the requests that arrived from ``at`` (``time.monotonic()``) on."""
    later = Receiver()
    for path, requests in receiver.requests.items():
        later.requests[path] = [request for request in requests if request.at >= at]
    return later


def delivered_messages(receiver: Receiver, path: str) -> set[str]:
    """Message ids of the ``message.received`` deliveries that reached ``path``."""
    return {
        request.json()["data"]["message_id"]
        for request in receiver.requests[f"/{path}"]
        if request.json().get("event") == "message.received"
    }
