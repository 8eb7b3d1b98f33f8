"""Hostile query and body values get a 422 naming the field, never a 500: pages past what MongoDB can skip,
dates at the ends of the calendar, and names carrying control or bidi characters (real Kafka + FerretDB)."""

from __future__ import annotations

from typing import Any

import pytest

from ..delivery_feed import HOOK_BODY
from ..harness import Registry, Tenant

MAX_PAGE = 10_000
BIDI = "invoice\u202efdp.exe"
#: Refusals are checked for every kind of character, not only bidi overrides.
HOSTILE_NAMES = [BIDI, "nul\x00name", "\u2066isolated\u2069", "c1\x9bcsi", "zero\u200bwidth"]


async def _webhook(tenant: Tenant) -> str:
    created = await tenant.client.post("/api/webhooks", headers=tenant.headers, json=HOOK_BODY)
    assert created.status_code == 201, created.text
    webhook_id: str = created.json()["data"]["_id"]
    return webhook_id


async def _lists(tenant: Tenant) -> list[str]:
    """The registry's five paginated lists."""
    webhook_id = await _webhook(tenant)
    return [
        "/api/webhooks",
        f"/api/webhooks/{webhook_id}/deliveries",
        "/api/webhook/config",
        "/api/conversations",
        "/api/webhook/messages",
    ]


def assert_422(response: Any, field: str, message: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field), error
    assert message in error["message"], error


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": str(2**63)}, "page"),
        ({"page": "1" + "0" * 30}, "page"),
        ({"page": str(MAX_PAGE + 1)}, "page"),
        ({"page": "0"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": str(2**64)}, "per_page"),
    ],
)
async def test_pagination_beyond_its_bounds_is_422_on_every_list(
    registry: Registry, params: dict[str, str], field: str
) -> None:
    tenant = await registry.tenant()
    for path in await _lists(tenant):
        response = await tenant.client.get(path, headers=tenant.headers, params=params)
        assert_422(response, field, f"{field}: ")


async def test_the_last_allowed_page_is_an_empty_page(registry: Registry) -> None:
    tenant = await registry.tenant()
    for path in await _lists(tenant):
        response = await tenant.client.get(
            path, headers=tenant.headers, params={"page": str(MAX_PAGE), "per_page": "100"}
        )
        assert response.status_code == 200, (path, response.text)
        assert response.json()["data"] == []
        assert response.json()["pagination"]["page"] == MAX_PAGE


OUT_OF_RANGE = "must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"until": "0001-01-01T00:00:00Z"}, "until"),
        ({"until": "9999-12-31T23:59:59Z"}, "until"),
        ({"since": "0001-01-01T00:00:00Z"}, "since"),
        ({"since": "9999-12-31T23:59:59Z"}, "since"),
        ({"since": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59+14:00"}, "until"),
    ],
)
async def test_stats_at_the_ends_of_the_calendar_are_422(
    registry: Registry, params: dict[str, str], field: str
) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    response = await tenant.client.get(
        f"/api/webhooks/{webhook_id}/stats", headers=tenant.headers, params=params
    )
    assert_422(response, field, OUT_OF_RANGE)


@pytest.mark.parametrize("where", ["query", "body"])
@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"since": "2026-12-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}, "until"),
        ({"since": "0001-01-01T00:00:00Z"}, "since"),
        ({"since": "9999-12-31T23:59:59Z"}, "since"),
    ],
)
async def test_recover_at_the_ends_of_the_calendar_is_422(
    registry: Registry, where: str, window: dict[str, str], field: str
) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    url = f"/api/webhooks/{webhook_id}/recover"
    if where == "query":
        response = await tenant.client.post(url, headers=tenant.headers, params=window)
    else:
        response = await tenant.client.post(url, headers=tenant.headers, json=window)
    assert_422(response, field, OUT_OF_RANGE)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_tenant_and_api_key_names_refuse_control_and_bidi_characters(
    registry: Registry, name: str
) -> None:
    created = await registry.client.post("/api/admin/tenants", headers=registry.admin, json={"name": name})
    assert_422(created, "name", "must not contain control or invisible formatting characters")

    tenant = await registry.tenant()
    renamed = await registry.client.patch(
        f"/api/admin/tenants/{tenant.id}", headers=registry.admin, json={"name": name}
    )
    assert_422(renamed, "name", "must not contain control or invisible formatting characters")
    key = await registry.client.post(
        f"/api/admin/tenants/{tenant.id}/api-keys", headers=registry.admin, json={"name": name}
    )
    assert_422(key, "name", "must not contain control or invisible formatting characters")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_webhook_and_integration_names_refuse_control_and_bidi_characters(
    registry: Registry, name: str
) -> None:
    tenant = await registry.tenant()
    webhook_id = await _webhook(tenant)
    responses = [
        await tenant.client.post("/api/webhooks", headers=tenant.headers, json={**HOOK_BODY, "name": name}),
        await tenant.client.put(f"/api/webhooks/{webhook_id}", headers=tenant.headers, json={"name": name}),
        await tenant.client.post(
            "/api/webhook/config",
            headers=tenant.headers,
            json={
                "name": name,
                "provider": "freshchat",
                "outgoing_webhook_url": "https://hooks.example.com/h",
            },
        ),
    ]
    for response in responses:
        assert_422(response, "name", "must not contain control or invisible formatting characters")
    listed = await tenant.client.get("/api/webhooks", headers=tenant.headers)
    assert [hook["name"] for hook in listed.json()["data"]] == [HOOK_BODY["name"]]


async def test_an_integration_rename_is_checked_too(registry: Registry) -> None:
    tenant = await registry.tenant()
    created = await tenant.client.post(
        "/api/webhook/config",
        headers=tenant.headers,
        json={
            "name": "Freshchat",
            "provider": "freshchat",
            "outgoing_webhook_url": "https://hooks.example.com/h",
        },
    )
    assert created.status_code == 201, created.text
    renamed = await tenant.client.patch(
        f"/api/webhook/config/{created.json()['data']['id']}", headers=tenant.headers, json={"name": BIDI}
    )
    assert_422(renamed, "name", "U+202E")
