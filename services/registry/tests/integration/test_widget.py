"""The chat widget policy on the tenant: set by the operator or by the tenant's own key, validated, and
published on the config topic for the ingress."""

from __future__ import annotations

import json

from switchboard_contracts.config_records import ConfigChanged, TenantConfig
from switchboard_contracts.topics import Topic
from switchboard_testing.kafka import read_until

from ..harness import Registry


async def test_a_tenant_sets_its_widget_policy_and_the_ingress_gets_it(registry: Registry) -> None:
    tenant = await registry.tenant(scopes=["integrations:write"])
    assert (await registry.client.get("/api/widget", headers=tenant.headers)).json()["data"] == {
        "allowed_origins": [],
        "csrf": False,
    }

    put = await registry.client.put(
        "/api/widget",
        headers=tenant.headers,
        json={"allowed_origins": ["https://Shop.Acme.com/", "http://localhost:3000"], "csrf": True},
    )
    assert put.status_code == 200, put.text
    policy = {"allowed_origins": ["https://shop.acme.com", "http://localhost:3000"], "csrf": True}
    assert put.json()["data"] == policy
    assert (await registry.client.get("/api/widget", headers=tenant.headers)).json()["data"] == policy
    shown = await registry.client.get(f"/api/admin/tenants/{tenant.id}", headers=registry.admin)
    assert shown.json()["data"]["widget"] == policy

    key = f"tenant:{tenant.id}".encode()
    records = await read_until(
        registry.settings.kafka_bootstrap,
        registry.settings.topic(Topic.CONFIG),
        lambda got: any(r.key == key and r.value and b"shop.acme.com" in r.value for r in got),
        timeout_s=15,
    )
    latest = ConfigChanged.model_validate(json.loads([r for r in records if r.key == key][-1].value))
    assert isinstance(latest.state, TenantConfig)
    assert latest.state.widget is not None
    assert latest.state.widget.model_dump(mode="json") == policy


async def test_bad_origins_are_422_naming_the_field_and_scopes_hold(registry: Registry) -> None:
    tenant = await registry.tenant(scopes=["integrations:read"])
    refused = await registry.client.put("/api/widget", headers=tenant.headers, json={"allowed_origins": []})
    assert refused.status_code == 403

    bad = await registry.client.patch(
        f"/api/admin/tenants/{tenant.id}",
        headers=registry.admin,
        json={"widget": {"allowed_origins": ["https://acme.com/widget"]}},
    )
    assert bad.status_code == 422
    assert "allowed_origins" in bad.json()["error"]["field"]

    set_by_operator = await registry.client.patch(
        f"/api/admin/tenants/{tenant.id}",
        headers=registry.admin,
        json={"widget": {"allowed_origins": ["https://acme.com"]}},
    )
    assert set_by_operator.json()["data"]["widget"] == {
        "allowed_origins": ["https://acme.com"],
        "csrf": False,
    }
    renamed = await registry.client.patch(
        f"/api/admin/tenants/{tenant.id}", headers=registry.admin, json={"name": "Acme Two"}
    )
    assert renamed.json()["data"]["widget"]["allowed_origins"] == ["https://acme.com"]  # untouched
    cleared = await registry.client.patch(
        f"/api/admin/tenants/{tenant.id}", headers=registry.admin, json={"widget": None}
    )
    assert cleared.json()["data"]["widget"] is None
