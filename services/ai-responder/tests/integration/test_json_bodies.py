"""JSON that FastAPI parses for the AI responder goes through the shared bounded decoder: hostile bodies are 400
and store nothing (an unpaired surrogate escape used to decode into a title MongoDB cannot store)."""

from __future__ import annotations

import httpx
import pytest

HOSTILE = {
    "1,000 levels": b'{"title": "t", "body": "b", "tags": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "unpaired surrogate": b'{"title": "Refunds \\ud800", "body": "How refunds work"}',
    "NaN": b'{"title": "t", "body": "b", "tags": [NaN]}',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_json_is_400_invalid_json(api: httpx.AsyncClient, body: bytes) -> None:
    response = await api.post("/articles", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
    assert (await api.get("/articles")).json()["data"] == []
