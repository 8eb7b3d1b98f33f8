"""The web console (/admin) in a real browser: Debian's Chromium driven by Playwright, against the four services
as ``make up`` runs them (deploy/local/services.sh on free ports, real Kafka and FerretDB).

The issue's acceptance scenario, one behaviour per test: sign in, create a webhook, send an event and watch its
delivery appear, open its attempts, redeliver; create an integration and copy its URL; hand a widget
conversation off, answer it as an agent and see the answer reach the widget; approve a reviewed answer; sign
out; recover a failed delivery and watch its progress; another tenant's ids are 404 pages; a form posted without the CSRF token is refused.

``SB_CONSOLE_SCREENSHOTS=docs/images`` also saves screenshots of the main pages at desktop and phone width
(how the README's images are made).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright, expect
from pymongo import MongoClient

from switchboard_platform.kafka_admin import delete_topics, ensure_topics
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .stack import Stack, infra_env, started_stack

ADMIN = "e2e-admin-token-console"
EVENTS_TOKEN = "e2e-events-token-console"
#: Waits for what crosses Kafka and the batched log projections (no timing is asserted: only an upper bound).
SLOW_MS = 90_000
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack(infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    namespace = f"t{uuid.uuid4().hex[:10]}."
    asyncio.run(ensure_topics(infra.kafka_bootstrap, namespace))
    databases: list[str] = []
    try:
        with started_stack(
            tmp_path_factory.mktemp("console") / "run",
            {
                **infra_env(infra, namespace),
                # One admin token for the registry and the ai-responder: the console calls the latter with it.
                "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
                "SB_AI_RESPONDER_ADMIN_TOKEN": ADMIN,
                "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
            },
        ) as running:
            databases.extend(running.databases)
            yield running
    finally:
        asyncio.run(delete_topics(infra.kafka_bootstrap, namespace))
        with MongoClient[dict[str, Any]](infra.mongodb_url) as mongo:
            for database in databases:
                mongo.drop_database(database)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: `make tools` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium)
        yield launched
        await launched.close()


@dataclass
class Tenant:
    id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def new_tenant(stack: Stack, name: str = "Acme") -> Tenant:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=30) as http:
        created = await http.post(
            "/api/admin/tenants", json={"name": name, "development_mode": True}, headers=admin
        )
        assert created.status_code == 201, created.text
        tenant_id = created.json()["data"]["id"]
        key = await http.post(
            f"/api/admin/tenants/{tenant_id}/api-keys", json={"name": "console"}, headers=admin
        )
        assert key.status_code == 201, key.text
        return Tenant(tenant_id, key.json()["data"]["key"])


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    return await new_tenant(stack)


@pytest.fixture
async def context(browser: Browser, stack: Stack) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=stack.urls["registry"], viewport=DESKTOP)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.urls["registry"])
    yield context
    await context.close()


@pytest.fixture
async def page(context: BrowserContext, tenant: Tenant) -> Page:
    """A page signed in as ``tenant`` (with its API key, through the sign-in form)."""
    page = await context.new_page()
    await sign_in(page, tenant.key)
    return page


async def sign_in(page: Page, credential: str, tenant_id: str | None = None) -> None:
    await page.goto("/admin")
    await page.get_by_label("API key or admin token").fill(credential)
    if tenant_id is not None:
        await page.get_by_label("Tenant id").fill(tenant_id)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("SB_CONSOLE_SCREENSHOTS")
    if not folder:
        return
    await asyncio.to_thread(Path(folder).mkdir, parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=f"{folder}/console-{name}-{label}.png", full_page=label == "desktop")
    await page.set_viewport_size(DESKTOP)


async def create_webhook(page: Page, receiver: Receiver, name: str = "Orders app") -> str:
    await page.goto("/admin/webhooks/new")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Endpoint URL").fill(receiver.url("/hooks/orders", host="127.0.0.1"))
    await page.get_by_label("message.created", exact=False).first.check()
    await page.get_by_role("textbox", name="Retry schedule").fill("1, 2")
    await page.get_by_role("button", name="Create webhook").click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    match = re.search(r"/admin/webhooks/([0-9a-f]+)", page.url)
    assert match is not None, page.url
    return match.group(1)


async def send_event(stack: Stack, tenant: Tenant, event_type: str = "message.created") -> str:
    event_id = uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=30) as http:
        sent = await http.post(
            f"{stack.urls['ingress']}/v1/events",
            json={
                "specversion": "1.0",
                "id": event_id,
                "source": "//e2e/console",
                "type": event_type,
                "tenant": tenant.id,
                "subject": "conv-1",
                "data": {"id": "m-1", "conversationId": "conv-1", "content": {"type": "text", "text": "hi"}},
            },
            headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
        )
    assert sent.status_code == 202, sent.text
    return event_id


# -- sign-in, webhooks and the delivery log ----------------------------------------------------------------------


async def test_sign_in_sets_an_httponly_strict_session_cookie_without_the_key(
    page: Page, context: BrowserContext, tenant: Tenant
) -> None:
    await expect(page.get_by_text("Acme")).to_be_visible()
    (cookie,) = [cookie for cookie in await context.cookies() if cookie["name"] == "sb_console"]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert tenant.key not in cookie["value"]
    assert tenant.key not in await page.content()


async def test_a_wrong_key_is_refused_on_the_sign_in_page(context: BrowserContext) -> None:
    page = await context.new_page()
    await page.goto("/admin/sign-in")
    await page.get_by_label("API key or admin token").fill("sbk_not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("not a valid API key or admin token")).to_be_visible()


async def test_the_operator_signs_in_to_a_tenant_with_the_admin_token(
    context: BrowserContext, tenant: Tenant
) -> None:
    page = await context.new_page()
    await sign_in(page, ADMIN, tenant.id)
    await expect(page.get_by_text("Acme (operator)")).to_be_visible()


async def test_a_webhook_created_in_the_console_receives_an_event_whose_delivery_and_attempts_appear_and_redeliver(
    page: Page, stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    webhook_id = await create_webhook(page, receiver)
    await page.get_by_role("link", name="Delivery log").first.click()
    await expect(page.get_by_text("0 deliveries")).to_be_visible()

    await send_event(stack, tenant)
    # No reload: htmx refreshes the table, and the delivery shows up by itself.
    row_link = page.get_by_role("link", name="message.created")
    await expect(row_link).to_be_visible(timeout=SLOW_MS)
    await expect(page.locator("#deliveries .badge").first).to_have_text("succeeded", timeout=SLOW_MS)
    assert len(receiver.requests["/hooks/orders"]) == 1
    await screenshot(page, "deliveries")

    await row_link.click()
    await expect(page.get_by_role("heading", name="Attempts (1)")).to_be_visible()
    headers = page.locator("pre.headers").first
    await expect(headers).to_contain_text("webhook-signature: v1,••••")
    await expect(headers).to_contain_text(f"POST {receiver.url('/hooks/orders', host='127.0.0.1')}")
    await expect(page.locator("pre.response").first).to_be_visible()
    await screenshot(page, "delivery")

    async def redelivered() -> bool:
        # The event log and the delivery log are separate consumers: until the event is projected, the
        # registry answers 409 event_unavailable (a page saying so), and redelivering is tried again.
        await page.get_by_role("button", name="Redeliver").click()
        return "redelivery_queued" in page.url

    await eventually(redelivered, timeout_s=SLOW_MS / 1000, interval_s=1)
    await expect(page.get_by_role("heading", name="Attempts (2)")).to_be_visible(timeout=SLOW_MS)
    await expect(page.get_by_text("(manual)")).to_be_visible()
    await expect(page.get_by_role("link", name="Back to the log")).to_have_attribute(
        "href", f"/admin/deliveries?webhook={webhook_id}"
    )
    for name, path in (("webhook", f"/admin/webhooks/{webhook_id}"), ("overview", "/admin/overview")):
        await page.goto(path)
        await screenshot(page, name)


async def test_recovering_failed_deliveries_shows_the_progress_of_the_recover(
    page: Page, stack: Stack, tenant: Tenant, receiver: Receiver
) -> None:
    receiver.script("/hooks/orders", default=(500, {}, 0.0))
    webhook_id = await create_webhook(page, receiver, "Down for a while")
    await send_event(stack, tenant)
    await page.goto(f"/admin/deliveries?webhook={webhook_id}&status=failed")
    # Attempts at 0, ~1 and ~2 s all answered 500: the dispatcher gave up on it.
    await expect(page.locator("#deliveries .badge").first).to_have_text("failed", timeout=SLOW_MS)

    receiver.script("/hooks/orders", default=(200, {}, 0.0))  # the customer fixed their endpoint
    await page.goto(f"/admin/webhooks/{webhook_id}")
    since = datetime.now(UTC) - timedelta(hours=1)
    await page.get_by_label("Since (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Recover").click()

    # No reload: the page polls itself and the counts follow the recover's attempts.
    await expect(page.locator("#recover-progress")).to_have_text(
        "Recovery: 1 delivery attempted again — 1 succeeded, 0 failed, 0 waiting for a retry.",
        timeout=SLOW_MS,
    )
    assert receiver.requests["/hooks/orders"][-1].headers["webhook-id"].startswith("msg_")


async def test_send_test_event_shows_its_signed_delivery(page: Page, receiver: Receiver) -> None:
    await create_webhook(page, receiver, "Test target")
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.get_by_role("link", name="webhook.test")).to_be_visible(timeout=SLOW_MS)
    delivered = receiver.requests["/hooks/orders"][-1]
    assert delivered.headers["webhook-signature"].startswith("v1,")


async def test_rotating_the_secret_shows_the_grace_period(page: Page, receiver: Receiver) -> None:
    await create_webhook(page, receiver, "Rotated")
    await page.get_by_role("button", name="Reveal secret").click()
    first = await page.locator("#secret").inner_text()
    assert first.startswith("whsec_")
    await page.get_by_role("button", name="Rotate secret").click()
    await expect(page.get_by_text("The previous secret keeps signing")).to_be_visible()
    await expect(page.locator("#secret")).not_to_contain_text(first)


async def test_an_invalid_webhook_form_names_the_field(page: Page) -> None:
    await page.goto("/admin/webhooks/new")
    await page.get_by_label("Name").fill("No events")
    await page.get_by_label("Endpoint URL").fill("https://example.com/hook")
    await page.get_by_role("button", name="Create webhook").click()
    await expect(page.get_by_role("alert")).to_contain_text("events")


# -- integrations ----------------------------------------------------------------------------------------------


async def test_an_integration_created_in_the_console_shows_its_inbound_url_to_copy(
    page: Page, stack: Stack
) -> None:
    await page.goto("/admin/integrations")
    await page.get_by_label("Add an integration for").select_option("zendesk")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Name").fill("Zendesk support")
    await page.get_by_label("Signing secret").fill("zendesk-signing-secret-1234")
    await page.get_by_role("button", name="Create integration").click()
    await expect(page.get_by_role("heading", name="Zendesk support")).to_be_visible()
    integration_id = page.url.split("/admin/integrations/")[1].split("?")[0]
    expected = f"{stack.urls['ingress']}/webhooks/zendesk/{integration_id}"
    await expect(page.locator("#url-1")).to_have_text(expected)
    # The secret is write-only: never rendered back, only "set" with its last characters.
    assert "zendesk-signing-secret-1234" not in await page.content()

    await page.get_by_role("button", name="Copy Webhook URL").click()
    assert await page.evaluate("navigator.clipboard.readText()") == expected
    await screenshot(page, "integration")

    await page.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("button", name="Enable")).to_be_visible()


# -- live chat and review (the ai-responder, through the console) -------------------------------------------------


async def widget(stack: Stack, tenant: Tenant) -> str:
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=30) as http:
        created = await http.post(
            "/api/webhook/config", json={"name": "Site widget", "provider": "generic"}, headers=tenant.auth
        )
    assert created.status_code == 201, created.text
    integration_id: str = created.json()["data"]["id"]
    return integration_id


async def chat(stack: Stack, integration_id: str, session_id: str, prompt: str) -> httpx.Response:
    """What the widget does: POST /chat, retried while the ingress has not seen the new integration yet."""
    async with httpx.AsyncClient(timeout=60) as http:

        async def answered() -> httpx.Response | None:
            response = await http.post(
                f"{stack.urls['ingress']}/chat?integration={integration_id}",
                json={"prompt": prompt, "session_id": session_id},
            )
            return None if response.status_code == 404 else response

        response = await eventually(answered, timeout_s=SLOW_MS / 1000, interval_s=0.5)
    assert response is not None
    return response


async def test_a_handed_off_widget_conversation_gets_the_agents_console_reply(
    page: Page, stack: Stack, tenant: Tenant
) -> None:
    integration_id = await widget(stack, tenant)
    session = f"s-{uuid.uuid4().hex[:8]}"
    handoff = await chat(stack, integration_id, session, "I want to talk to a human")
    assert handoff.status_code == 200, handoff.text

    await page.goto("/admin/chats")
    await page.get_by_role("link", name=session).click(timeout=SLOW_MS)
    await expect(page.locator(".transcript")).to_contain_text("I want to talk to a human")
    await page.get_by_label("Reply").fill("Hi, this is Sarah. How can I help?")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".transcript")).to_contain_text("Hi, this is Sarah", timeout=SLOW_MS)
    await screenshot(page, "chat")

    async with httpx.AsyncClient(timeout=30) as http:

        async def received() -> list[dict[str, Any]]:
            polled = await http.get(
                f"{stack.urls['ingress']}/chat/messages",
                params={"integration": integration_id, "session_id": session},
            )
            assert polled.status_code == 200, polled.text
            messages: list[dict[str, Any]] = polled.json()["messages"]
            return messages

        messages = await eventually(received, timeout_s=SLOW_MS / 1000, interval_s=0.5)
    assert [message["text"] for message in messages] == ["Hi, this is Sarah. How can I help?"]


async def test_an_answer_held_for_review_is_approved_in_the_console(
    page: Page, stack: Stack, tenant: Tenant
) -> None:
    responder = f"{stack.urls['ai-responder']}/api/tenants/{tenant.id}"
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}) as http:
        article = await http.post(
            f"{responder}/articles", json={"title": "Refunds", "body": "Refunds take 5 business days."}
        )
        assert article.status_code == 201, article.text
        settings = await http.put(f"{responder}/settings", json={"review_threshold": 1.0})
        assert settings.status_code == 200, settings.text
    integration_id = await widget(stack, tenant)
    await chat(stack, integration_id, f"s-{uuid.uuid4().hex[:8]}", "How long do refunds take?")

    await page.goto("/admin/reviews")

    async def listed() -> bool:
        await page.reload()
        return await page.locator("li.review").count() > 0

    await eventually(listed, timeout_s=SLOW_MS / 1000, interval_s=1)
    await screenshot(page, "reviews")
    await page.locator("li.review").first.get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Answer approved and sent.")).to_be_visible()
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}) as http:
        approved = (await http.get(f"{responder}/reviews", params={"status": "approved"})).json()["data"]
    assert len(approved) == 1


# -- sign-out, tenant isolation, CSRF ------------------------------------------------------------------------------


async def test_signing_out_ends_the_session(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await page.goto("/admin/webhooks")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_another_tenants_ids_are_404_pages(page: Page, stack: Stack) -> None:
    other = await new_tenant(stack, "Globex")
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=30) as http:
        hook = await http.post(
            "/api/webhooks",
            json={"name": "theirs", "url": "https://example.com/hook", "events": ["*"]},
            headers=other.auth,
        )
        integration = await http.post(
            "/api/webhook/config", json={"name": "theirs", "provider": "generic"}, headers=other.auth
        )
    hook_id, integration_id = hook.json()["data"]["_id"], integration.json()["data"]["id"]
    for path in (
        f"/admin/webhooks/{hook_id}",
        f"/admin/webhooks/{hook_id}/edit",
        f"/admin/webhooks/{hook_id}/deliveries/msg_x",
        f"/admin/deliveries?webhook={hook_id}",
        f"/admin/integrations/{integration_id}",
    ):
        response = await page.goto(path)
        assert response is not None
        assert response.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()


async def test_a_form_posted_without_its_csrf_token_is_refused(page: Page) -> None:
    # The browser's own session cookie goes along; only the form's token is missing (or wrong).
    forms: list[dict[str, str | float | bool]] = [
        {"name": "forged", "url": "https://example.com/x", "events": "*"},
        {"name": "forged", "url": "https://example.com/x", "events": "*", "csrf_token": "guess"},
    ]
    for form in forms:
        refused = await page.request.post("/admin/webhooks/new", form=form)
        assert refused.status == 403
    await page.goto("/admin/webhooks")
    await expect(page.get_by_text("forged")).to_have_count(0)
