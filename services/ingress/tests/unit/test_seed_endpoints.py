"""seed 002 (POST /api/webhook/incoming), seed 003 (POST /api/webhooks/receive) and seed 004 (POST /chat,
POST /contact-form, GET /health) at their documented paths, with their documented shapes and limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from switchboard_contracts.events import MessageReceived
from switchboard_ingress.domain.widget_policy import issue_csrf_token
from switchboard_ingress.settings import WidgetSettings

from ..conftest import start_harness, unit_settings
from ..harness import Harness, reply_to
from ..partners import BEARER, GENERIC_SECRET, SEED002_MESSAGE, SEED003_TICKET, body_of, seed003_signature

AUTH = {"Authorization": f"Bearer {BEARER}"}
SITE = "https://www.acme.com"


@pytest.fixture
def seeds(harness: Harness) -> Harness:
    harness.integration(
        "gen-1", "generic", verification={"bearer_token": BEARER, "webhook_secret": GENERIC_SECRET}
    )
    harness.integration("gen-open", "generic", verification={"bearer_token": "another-bearer-token-0000"})
    harness.integration("widget-1", "generic")
    return harness


# -- seed 002 --------------------------------------------------------------------------------------------------------


async def test_seed002_message_is_accepted_with_202_once_in_kafka(seeds: Harness) -> None:
    response = await seeds.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)

    assert response.status_code == 202, response.text
    body = response.json()
    (event,) = seeds.events
    message = event.data_as(MessageReceived)
    assert body == {"success": True, "status": "accepted", "message_id": message.message_id, "response": None}
    assert (message.tenant_id, message.integration_id, message.provider) == ("acme", "gen-1", "freshchat")
    assert (message.conversation_id, message.author.id, message.author.name) == (
        "conv_456",
        "external_user_123",
        "John Doe",
    )
    assert message.text == "Hello, I need help with my account"
    assert (message.channel, message.metadata["platform"]) == ("web", "freshchat")
    assert event.partitionkey == "conv_456"


async def test_seed002_without_or_with_a_wrong_token_is_401(seeds: Harness) -> None:
    missing = await seeds.client.post("/api/webhook/incoming", json=SEED002_MESSAGE)
    wrong = await seeds.client.post(
        "/api/webhook/incoming", json=SEED002_MESSAGE, headers={"Authorization": "Bearer nope"}
    )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["success"] is False
    assert missing.json()["error"]["code"] == "unauthorized"


async def test_seed002_body_over_10_kb_is_413(seeds: Harness) -> None:
    big = {**SEED002_MESSAGE, "message": "x" * (10 * 1024)}
    response = await seeds.client.post("/api/webhook/incoming", json=big, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert seeds.events == []


async def test_seed002_missing_message_is_422_naming_it(seeds: Harness) -> None:
    body = {key: value for key, value in SEED002_MESSAGE.items() if key != "message"}
    response = await seeds.client.post("/api/webhook/incoming", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "message"


async def test_seed002_numeric_ids_from_the_zendesk_bridge_are_accepted(seeds: Harness) -> None:
    body = {**SEED002_MESSAGE, "user_id": 900001, "conversation_id": 5158}
    response = await seeds.client.post("/api/webhook/incoming", json=body, headers=AUTH)
    assert response.status_code == 202, response.text
    assert seeds.events[0].data["conversation_id"] == "5158"


async def test_seed002_redelivery_is_acknowledged_without_a_second_event(seeds: Harness) -> None:
    first = await seeds.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)
    again = await seeds.client.post("/api/webhook/incoming", json=SEED002_MESSAGE, headers=AUTH)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    assert again.json()["message_id"] == first.json()["message_id"]
    assert len(seeds.events) == 1


async def test_seed002_idempotency_key_header_deduplicates(seeds: Harness) -> None:
    body = {key: value for key, value in SEED002_MESSAGE.items() if key != "timestamp"}
    for text in ("one", "one, resent"):
        await seeds.client.post(
            "/api/webhook/incoming",
            json={**body, "message": text},
            headers={**AUTH, "Idempotency-Key": "m-1"},
        )
    assert len(seeds.events) == 1


async def test_seed002_without_any_id_every_message_is_new(seeds: Harness) -> None:
    body = {key: value for key, value in SEED002_MESSAGE.items() if key != "timestamp"}
    for _ in range(2):
        await seeds.client.post("/api/webhook/incoming", json=body, headers=AUTH)
    assert len(seeds.events) == 2


async def test_seed002_wait_returns_the_answer_in_the_seed_shape(seeds: Harness) -> None:
    seeds.responder = lambda request: reply_to(
        request, "Hello John! I'd be happy to help you with your account."
    )
    response = await seeds.client.post("/api/webhook/incoming?wait=true", json=SEED002_MESSAGE, headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["response"] == {
        "answer": "Hello John! I'd be happy to help you with your account.",
        "response_type": "rag_knowledge_base",
        "user_info": {"user_id": "external_user_123", "username": "John Doe", "platform": "freshchat"},
    }
    assert body["message_id"] == seeds.events[0].data["message_id"]
    assert body["response_id"]
    assert "replyto" in seeds.events[0].extensions


async def test_seed002_wait_without_an_answer_in_time_is_202(seeds: Harness) -> None:
    response = await seeds.client.post(
        "/api/webhook/incoming?wait=true&timeout=0.1", json=SEED002_MESSAGE, headers=AUTH
    )
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert "outgoing webhook" in response.json()["detail"]


async def test_seed002_hundred_requests_a_minute_then_429(seeds: Harness) -> None:
    body = {key: value for key, value in SEED002_MESSAGE.items() if key != "timestamp"}
    statuses = [
        (await seeds.client.post("/api/webhook/incoming", json=body, headers=AUTH)).status_code
        for _ in range(101)
    ]
    assert statuses[:100] == [202] * 100
    assert statuses[100] == 429
    assert len(seeds.events) == 100


# -- seed 003 --------------------------------------------------------------------------------------------------------


async def test_seed003_signed_ticket_with_bearer_is_ticket_created(seeds: Harness) -> None:
    body = body_of(SEED003_TICKET)
    response = await seeds.client.post(
        "/api/webhooks/receive",
        content=body,
        headers={**AUTH, "Content-Type": "application/json", "X-Webhook-Signature": seed003_signature(body)},
    )
    assert response.status_code == 202, response.text
    (event,) = seeds.events
    assert event.type == "ticket.created"
    ticket = event.data["ticket"]
    assert response.json()["ticket"] == ticket
    assert {
        k: ticket[k] for k in ("subject", "message", "customer_email", "customer_name", "priority", "status")
    } == {
        "subject": "Support Request",
        "message": "Customer message here",
        "customer_email": "customer@example.com",
        "customer_name": "John Doe",
        "priority": "medium",
        "status": "new",
    }
    assert event.partitionkey == ticket["id"]


async def test_seed003_signature_alone_authenticates_with_integration_parameter(seeds: Harness) -> None:
    body = body_of(SEED003_TICKET)
    signed = await seeds.client.post(
        "/api/webhooks/receive?integration=gen-1",
        content=body,
        headers={"X-Webhook-Signature": seed003_signature(body)},
    )
    assert signed.status_code == 202, signed.text


async def test_seed003_configured_secret_makes_the_signature_required(seeds: Harness) -> None:
    body = body_of(SEED003_TICKET)
    unsigned = await seeds.client.post("/api/webhooks/receive", content=body, headers=AUTH)
    wrong = await seeds.client.post(
        "/api/webhooks/receive",
        content=body,
        headers={**AUTH, "X-Webhook-Signature": seed003_signature(body, "other")},
    )
    tampered = await seeds.client.post(
        "/api/webhooks/receive",
        content=body.replace(b"medium", b"urgent"),
        headers={**AUTH, "X-Webhook-Signature": seed003_signature(body)},
    )
    assert (unsigned.status_code, wrong.status_code, tampered.status_code) == (401, 401, 401)
    assert seeds.events == []


async def test_seed003_without_a_secret_the_bearer_token_is_enough(seeds: Harness) -> None:
    response = await seeds.client.post(
        "/api/webhooks/receive",
        json=SEED003_TICKET,
        headers={"Authorization": "Bearer another-bearer-token-0000"},
    )
    assert response.status_code == 202, response.text


async def test_seed003_anonymous_requests_are_refused(seeds: Harness) -> None:
    anonymous = await seeds.client.post("/api/webhooks/receive", json=SEED003_TICKET)
    unsigned_param = await seeds.client.post(
        "/api/webhooks/receive?integration=gen-open", json=SEED003_TICKET
    )
    assert (anonymous.status_code, unsigned_param.status_code) == (401, 401)


async def test_seed003_same_ticket_delivered_twice_is_one_ticket(seeds: Harness) -> None:
    body = body_of(SEED003_TICKET)
    headers = {**AUTH, "X-Webhook-Signature": seed003_signature(body)}
    first = await seeds.client.post("/api/webhooks/receive", content=body, headers=headers)
    again = await seeds.client.post("/api/webhooks/receive", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
    assert len(seeds.events) == 1


async def test_seed003_unknown_event_and_bad_email_are_422(seeds: Harness) -> None:
    for payload, field in (
        ({**SEED003_TICKET, "event": "ticket.delete"}, "event"),
        (
            {"event": "ticket.create", "data": {**SEED003_TICKET["data"], "customer_email": "nope"}},
            "data.customer_email",
        ),
    ):
        body = body_of(payload)
        response = await seeds.client.post(
            "/api/webhooks/receive",
            content=body,
            headers={**AUTH, "X-Webhook-Signature": seed003_signature(body)},
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == field


# -- seed 004 --------------------------------------------------------------------------------------------------------


@pytest.fixture
async def widget() -> AsyncIterator[Harness]:
    settings = unit_settings(
        widgets={
            "acme": WidgetSettings(allowed_origins=[SITE]),
            "strict": WidgetSettings(allowed_origins=[SITE], csrf=True),
        }
    )
    async for running in start_harness(settings):
        running.integration("widget-1", "generic")
        running.integration("widget-csrf", "generic", tenant="strict")
        yield running


async def test_chat_answers_synchronously_with_output(widget: Harness) -> None:
    widget.responder = lambda request: reply_to(request, "Hello! I'm here to help with your account.")
    response = await widget.client.post(
        "/chat?integration=widget-1",
        json={"prompt": "Hello, I need help with my account", "session_id": "user-session-123"},
        headers={"Origin": SITE},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"output": "Hello! I'm here to help with your account."}
    assert response.headers["access-control-allow-origin"] == SITE
    message = widget.events[0].data_as(MessageReceived)
    assert (message.provider, message.conversation_id, message.channel) == (
        "widget",
        "user-session-123",
        "widget",
    )


async def test_chat_rich_response_keeps_content_type_and_attributes(widget: Harness) -> None:
    items = {
        "items": [
            {
                "title": "Account Help Guide",
                "description": "Common fixes",
                "link": "https://help.example.com/account",
            }
        ]
    }
    widget.responder = lambda request: reply_to(
        request, "I can help you with that!", content_type="article", content_attributes=items
    )
    response = await widget.client.post(
        "/chat?integration=widget-1", json={"prompt": "help", "session_id": "s-1"}
    )
    assert response.json() == {
        "content": "I can help you with that!",
        "content_type": "article",
        "content_attributes": items,
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"session_id": "s-1"}, "Invalid prompt"),
        ({"prompt": 42, "session_id": "s-1"}, "Invalid prompt"),
        ({"prompt": "hi"}, "Invalid session_id"),
        ({"prompt": "x" * 1001, "session_id": "s-1"}, "Prompt too long"),
    ],
)
async def test_chat_validation_is_the_seeds(widget: Harness, body: dict[str, object], error: str) -> None:
    response = await widget.client.post("/chat?integration=widget-1", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert widget.events == []


async def test_chat_prompt_of_exactly_1000_characters_is_accepted(widget: Harness) -> None:
    widget.responder = lambda request: reply_to(request, "ok")
    response = await widget.client.post(
        "/chat?integration=widget-1", json={"prompt": "x" * 1000, "session_id": "s"}
    )
    assert response.status_code == 200


async def test_chat_without_an_answer_in_time_is_504_with_the_seeds_apology(widget: Harness) -> None:
    response = await widget.client.post(
        "/chat?integration=widget-1", json={"prompt": "hi", "session_id": "s-1"}
    )
    assert response.status_code == 504
    assert response.json()["output"].startswith("I'm sorry, I'm experiencing technical difficulties")


async def test_cors_preflight_for_an_allowed_origin(widget: Harness) -> None:
    response = await widget.client.options(
        "/chat?integration=widget-1",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-csrftoken",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert response.headers["access-control-allow-headers"] == "Content-Type, X-CSRFToken"


async def test_other_origins_get_403_and_no_cors_headers(widget: Harness) -> None:
    preflight = await widget.client.options(
        "/chat?integration=widget-1", headers={"Origin": "https://evil.example"}
    )
    post = await widget.client.post(
        "/chat?integration=widget-1",
        json={"prompt": "hi", "session_id": "s"},
        headers={"Origin": "https://evil.example"},
    )
    assert (preflight.status_code, post.status_code) == (403, 403)
    assert "access-control-allow-origin" not in post.headers
    assert widget.events == []


async def test_localhost_is_allowed_for_development_tenants_only(widget: Harness) -> None:
    local = {"Origin": "http://localhost:3000"}
    before = await widget.client.options("/chat?integration=widget-1", headers=local)
    widget.tenant("acme", development_mode=True)
    after = await widget.client.options("/chat?integration=widget-1", headers=local)
    assert (before.status_code, after.status_code) == (403, 200)


async def test_tenant_widget_policy_from_the_registry_wins_over_settings(widget: Harness) -> None:
    widget.tenant("acme", widget={"allowed_origins": ["https://shop.acme.com"], "csrf": False})
    old = await widget.client.options("/chat?integration=widget-1", headers={"Origin": SITE})
    new = await widget.client.options(
        "/chat?integration=widget-1", headers={"Origin": "https://shop.acme.com"}
    )
    assert (old.status_code, new.status_code) == (403, 200)


async def test_csrf_token_required_when_the_tenant_enables_it(widget: Harness) -> None:
    widget.responder = lambda request: reply_to(request, "ok")
    body = {"prompt": "hi", "session_id": "s"}
    missing = await widget.client.post("/chat?integration=widget-csrf", json=body, headers={"Origin": SITE})
    forged = await widget.client.post(
        "/chat?integration=widget-csrf", json=body, headers={"Origin": SITE, "X-CSRFToken": "test-token"}
    )
    issued = await widget.client.get("/chat/csrf-token?integration=widget-csrf", headers={"Origin": SITE})
    token = issued.json()["csrf_token"]
    valid = await widget.client.post(
        "/chat?integration=widget-csrf", json=body, headers={"Origin": SITE, "X-CSRFToken": token}
    )
    other = issue_csrf_token(widget.settings.csrf_secret.get_secret_value(), "widget-1", 60)
    misbound = await widget.client.post(
        "/chat?integration=widget-csrf", json=body, headers={"Origin": SITE, "X-CSRFToken": other}
    )
    assert (missing.status_code, forged.status_code, valid.status_code, misbound.status_code) == (
        403,
        403,
        200,
        403,
    )
    assert forged.json()["error"] == "Invalid CSRF token"


async def test_widget_requests_per_client_are_limited() -> None:
    async for limited in start_harness(unit_settings(widget_rate_limit=2)):
        limited.integration("widget-1", "generic")
        limited.responder = lambda request: reply_to(request, "ok")
        statuses = [
            (
                await limited.client.post(
                    "/chat?integration=widget-1", json={"prompt": "hi", "session_id": "s"}
                )
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]


async def test_contact_form_valid_submission_is_form_submitted(widget: Harness) -> None:
    form = {"name": "Ada", "email": "ada@example.com", "message": "Call me", "phone": "+1 555"}
    response = await widget.client.post(
        "/contact-form?integration=widget-1&session_id=s-9", json=form, headers={"Origin": SITE}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "message": "Thank you! We received your message and will respond soon.",
    }
    (event,) = widget.events
    assert event.type == "form.submitted"
    assert {k: event.data[k] for k in ("name", "email", "message", "session_id", "form_id")} == {
        "name": "Ada",
        "email": "ada@example.com",
        "message": "Call me",
        "session_id": "s-9",
        "form_id": "contact",
    }
    assert event.data["fields"]["phone"] == "+1 555"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"email": "ada@example.com", "message": "m"}, "name is required"),
        ({"name": "Ada", "message": "m"}, "email is required"),
        ({"name": "Ada", "email": "ada@example.com"}, "message is required"),
        ({"name": "Ada", "email": "ada@example", "message": "m"}, "Invalid email format"),
        ({"name": "Ada", "email": "ada @example.com", "message": "m"}, "Invalid email format"),
    ],
)
async def test_contact_form_validation_is_the_seeds(
    widget: Harness, form: dict[str, str], error: str
) -> None:
    response = await widget.client.post("/contact-form?integration=widget-1", json=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert widget.events == []


async def test_contact_form_accepts_url_encoded_posts(widget: Harness) -> None:
    response = await widget.client.post(
        "/contact-form?integration=widget-1",
        data={"name": "Ada", "email": "ada@example.com", "message": "hi"},
    )
    assert response.status_code == 200, response.text


async def test_health_is_the_seeds_shape(widget: Harness) -> None:
    response = await widget.client.get("/health")
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "ok")
    assert body["timestamp"].endswith("Z")
    json.dumps(body)
