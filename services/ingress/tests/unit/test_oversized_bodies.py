"""An oversized body sent without Content-Length (chunked) on ingress's routes: 413, nothing published, and no
ERROR record — it used to log "unhandled error" with a traceback per request, for callers needing no credentials.
(shared/tests/integration/test_body_cut_short.py runs the same over a real uvicorn server.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from ..harness import Harness
from ..partners import BEARER, ZENDESK_SECRET

PATHS = [
    "/chat?integration=gen-1",
    "/contact-form?integration=gen-1",
    "/v1/events",
    "/api/webhooks/receive?integration=gen-1",
    "/webhooks/zendesk/zd-1",
]


async def _chunks(total: int, size: int = 4096) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


@pytest.mark.parametrize("path", PATHS)
async def test_an_oversized_chunked_body_is_413_without_an_error_log(
    harness: Harness, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness.integration("gen-1", "generic", verification={"bearer_token": BEARER, "webhook_secret": "s"})
    harness.integration("zd-1", "zendesk", verification={"signing_secret": ZENDESK_SECRET})
    caplog.set_level(logging.INFO)

    response = await harness.client.post(
        path,
        content=_chunks(harness.settings.max_body_bytes + 4096),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": "Bearer test-events-token"} if path == "/v1/events" else {}),
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert harness.events == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert any("refused (413)" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
