"""issue 12's promise for partners: a partner added through the partner registry alone — one module, named in
``SB_EXTRA_PARTNERS`` — works end to end on the services as ``make up`` runs them: its integration is created at
the registry, its webhook verified and normalized at ingress, answered by the responder, and the answer posted
through its reply API by the dispatcher. No service names the partner anywhere."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .fake_partner import sign
from .stack import Stack, infra_env, started_stack

ADMIN = "e2e-admin-token-partner-7c41"
SIGNING_KEY = "fake-signing-key-0123456789"
API_HOST = "api.fakechat.test"
ARTICLE = {
    "title": "Reset your password",
    "body": "Forgot your password? Open Settings, choose Security and click Reset password. We email you a link "
    "that works for one hour.",
    "link": "https://help.acme.test/account/password-reset",
    "tags": ["account", "password"],
}


@pytest.fixture
def stack(infra: Infrastructure, make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Stack]:
    with started_stack(
        tmp_path / "run",
        {
            **infra_env(infra, make_settings.namespace),
            "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
            # The whole registration of the partner: a module path every service imports at start.
            "SB_EXTRA_PARTNERS": json.dumps(["tests.e2e.fake_partner"]),
            # The fake partner's API is the loopback receiver (allowed for development tenants in this stack).
            "SB_RESOLVE_OVERRIDES": json.dumps({API_HOST: "127.0.0.1"}),
        },
    ) as running:
        yield running


def _webhook(message_id: str, author: str, text: str) -> bytes:
    payload = {
        "id": message_id,
        "conversation": "conv-9",
        "text": text,
        "from": {"id": author, "name": "Ada"},
    }
    return json.dumps(payload).encode()


@pytest.mark.timeout(300)  # four services start as processes
@pytest.mark.usefixtures("drop_stack_databases")
async def test_a_partner_added_by_one_module_works_end_to_end(stack: Stack, receiver: Receiver) -> None:
    async with (
        httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as registry,
        httpx.AsyncClient(base_url=stack.urls["ingress"], timeout=10) as ingress,
        httpx.AsyncClient(base_url=stack.urls["ai-responder"], timeout=10) as responder,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        tenant = await registry.post(
            "/api/admin/tenants",
            headers=admin,
            json={"name": f"e2e {uuid.uuid4().hex[:6]}", "development_mode": True},
        )
        tenant_id = tenant.json()["data"]["id"]
        key = await registry.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", headers=admin, json={"name": "e2e"}
        )
        auth = {"Authorization": f"Bearer {key.json()['data']['key']}"}

        async def article_added() -> bool:
            answer = await responder.post(f"/api/tenants/{tenant_id}/articles", headers=auth, json=ARTICLE)
            return answer.status_code == 201

        await eventually(article_added, timeout_s=30)

        # The registry: the partner's fields, its secrets write-only.
        created = await registry.post(
            "/api/webhook/config",
            headers=auth,
            json={
                "name": "Fakechat",
                "provider": "fakechat",
                "verification": {"signing_key": SIGNING_KEY},
                "reply": {
                    "api_url": receiver.url("fake", host=API_HOST),
                    "api_key": "fake-api-key",
                    "bot_id": "bot-1",
                },
            },
        )
        assert created.status_code == 201, created.text
        integration = created.json()["data"]
        assert integration["provider"] == "fakechat"
        assert SIGNING_KEY not in created.text
        assert "fake-api-key" not in created.text
        refused = await registry.post(
            "/api/webhook/config",
            headers=auth,
            json={"name": "x", "provider": "fakechat", "verification": {"public_key": "nope"}},
        )
        assert refused.status_code == 422
        url = f"/webhooks/fakechat/{integration['id']}"

        # Ingress: verified over the raw bytes, then normalized.
        question = _webhook("m-1", "user-1", "I forgot my password, how do I reset it?")
        signed = {"X-Fake-Signature": sign(SIGNING_KEY, question), "Content-Type": "application/json"}

        async def accepted() -> bool:
            answer = await ingress.post(url, content=question, headers=signed)
            # 404 until ingress's view of the config topic has the new integration.
            assert answer.status_code in (200, 404), answer.text
            return answer.status_code == 200 and answer.json()["status"] == "accepted"

        await eventually(accepted, timeout_s=30)
        forged = await ingress.post(
            url, content=question, headers={**signed, "X-Fake-Signature": sign("wrong-key-000", question)}
        )
        assert forged.status_code == 401
        echo = _webhook("m-2", "bot-1", "an answer of ours, echoed back")
        own = await ingress.post(url, content=echo, headers={"X-Fake-Signature": sign(SIGNING_KEY, echo)})
        assert own.json() == {"status": "ignored", "reason": "own_reply"}

        # The dispatcher: the responder's answer, through the partner's reply API.
        (posted,) = await receiver.wait_for("fake/conversations/conv-9/messages", 1, timeout_s=60)
    assert posted.headers["x-api-key"] == "fake-api-key"
    assert posted.json()["as"] == "bot-1"
    assert ARTICLE["link"] in posted.json()["text"]
