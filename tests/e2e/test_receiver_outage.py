"""A receiver down (answering 503) for a while, then up: every delivery reaches it afterwards — through the
retry schedule while it lasts, and through ``POST /api/webhooks/{id}/recover`` for what the dispatcher gave up on.

``SB_E2E_RECEIVER_OUTAGE_S`` sets the outage (default 15 s for ``make test``; the issue's is 60 s). The webhooks'
retry schedule (1, 2, 4, 6 s: about 13 s in all) is shorter than the outage, so the first events exhaust theirs
and need ``recover``, while the last ones are still retrying when the receiver comes back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .outages import STACK_ENV, Clients, expected_deliveries, since, tenant_with_webhooks
from .stack import Stack, infra_env, started_stack, until
from .zero_loss import check, complete

log = logging.getLogger(__name__)

OUTAGE_S = float(os.environ.get("SB_E2E_RECEIVER_OUTAGE_S", "15"))
HOOKS = {"down-a": ["ticket.*"], "down-b": ["ticket.*"]}
DOWN: tuple[int, dict[str, str], float] = (503, {}, 0.0)


@pytest.fixture
def stack(infra: Infrastructure, make_settings: SettingsFactory, tmp_path: Path) -> Iterator[Stack]:
    with started_stack(
        tmp_path / "run",
        {
            **STACK_ENV,
            **infra_env(infra, make_settings.namespace),
        },
    ) as running:
        yield running


async def pending(stack: Stack, auth: dict[str, str], webhook: str) -> int:
    """Deliveries of ``webhook`` the dispatcher is still retrying, by the registry's delivery log."""
    async with httpx.AsyncClient(timeout=30) as http:
        listing = await http.get(
            f"{stack.urls['registry']}/api/webhooks/{webhook}/deliveries",
            params={"status": "pending", "per_page": 1},
            headers=auth,
        )
    assert listing.status_code == 200, listing.text
    return int(listing.json()["pagination"]["total"])


@pytest.mark.timeout(300)
async def test_a_receiver_down_for_a_while_gets_every_delivery_afterwards(
    stack: Stack, receiver: Receiver
) -> None:
    started_at = datetime.now(UTC) - timedelta(minutes=1)
    tenant = await tenant_with_webhooks(
        stack, receiver, HOOKS, {"retry_schedule": [1, 2, 4, 6], "rate_limit_per_minute": 100_000}
    )
    for path in HOOKS:
        receiver.script(path, default=DOWN)
    clients = Clients(stack, tenant, interval_s=0.1)

    down_at = time.monotonic()
    async with clients.running(bridge=False) as traffic:
        await until(lambda: len(traffic.events) >= 40, timeout_s=60)
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    for path in HOOKS:
        receiver.script(path)  # up: 200 from now on
    up_at = time.monotonic()
    expected = expected_deliveries(traffic, tenant, HOOKS)

    for webhook in tenant.webhooks.values():

        async def settled(webhook: str = webhook) -> bool:
            return await pending(stack, tenant.auth, webhook) == 0

        await eventually(settled, timeout_s=60, interval_s=0.5)
    after = since(receiver, up_at)
    by_retry = {path: len({r.headers["webhook-id"] for r in after.requests[f"/{path}"]}) for path in HOOKS}

    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=30) as http:
        for webhook in tenant.webhooks.values():
            recovered = await http.post(
                f"/api/webhooks/{webhook}/recover",
                params={"since": started_at.isoformat()},
                headers=tenant.auth,
            )
            assert recovered.status_code == 202, recovered.text
    await until(lambda: complete(since(receiver, up_at), expected), timeout_s=120)
    caught_up = time.monotonic() - up_at

    report = check(since(receiver, up_at), expected)
    refused = sum(len(receiver.requests[f"/{path}"]) for path in HOOKS) - sum(
        len(since(receiver, up_at).requests[f"/{path}"]) for path in HOOKS
    )
    assert refused > 0, "the receiver was never down"
    log.warning(
        "receiver outage %.1f s: %d events accepted; %d requests refused with 503 during the outage; after it, "
        "%s deliveries arrived through retries and the rest through recover; every delivery %.1f s after the "
        "receiver came back; %s",
        up_at - down_at,
        len(traffic.events),
        refused,
        by_retry,
        caught_up,
        report,
    )
