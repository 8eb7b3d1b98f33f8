"""Fan-out, signing and payloads over real Kafka, delivered to a loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import FastAPI
from standardwebhooks import Webhook

from switchboard_testing.webhooks import Platform, Receiver

from ..conftest import wait_for_target


async def test_events_reach_every_webhook_whose_filter_matches(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    await platform.webhook("w-exact", "acme", receiver.url("exact"), ["message.created"])
    await platform.webhook("w-prefix", "acme", receiver.url("prefix"), ["message.*"])
    await platform.webhook("w-all", "acme", receiver.url("all"), ["*"])
    await platform.webhook("w-other", "acme", receiver.url("other"), ["ticket.created"])
    await platform.webhook("w-tenant", "globex", receiver.url("tenant"), ["*"])
    for hook in ("w-exact", "w-prefix", "w-all", "w-other", "w-tenant"):
        await wait_for_target(dispatcher, "webhook", hook)

    await platform.event("message.created", "acme", {"id": "m-1", "content": {"type": "text", "text": "hi"}})

    for path in ("exact", "prefix", "all"):
        (request,) = await receiver.wait_for(path, 1)
        assert request.json()["event"] == "message.created"
    await platform.event("ticket.created", "acme", {"ticket": {"id": "t-1", "subject": "Help"}})
    await receiver.wait_for("other", 1)
    assert len(receiver.requests["/exact"]) == 1
    assert receiver.requests["/tenant"] == []


async def test_signatures_verify_with_standardwebhooks_and_the_seed_code(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    secret = await platform.webhook("w-1", "acme", receiver.url("signed"), ["*"])
    await wait_for_target(dispatcher, "webhook", "w-1")

    event = await platform.event("conversation.created", "acme", {"id": "c-1", "title": "Support Request"})

    (request,) = await receiver.wait_for("signed", 1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    payload = Webhook(secret).verify(request.body, headers)
    assert payload == {
        "event": "conversation.created",
        "timestamp": event.time.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": {"id": "c-1", "title": "Support Request"},
    }
    # seed 000's verification code, verbatim in spirit: HMAC-SHA256 of the raw body with the secret.
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["x-chatbots-signature"])
    assert headers["x-chatbots-event"] == "conversation.created"
    assert headers["x-chatbots-delivery"] == headers["webhook-id"]
    assert headers["x-webhook-signature"] == expected.removeprefix("sha256=")
    assert headers["x-webhook-event"] == "conversation.created"
    assert headers["user-agent"].startswith("Switchboard")
    assert json.loads(request.body)["data"]["title"] == "Support Request"


async def test_cookies_set_by_one_endpoint_never_reach_another(
    dispatcher: FastAPI, platform: Platform, receiver: Receiver
) -> None:
    receiver.script("setter", default=(200, {"Set-Cookie": "session=tenant-a-secret; Path=/"}, 0.0))
    await platform.webhook("w-a", "acme", receiver.url("setter"), ["*"])
    await platform.webhook("w-b", "globex", receiver.url("other"), ["*"])
    await wait_for_target(dispatcher, "webhook", "w-a")
    await wait_for_target(dispatcher, "webhook", "w-b")

    await platform.event("message.created", "acme", {"id": "m-1"})
    await receiver.wait_for("setter", 1)
    await platform.event("message.created", "globex", {"id": "m-2"})
    await platform.event("message.created", "acme", {"id": "m-3"})

    (other,) = await receiver.wait_for("other", 1)
    second_to_setter = (await receiver.wait_for("setter", 2))[1]
    assert "cookie" not in other.headers
    assert "cookie" not in second_to_setter.headers
