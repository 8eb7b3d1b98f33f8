"""The product path end to end, over real Kafka + FerretDB with the services built by their factories:
a tenant creates a webhook in the registry, an event enters through ingress, the dispatcher delivers it
signed (verified with the secret the registry returned), and the registry's test button works."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from switchboard_dispatcher.main import create_app as create_dispatcher
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_ingress.main import create_app as create_ingress
from switchboard_ingress.settings import IngressSettings
from switchboard_registry.main import create_app as create_registry
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .servers import serve

ADMIN = "e2e-admin-token-77aa"
EVENTS_TOKEN = "e2e-events-token-77aa"


@pytest.fixture
async def urls(make_settings: SettingsFactory) -> AsyncIterator[dict[str, str]]:
    """Registry, ingress and dispatcher served together; customer.test resolves to the loopback receiver."""
    overrides = {"resolve_overrides": {"customer.test": "127.0.0.1"}}
    apps = {
        "registry": create_registry(
            make_settings(RegistrySettings, admin_token=ADMIN, allow_loopback_urls=True, **overrides)
        ),
        "ingress": create_ingress(make_settings(IngressSettings, events_token=EVENTS_TOKEN)),
        "dispatcher": create_dispatcher(
            make_settings(DispatcherSettings, allow_loopback_urls=True, **overrides)
        ),
    }
    async with serve(apps) as served:
        yield served


async def tenant_key(http: httpx.AsyncClient, registry: str) -> tuple[str, dict[str, str]]:
    """A new development-mode tenant and the Authorization header of an API key the registry issued it."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tenant = (
        await http.post(
            f"{registry}/api/admin/tenants", headers=admin, json={"name": "Acme", "development_mode": True}
        )
    ).json()["data"]["id"]
    key = (
        await http.post(
            f"{registry}/api/admin/tenants/{tenant}/api-keys", headers=admin, json={"name": "e2e"}
        )
    ).json()["data"]["key"]
    return tenant, {"Authorization": f"Bearer {key}"}


async def test_event_in_through_ingress_is_delivered_signed_to_a_registered_webhook(
    receiver: Receiver, urls: dict[str, str]
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        tenant, auth = await tenant_key(http, urls["registry"])
        created = await http.post(
            f"{urls['registry']}/api/webhooks",
            headers=auth,
            json={
                "name": "orders",
                "url": receiver.url("orders", host="customer.test"),
                "events": ["conversation.*"],
            },
        )
        assert created.status_code == 201, created.text
        webhook = created.json()["data"]

        event_id = uuid.uuid4().hex
        accepted = await http.post(
            f"{urls['ingress']}/v1/events",
            headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
            json={
                "specversion": "1.0",
                "id": event_id,
                "source": "//crm",
                "type": "conversation.created",
                "tenant": tenant,
                "data": {"id": "c-1", "title": "Support Request"},
            },
        )
        assert accepted.status_code == 202

        (delivered,) = await receiver.wait_for("orders", 1, timeout_s=30)
        payload = Webhook(webhook["secret"]).verify(delivered.body, delivered.headers)
        assert payload["event"] == "conversation.created"
        assert payload["data"] == {"id": "c-1", "title": "Support Request"}

        tested = await http.post(f"{urls['registry']}/api/webhooks/{webhook['_id']}/test", headers=auth)
        assert tested.status_code == 202
        _, test_delivery = await receiver.wait_for("orders", 2, timeout_s=30)
        assert (
            Webhook(webhook["secret"]).verify(test_delivery.body, test_delivery.headers)["event"]
            == "webhook.test"
        )


async def test_failed_deliveries_show_in_the_log_and_redeliver_and_recover_replay_them(
    receiver: Receiver, urls: dict[str, str]
) -> None:
    receiver.script("flaky", (500, {}, 0.0), (500, {}, 0.0))  # the first two requests fail, then 200
    async with httpx.AsyncClient(timeout=10) as http:
        registry = urls["registry"]
        tenant, auth = await tenant_key(http, registry)
        hook = (
            await http.post(
                f"{registry}/api/webhooks",
                headers=auth,
                json={
                    "name": "flaky",
                    "url": receiver.url("flaky", host="customer.test"),
                    "events": ["ticket.*"],
                    "delivery": {"retry_schedule": []},
                },
            )
        ).json()["data"]["_id"]

        async def post_event(n: int) -> None:
            accepted = await http.post(
                f"{urls['ingress']}/v1/events",
                headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
                json={
                    "specversion": "1.0",
                    "id": uuid.uuid4().hex,
                    "source": "//tickets",
                    "type": "ticket.created",
                    "tenant": tenant,
                    "data": {"n": n},
                },
            )
            assert accepted.status_code == 202

        await post_event(1)
        await post_event(2)
        await receiver.wait_for("flaky", 2, timeout_s=30)

        async def failed_deliveries() -> list[dict[str, Any]]:
            listing = await http.get(f"{registry}/api/webhooks/{hook}/deliveries?status=failed", headers=auth)
            items: list[dict[str, Any]] = listing.json()["data"]
            return items if len(items) == 2 else []

        first, second = await eventually(failed_deliveries)

        async def redeliver() -> httpx.Response | None:
            answer = await http.post(
                f"{registry}/api/webhooks/{hook}/deliveries/{first['_id']}/redeliver", headers=auth
            )
            # The event log and the delivery log are separate consumers: the delivery can show before its
            # event is projected, and until then the registry answers 409 event_unavailable.
            not_yet = answer.status_code == 409 and answer.json()["error"]["code"] == "event_unavailable"
            return None if not_yet else answer

        redelivered = await eventually(redeliver)
        assert redelivered is not None
        assert redelivered.status_code == 202, redelivered.text
        await receiver.wait_for("flaky", 3, timeout_s=30)

        async def succeeded(delivery: str) -> dict[str, Any] | None:
            detail: dict[str, Any] = (
                await http.get(f"{registry}/api/webhooks/{hook}/deliveries/{delivery}", headers=auth)
            ).json()["data"]
            return detail if detail["status"] == "succeeded" else None

        detail = await eventually(lambda: succeeded(first["_id"]))
        assert detail is not None
        assert [a["trigger"] for a in detail["attempts"]] == ["scheduled", "manual"]

        recovered = await http.post(
            f"{registry}/api/webhooks/{hook}/recover",
            params={"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
            headers=auth,
        )
        assert recovered.status_code == 202, recovered.text
        assert await eventually(lambda: succeeded(second["_id"]))
        webhook_ids = {r.headers["webhook-id"] for r in receiver.requests["/flaky"]}
        assert webhook_ids == {first["_id"], second["_id"]}
