"""issue 6's first promise end to end: a Freshchat message comes in, the responder answers it from the tenant's
knowledge base, and the dispatcher posts the answer to (a fake) Freshchat's API — real Kafka, FerretDB, HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from switchboard_ai_responder.main import create_app as create_responder
from switchboard_ai_responder.settings import AiResponderSettings
from switchboard_contracts.events import Author, MessageReceived
from switchboard_dispatcher.main import create_app as create_dispatcher
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.webhooks import Platform, Receiver

from .servers import serve

ADMIN = "e2e-responder-admin-5d1c"
TENANT = "acme"
ARTICLE = {
    "title": "Reset your password",
    "body": "Forgot your password? Open Settings, choose Security and click Reset password. We email you a link "
    "that works for one hour.",
    "link": "https://help.acme.test/account/password-reset",
    "tags": ["account", "password"],
}


async def test_a_freshchat_question_is_answered_in_freshchat(
    make_settings: SettingsFactory, receiver: Receiver
) -> None:
    fake_freshchat = receiver
    dispatcher_settings = make_settings(
        DispatcherSettings, allow_loopback_urls=True, resolve_overrides={"api.freshchat.test": "127.0.0.1"}
    )
    apps = {
        "responder": create_responder(make_settings(AiResponderSettings, admin_token=ADMIN)),
        "dispatcher": create_dispatcher(dispatcher_settings),
    }
    async with serve(apps) as urls, Platform(dispatcher_settings) as platform:
        async with httpx.AsyncClient(
            base_url=f"{urls['responder']}/api/tenants/{TENANT}", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as responder:
            assert (await responder.post("/articles", json=ARTICLE)).status_code == 201
        await platform.config(
            "integration",
            "fc-1",
            TENANT,
            {
                "name": "Freshchat",
                "provider": "freshchat",
                "is_active": True,
                "timeout_seconds": 5,
                "reply": {
                    "api_url": fake_freshchat.url("v2", host="api.freshchat.test"),
                    "api_token": platform.box.encrypt("fc-token"),
                },
            },
        )
        message = MessageReceived(
            tenant_id=TENANT,
            integration_id="fc-1",
            provider="freshchat",
            conversation_id="fc-conv-9",
            message_id="fc-msg-1",
            author=Author(id="user-1", name="Ada", type="user"),
            text="I forgot my password, how do I reset it?",
            sent_at=datetime.now(UTC),
        )
        await platform.event(
            "message.received", TENANT, message.model_dump(mode="json"), partitionkey="fc-conv-9"
        )

        (posted,) = await fake_freshchat.wait_for("v2/conversations/fc-conv-9/messages", 1, timeout_s=30)
    assert posted.headers["authorization"] == "Bearer fc-token"
    text = posted.json()["message_parts"][0]["text"]["content"]
    assert "https://help.acme.test/account/password-reset" in text
