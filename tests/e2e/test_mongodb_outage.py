"""MongoDB stopped mid-stream while events flow, then restarted: nothing the ingress accepted is lost.

The four services run as ``make up`` runs them, on the shared Kafka and a private FerretDB (the shared one on
:27017 serves every other test). While FerretDB is down:

- every service's ``/readyz`` answers 503, and the registry's API 503 with ``Retry-After``;
- ``POST /v1/events`` keeps answering 202 (it needs only Kafka: the producer's CloudEvent id is what consumers
  deduplicate on), while the partner bridge route, whose redeliveries the ingress deduplicates in MongoDB,
  answers 503 with ``Retry-After`` — the bridge resends each refused message until it is accepted;
- the dispatcher keeps delivering from its in-memory view of the configuration, including the retries of a
  webhook that fails now and then (their schedule lives in MongoDB).

After the restart every accepted event reaches every subscribed webhook (duplicates allowed, with the same
``webhook-id``), and the registry's projections — event log, delivery log, message history — catch up from Kafka.

``SB_E2E_MONGODB_OUTAGE_S`` sets the outage (default 12 s, to keep ``make test`` short; the issue's is 30 s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.infra import Infrastructure
from switchboard_testing.private_ferretdb import PrivateFerretDB
from switchboard_testing.waiting import eventually
from switchboard_testing.webhooks import Receiver

from .outages import (
    STACK_ENV,
    Clients,
    delivered_messages,
    expected_deliveries,
    of_type,
    readiness,
    tenant_with_webhooks,
    until_readiness,
    wait_config_applied,
)
from .stack import Stack, infra_env, started_stack, until
from .zero_loss import check, complete

log = logging.getLogger(__name__)

OUTAGE_S = float(os.environ.get("SB_E2E_MONGODB_OUTAGE_S", "12"))
#: "steady" answers every request; "flaky" fails every fifth one with a 500, so retries are scheduled while
#: MongoDB is down.
HOOKS = {"steady": ["ticket.*", "message.received"], "flaky": ["ticket.*"]}
FAIL: tuple[int, dict[str, str], float] = (500, {}, 0.0)
OK: tuple[int, dict[str, str], float] = (200, {}, 0.0)
FLAKY_PATTERN = [FAIL, OK, OK, OK, OK]


@pytest.fixture
def stack(
    infra: Infrastructure, make_settings: SettingsFactory, private_ferretdb: PrivateFerretDB, tmp_path: Path
) -> Iterator[Stack]:
    with started_stack(
        tmp_path / "run",
        {
            **STACK_ENV,
            **infra_env(infra, make_settings.namespace),
            "SB_MONGODB_URL": private_ferretdb.url,
        },
    ) as running:
        yield running


async def projected(mongo: AsyncMongoClient[dict[str, Any]], stack: Stack, tenant: str) -> dict[str, int]:
    """What the registry's event log holds for the test's tenant, by type."""
    events = mongo[stack.env["SB_REGISTRY_MONGODB_DATABASE"]]["events"]
    return {
        event_type: await events.count_documents({"tenant": tenant, "type": event_type})
        for event_type in await events.distinct("type", {"tenant": tenant})
    }


async def delivery_log_total(stack: Stack, auth: dict[str, str], webhook: str, status: str) -> int:
    async with httpx.AsyncClient(timeout=30) as http:
        listing = await http.get(
            f"{stack.urls['registry']}/api/webhooks/{webhook}/deliveries",
            params={"status": status, "per_page": 1},
            headers=auth,
        )
    assert listing.status_code == 200, listing.text
    return int(listing.json()["pagination"]["total"])


@pytest.mark.timeout(300)
async def test_a_mongodb_outage_mid_stream_loses_no_accepted_event(
    stack: Stack, private_ferretdb: PrivateFerretDB, receiver: Receiver
) -> None:
    receiver.script("flaky", *FLAKY_PATTERN * 400)
    tenant = await tenant_with_webhooks(
        stack,
        receiver,
        HOOKS,
        {"retry_schedule": [1, 2, 2, 2, 2], "max_in_flight": 20, "rate_limit_per_minute": 100_000},
    )
    await wait_config_applied(stack, tenant)
    clients = Clients(stack, tenant, interval_s=0.1)

    async with clients.running() as traffic:
        await until(lambda: len(traffic.events) >= 30 and len(traffic.messages) >= 10, timeout_s=60)
        before = (len(traffic.events), len(traffic.messages))
        stopped = time.monotonic()
        await asyncio.to_thread(private_ferretdb.stop)
        unready_after = await until_readiness(stack, 503, timeout_s=OUTAGE_S + 30)
        async with httpx.AsyncClient(timeout=30) as http:
            listing = await http.get(f"{stack.urls['registry']}/api/webhooks", headers=tenant.auth)
        assert listing.status_code == 503, listing.text  # the registry's API: retry later, not a 500
        assert "retry-after" in listing.headers
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped)))
        during = (len(traffic.events) - before[0], len(traffic.messages) - before[1])
        assert set((await readiness(stack)).values()) == {503}
        await asyncio.to_thread(private_ferretdb.start)
        restarted = time.monotonic()
        outage = restarted - stopped
        ready_after = await until_readiness(stack, 200, timeout_s=90)
        await until(lambda: len(traffic.messages) >= before[1] + during[1] + 5, timeout_s=60)
    refused = [at for route, at, _ in traffic.refusals if route == "incoming"]

    # The bridge route refused (503 + Retry-After) while it could not deduplicate; /v1/events never did.
    assert refused, "the bridge was never refused: the outage did not reach the ingress's dedup store"
    assert all("retry-after" in headers for _, _, headers in traffic.refusals)
    assert traffic.statuses["events", 503] == 0
    assert during[0] > 0, "no event was accepted during the outage"

    expected = expected_deliveries(traffic, tenant, HOOKS)
    messages = set(traffic.messages)
    caught_up = time.monotonic()
    await until(
        lambda: complete(receiver, expected) and delivered_messages(receiver, "steady") >= messages,
        timeout_s=120,
    )
    delivered_in = time.monotonic() - caught_up
    firsts = {
        (path, webhook_id): min(
            r.at for r in receiver.requests[f"/{path}"] if r.headers["webhook-id"] == webhook_id
        )
        for path, ids in expected.items()
        for webhook_id in ids
    }
    last = max(firsts, key=firsts.__getitem__)
    last_first_arrival = firsts[last] - restarted
    delivered_during = sum(stopped <= at < restarted for at in firsts.values())
    assert delivered_during > 0, "nothing was delivered while MongoDB was down"
    report = {
        path: check(of_type(receiver, path, "ticket.created"), {path: ids}) for path, ids in expected.items()
    }

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(private_ferretdb.url, tz_aware=True)
    want = {
        "ticket.created": len(set(traffic.events)),
        "message.received": len(messages) + len(traffic.chats),
    }
    events = mongo[stack.env["SB_REGISTRY_MONGODB_DATABASE"]]["events"]

    async def answered() -> bool:
        """The AI responder answered every conversation opened, those it consumed while MongoDB was down too."""
        conversations = await events.distinct(
            "partitionkey", {"tenant": tenant.id, "type": "ai.response.generated"}
        )
        return set(conversations) >= set(traffic.chats)

    try:
        logged = await eventually(
            lambda: _equal(projected(mongo, stack, tenant.id), want), timeout_s=120, interval_s=0.5
        )
        await eventually(answered, timeout_s=120, interval_s=0.5)
        logged = await projected(mongo, stack, tenant.id)
    finally:
        await mongo.close()
    for path, webhook in tenant.webhooks.items():
        total = len(expected[path]) + (len(messages) if path == "steady" else 0)

        async def logged_all(webhook: str = webhook, total: int = total) -> bool:
            return await delivery_log_total(stack, tenant.auth, webhook, "succeeded") >= total

        await eventually(logged_all, timeout_s=120, interval_s=0.5)
    projected_in = time.monotonic() - caught_up

    log.warning(
        "mongodb outage %.1f s: readiness 503 after %.1f s, 200 again %.1f s after restart; accepted %d events "
        "(%d during the outage), %d conversations answered by the AI responder, %d bridge messages (%d during); bridge 503s %d (%s); statuses %s; "
        "deliveries %s (%d first arrived during the outage); the last (%s) arrived %.1f s after the restart; complete %.1f s and the registry's "
        "projections %.1f s after the clients stopped; "
        "event log %s",
        outage,
        unready_after,
        ready_after,
        len(traffic.events),
        during[0],
        len(traffic.chats),
        len(messages),
        during[1],
        len(refused),
        f"first {refused[0] - stopped:.1f} s, last {refused[-1] - stopped:.1f} s after the stop",
        dict(traffic.statuses),
        report,
        delivered_during,
        last,
        last_first_arrival,
        delivered_in,
        projected_in,
        logged,
    )


async def _equal(counts: Any, want: dict[str, int]) -> dict[str, int] | None:
    """The counts, once those of ``want``'s types are as wanted (the AI responder's events come on top)."""
    got: dict[str, int] = await counts
    return got if all(got.get(name, 0) == number for name, number in want.items()) else None
