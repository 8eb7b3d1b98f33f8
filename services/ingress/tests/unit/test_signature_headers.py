"""Non-ASCII in any signature or token a caller sends is a refusal (401, or the widget's 403), never a 500.

Starlette decodes header bytes as Latin-1, so a header can hold any character from U+0000 to U+00FF; the seed 003
signature used to be compared as ``str`` by ``hmac.compare_digest``, which raises TypeError on non-ASCII, and a
CSRF token starting with "²" passed ``str.isdigit`` and then failed ``int()``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from switchboard_ingress.settings import WidgetSettings

from ..conftest import start_harness, unit_settings
from ..harness import Harness
from ..partners import (
    BEARER,
    CHATWOOT_PATH_TOKEN,
    CHATWOOT_SECRET,
    GENERIC_SECRET,
    INTERCOM_SECRET,
    SEED002_MESSAGE,
    SEED003_TICKET,
    ZENDESK_SECRET,
    chatwoot_headers,
    chatwoot_message,
    freshchat_message,
    freshchat_public_key_as_pasted,
    intercom_reply,
    zendesk_comment,
    zendesk_headers,
)

E_ACUTE = "é".encode()  # two bytes, read back as "Ã©"
SUPERSCRIPT_TWO = b"\xb2"  # "²": str.isdigit() is true, int() refuses it

#: path, JSON payload, headers carrying a non-ASCII signature or token (everything else valid), answer.
CASES: dict[str, tuple[str, object, dict[str, bytes], int]] = {
    "seed 003 X-Webhook-Signature": (
        "/api/webhooks/receive?integration=gen-1",
        SEED003_TICKET,
        {"X-Webhook-Signature": E_ACUTE},
        401,
    ),
    "seed 003 X-Webhook-Signature after a bearer token": (
        "/api/webhooks/receive",
        SEED003_TICKET,
        {"Authorization": f"Bearer {BEARER}".encode(), "X-Webhook-Signature": b"sha256=" + E_ACUTE},
        401,
    ),
    "seed 002 bearer token": (
        "/api/webhook/incoming",
        SEED002_MESSAGE,
        {"Authorization": b"Bearer " + E_ACUTE},
        401,
    ),
    "/v1/events bearer token": ("/v1/events", {}, {"Authorization": b"Bearer " + E_ACUTE}, 401),
    "Zendesk signature": ("/webhooks/zendesk/zd-1", zendesk_comment(), {}, 401),
    "Intercom X-Hub-Signature": (
        "/webhooks/intercom/ic-1",
        intercom_reply(),
        {"X-Hub-Signature": b"sha1=" + E_ACUTE},
        401,
    ),
    "Chatwoot signature": ("/webhooks/chatwoot/cw-1", chatwoot_message(), {}, 401),
    "Freshchat signature": (
        "/webhooks/freshchat/fc-1",
        freshchat_message(),
        {"X-Freshchat-Signature": E_ACUTE},
        401,
    ),
    "widget X-CSRFToken": (
        "/chat?integration=widget-csrf",
        {"prompt": "hi", "session_id": "s"},
        {"X-CSRFToken": SUPERSCRIPT_TWO + b"9999999999.widget-csrf." + E_ACUTE},
        403,
    ),
}


@pytest.fixture
async def guarded() -> AsyncIterator[Harness]:
    settings = unit_settings(widgets={"strict": WidgetSettings(csrf=True)})
    async for running in start_harness(settings):
        running.integration(
            "gen-1", "generic", verification={"bearer_token": BEARER, "webhook_secret": GENERIC_SECRET}
        )
        running.integration("zd-1", "zendesk", verification={"signing_secret": ZENDESK_SECRET})
        running.integration("ic-1", "intercom", verification={"client_secret": INTERCOM_SECRET})
        running.integration(
            "cw-1",
            "chatwoot",
            verification={"webhook_secret": CHATWOOT_SECRET, "path_token": CHATWOOT_PATH_TOKEN},
        )
        running.integration(
            "fc-1", "freshchat", verification={"public_key": freshchat_public_key_as_pasted()}
        )
        running.integration("widget-csrf", "generic", tenant="strict")
        yield running


def _signed_headers(case: str, body: bytes) -> dict[str, bytes]:
    """Zendesk and Chatwoot sign a timestamp too: a real timestamp header beside a non-ASCII signature."""
    if case == "Zendesk signature":
        headers = {k: v.encode() for k, v in zendesk_headers(body).items()}
        return {**headers, "X-Zendesk-Webhook-Signature": E_ACUTE}
    if case == "Chatwoot signature":
        headers = {k: v.encode() for k, v in chatwoot_headers(body).items()}
        return {**headers, "X-Chatwoot-Signature": b"sha256=" + E_ACUTE}
    return {}


@pytest.mark.parametrize("case", CASES)
async def test_a_non_ascii_signature_or_token_is_refused_not_a_500(guarded: Harness, case: str) -> None:
    path, payload, headers, status = CASES[case]
    body = json.dumps(payload).encode()
    sent: dict[bytes, bytes] = {b"Content-Type": b"application/json"}
    for name, value in {**headers, **_signed_headers(case, body)}.items():
        sent[name.encode()] = value
    response = await guarded.client.post(path, content=body, headers=sent)
    assert response.status_code == status, response.text
    assert guarded.events == []


async def test_a_non_ascii_chatwoot_path_token_is_401(guarded: Harness) -> None:
    body = json.dumps(chatwoot_message()).encode()
    response = await guarded.client.post("/webhooks/chatwoot/cw-1/%C3%A9%ED%A0%80", content=body)
    assert response.status_code == 401
