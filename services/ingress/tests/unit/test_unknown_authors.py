"""Loop prevention fails closed on every partner: a message whose author the payload does not establish as the
customer is acknowledged (200) and dropped as ``unknown_author``, never published as a customer message.

Each normalizer used to default a missing author type to the customer's (``actor_type`` "user", Intercom
``author.type`` "user", Chatwoot ``sender.type`` "contact") and to accept an author without an id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..harness import Harness
from ..partners import (
    CHATWOOT_SECRET,
    INTERCOM_SECRET,
    ZENDESK_SECRET,
    body_of,
    chatwoot_headers,
    chatwoot_message,
    freshchat_headers,
    freshchat_message,
    freshchat_public_key_as_pasted,
    intercom_headers,
    intercom_reply,
    zendesk_comment,
    zendesk_headers,
)


@pytest.fixture
def partners(harness: Harness) -> Harness:
    harness.integration("fc-1", "freshchat", verification={"public_key": freshchat_public_key_as_pasted()})
    harness.integration("zd-1", "zendesk", verification={"signing_secret": ZENDESK_SECRET})
    harness.integration("ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET})
    harness.integration("cw-1", "chatwoot", verification={"webhook_secret": CHATWOOT_SECRET})
    return harness


def _freshchat_without_actor_type() -> dict[str, Any]:
    payload = freshchat_message()
    payload["actor"].pop("actor_type")
    payload["data"]["message"].pop("actor_type")
    return payload


def _freshchat_user_without_id() -> dict[str, Any]:
    payload = freshchat_message()
    payload["actor"].pop("actor_id")
    for name in ("actor_id", "user_id"):
        payload["data"]["message"].pop(name)
    return payload


def _zendesk_author(**author: Any) -> dict[str, Any]:
    payload = zendesk_comment()
    payload["event"]["comment"]["author"] = author
    return payload


def _intercom_author(**author: Any) -> dict[str, Any]:
    payload = intercom_reply()
    payload["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"] = author
    return payload


def _chatwoot_sender(**sender: Any) -> dict[str, Any]:
    payload = chatwoot_message()
    payload["sender"] = sender
    return payload


Signer = Callable[[bytes], dict[str, str]]
CASES: dict[str, tuple[str, Signer, Callable[[], dict[str, Any]]]] = {
    "Freshchat: no actor_type": ("fc-1", freshchat_headers, _freshchat_without_actor_type),
    "Freshchat: a user without an id": ("fc-1", freshchat_headers, _freshchat_user_without_id),
    "Zendesk: no is_staff": ("zd-1", zendesk_headers, lambda: _zendesk_author(id="900001", name="Jane")),
    "Zendesk: no author id": ("zd-1", zendesk_headers, lambda: _zendesk_author(is_staff=False)),
    "Zendesk: no author": ("zd-1", zendesk_headers, lambda: _zendesk_author()),
    "Intercom: no author type": ("ic-1", intercom_headers, lambda: _intercom_author(id="5c9f0001")),
    "Intercom: a user without an id": ("ic-1", intercom_headers, lambda: _intercom_author(type="user")),
    "Chatwoot: no sender": ("cw-1", chatwoot_headers, lambda: _chatwoot_sender()),
    "Chatwoot: a contact without an id": ("cw-1", chatwoot_headers, lambda: _chatwoot_sender(type="contact")),
}


@pytest.mark.parametrize("case", CASES)
async def test_a_message_without_an_established_author_is_dropped(partners: Harness, case: str) -> None:
    integration, sign, payload = CASES[case]
    provider = {"fc-1": "freshchat", "zd-1": "zendesk", "ic-1": "intercom", "cw-1": "chatwoot"}[integration]
    body = body_of(payload())

    response = await partners.client.post(
        f"/webhooks/{provider}/{integration}", content=body, headers=sign(body)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ignored", "reason": "unknown_author"}
    assert partners.events == []
    metrics = (await partners.client.get("/metrics")).text
    assert f'ingress_dropped_total{{provider="{provider}",reason="unknown_author"}} 1.0' in metrics
