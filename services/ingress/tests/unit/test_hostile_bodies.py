"""Hostile JSON on every ingress route that reads a body: each is a 400 ``invalid_json`` and publishes nothing.

Before the shared bounded decoder, 1,000 levels of nesting (2 KB) raised RecursionError — a 500 and a dropped
connection on routes that need no credentials (``/chat``, ``/contact-form``) — and an unpaired surrogate escape
in an otherwise valid message failed only when the event was serialized for Kafka.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from switchboard_contracts.strict_json import MAX_DEPTH

from ..harness import Harness
from ..partners import (
    BEARER,
    CHATWOOT_SECRET,
    GENERIC_SECRET,
    INTERCOM_SECRET,
    SEED002_MESSAGE,
    SEED003_TICKET,
    ZENDESK_SECRET,
    chatwoot_headers,
    chatwoot_message,
    freshchat_headers,
    freshchat_message,
    freshchat_public_key_as_pasted,
    intercom_headers,
    intercom_reply,
    seed003_signature,
    zendesk_comment,
    zendesk_headers,
)

LONE = "\ud800"  # json.dumps writes it as the escape "\ud800", which decodes to a str UTF-8 cannot encode


def _none(_: bytes) -> dict[str, str]:
    return {}


def _json(_: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json"}


def _events_token(_: bytes) -> dict[str, str]:
    return {"Authorization": "Bearer test-events-token", "Content-Type": "application/cloudevents+json"}


def _bearer(_: bytes) -> dict[str, str]:
    return {"Authorization": f"Bearer {BEARER}"}


def _bearer_signed(body: bytes) -> dict[str, str]:
    return {"Authorization": f"Bearer {BEARER}", "X-Webhook-Signature": seed003_signature(body)}


Route = tuple[str, Callable[[bytes], dict[str, str]], dict[str, Any]]

#: path, headers for a body (authenticated and signed where the route asks for it), a valid payload.
ROUTES: dict[str, Route] = {
    "chat": ("/chat?integration=gen-1", _none, {"prompt": "hello", "session_id": "s-1"}),
    "contact-form": (
        "/contact-form?integration=gen-1",
        _json,
        {"name": "Jane", "email": "jane@example.com", "message": "hello"},
    ),
    "events": (
        "/v1/events",
        _events_token,
        {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/crm",
            "type": "crm.note.added",
            "tenant": "acme",
            "data": {"text": "hello"},
        },
    ),
    "incoming": ("/api/webhook/incoming", _bearer, SEED002_MESSAGE),
    "tickets": ("/api/webhooks/receive", _bearer_signed, SEED003_TICKET),
    "zendesk": ("/webhooks/zendesk/zd-1", zendesk_headers, zendesk_comment()),
    "freshchat": ("/webhooks/freshchat/fc-1", freshchat_headers, freshchat_message()),
    "intercom": ("/webhooks/intercom/ic-1", intercom_headers, intercom_reply()),
    "chatwoot": ("/webhooks/chatwoot/cw-1", chatwoot_headers, chatwoot_message()),
}


def _with_lone_surrogate(value: Any) -> Any:
    """The payload with a lone surrogate appended to every string value (keys and structure unchanged)."""
    if isinstance(value, dict):
        return {key: _with_lone_surrogate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_lone_surrogate(item) for item in value]
    return value + LONE if isinstance(value, str) else value


HOSTILE: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "1,000 levels of arrays (2 KB)": lambda _: b"[" * 1000 + b"]" * 1000,
    "1,000 levels of objects": lambda _: b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "a valid payload with a field nested too deep": lambda payload: json.dumps(
        {**payload, "extra": json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))}
    ).encode(),
    "a valid payload with unpaired surrogates": lambda payload: json.dumps(
        _with_lone_surrogate(payload)
    ).encode(),
    "NaN": lambda payload: json.dumps({**payload, "extra": float("nan")}).encode(),
    "a float that overflows": lambda payload: json.dumps(payload).encode()[:-1] + b', "extra": 1e400}',
    "an integer past the digit limit": lambda payload: (
        json.dumps(payload).encode()[:-1] + b', "extra": ' + b"9" * 5000 + b"}"
    ),
    "invalid UTF-8": lambda payload: json.dumps(payload).encode()[:-1] + b', "extra": "\xff\xfe"}',
    "trailing data": lambda payload: json.dumps(payload).encode() + b" {}",
}


@pytest.fixture
def routes(harness: Harness) -> Harness:
    harness.integration(
        "gen-1", "generic", verification={"bearer_token": BEARER, "webhook_secret": GENERIC_SECRET}
    )
    harness.integration("zd-1", "zendesk", verification={"signing_secret": ZENDESK_SECRET})
    harness.integration("fc-1", "freshchat", verification={"public_key": freshchat_public_key_as_pasted()})
    harness.integration("ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET})
    harness.integration("cw-1", "chatwoot", verification={"webhook_secret": CHATWOOT_SECRET})
    return harness


def _error_code(body: dict[str, Any]) -> str:
    # The widget routes answer in seed 004's {"error": "<message>", "code"} shape, the others in the shared one.
    return str(body["code"] if "code" in body else body["error"]["code"])


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_json_is_400_invalid_json_and_publishes_nothing(
    routes: Harness, route: str, hostile: str
) -> None:
    path, headers_for, payload = ROUTES[route]
    body = HOSTILE[hostile](payload)

    response = await routes.client.post(path, content=body, headers=headers_for(body))

    assert response.status_code == 400, response.text
    assert _error_code(response.json()) == "invalid_json"
    assert routes.events == []


@pytest.mark.parametrize(
    "route", ["events", "incoming", "tickets", "zendesk", "freshchat", "intercom", "chatwoot"]
)
async def test_a_body_that_is_not_a_json_object_is_400(routes: Harness, route: str) -> None:
    path, headers_for, _ = ROUTES[route]
    body = b'["not", "an", "object"]'
    response = await routes.client.post(path, content=body, headers=headers_for(body))
    assert response.status_code == 400, response.text
    assert "must be a JSON object" in response.json()["error"]["message"]


@pytest.mark.parametrize("route", ROUTES)
async def test_the_valid_payloads_above_are_accepted(routes: Harness, route: str) -> None:
    """The hostile cases differ from an accepted request only in what they make hostile."""
    routes.responder = lambda event: None
    path, headers_for, payload = ROUTES[route]
    body = json.dumps(payload).encode()
    response = await routes.client.post(path, content=body, headers=headers_for(body))
    assert response.status_code in {200, 202, 504}, response.text
    assert len(routes.events) == 1
