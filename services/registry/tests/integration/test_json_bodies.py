"""JSON that FastAPI parses for the registry goes through the shared bounded decoder: hostile bodies are 400.

Free-form fields (a conversation's ``config``) used to take a few hundred levels of nesting or an unpaired
surrogate escape past ``json.loads``, and fail later — in storage, on the config topic or in the response.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..harness import Registry

PATH = "/api/conversations"
SEED_BODY: dict[str, Any] = {
    "channel": "API",
    "usecase": "WORKFLOW_EXECUTION",
    "config": {"workflow_id": "123", "callback_url": "https://your-domain.com/webhook"},
}


def _with_notes(notes: bytes) -> bytes:
    return json.dumps(SEED_BODY).encode()[:-2] + b', "notes": ' + notes + b"}}"


HOSTILE = {
    "1,000 levels": _with_notes(b"[" * 1000 + b"]" * 1000),
    "500 levels": _with_notes(b"[" * 500 + b"]" * 500),
    "unpaired surrogate": _with_notes(b'"\\ud800"'),
    "NaN": _with_notes(b"NaN"),
    "a float that overflows": _with_notes(b"1e400"),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_json_is_400_invalid_json(registry: Registry, body: bytes) -> None:
    tenant = await registry.tenant()
    response = await tenant.client.post(
        PATH, content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
    listed = await tenant.client.get(PATH, headers=tenant.headers)
    assert listed.json()["data"] == []
