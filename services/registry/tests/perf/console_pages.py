"""Server time of the console's pages with a delivery log of N deliveries, on a real MongoDB-compatible server.

    uv run python services/registry/tests/perf/console_pages.py 10000

A fresh database: one tenant, one webhook whose log holds N deliveries (one attempt each, one in ten failed,
in each of the last 20 hours), projected the way the consumer does it (``DeliveryLog.record``: attempts and
rollups). Then each page is requested ``ROUNDS`` times in-process (ASGI, no network: what is measured is the
registry's own time) and the median and worst are printed. The target is 200 ms per page (issue #14).
``SB_MONGODB_URL`` picks the server (default: the local FerretDB).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from switchboard_platform.kafka import Consumed
from switchboard_platform.settings import Environment
from switchboard_registry.main import create_app
from switchboard_registry.settings import RegistrySettings
from switchboard_testing.builders import delivery_attempt

ROUNDS = 3
BATCH = 500


async def _seed(app: object, tenant_id: str, webhook_id: str, count: int) -> str:
    log = app.state.deliveries  # type: ignore[attr-defined]
    await log.ensure_indexes()
    start = datetime.now(UTC) - timedelta(hours=20)
    last = ""
    for first in range(0, count, BATCH):
        batch = []
        for index in range(first, min(first + BATCH, count)):
            failed = index % 10 == 0
            attempt = delivery_attempt(
                tenant_id,
                webhook_id,
                outcome="failed" if failed else "succeeded",
                status_code=500 if failed else 200,
                latency_ms=20.0 + index % 80,
                # Every hour of the last 20, in five minutes of each: the charts get 20 points, and the
                # projection writes 120 rollup buckets rather than one per minute (seeding stays quick).
                attempted_at=start + timedelta(hours=index % 20, minutes=index // 20 % 5, milliseconds=index),
            )
            last = attempt.delivery_id
            batch.append((attempt, Consumed(None, "attempts", 0, index)))
        await log.record(batch)
    return last


async def _measure(count: int) -> None:
    database = f"console_pages_{uuid.uuid4().hex[:8]}"
    settings = RegistrySettings(
        environment=Environment.DEVELOPMENT,
        mongodb_database=database,
        mongodb_url=SecretStr(os.environ.get("SB_MONGODB_URL", "mongodb://127.0.0.1:27017/")),
        topic_namespace=f"perf{uuid.uuid4().hex[:6]}.",
    )
    app = create_app(settings)
    tenants = app.state.tenants
    await tenants.ensure_indexes()
    tenant = await tenants.create_tenant("Perf", True)
    key, _ = await tenants.create_key(tenant["_id"], "perf", ["*"])
    webhook = await app.state.webhooks.create(
        tenant["_id"],
        "perf",
        {
            "name": "perf",
            "url": "https://hooks.example.com/h",
            "description": None,
            "events": ["*"],
            "active": True,
            "secret": app.state.services.box.encrypt("whsec_" + "a" * 32),
            "delivery": {},
        },
    )
    try:
        started = time.perf_counter()
        delivery_id = await _seed(app, tenant["_id"], webhook["_id"], count)
        print(f"{count} deliveries projected in {time.perf_counter() - started:.1f} s")  # noqa: T201
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            page = await client.get("/admin/sign-in")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf is not None
            signed = await client.post(
                "/admin/sign-in", data={"csrf_token": csrf.group(1), "credential": key}
            )
            assert signed.status_code == 303, signed.text
            hook = webhook["_id"]
            for path in (
                "/admin/overview",
                "/admin/webhooks",
                f"/admin/webhooks/{hook}",
                f"/admin/deliveries?webhook={hook}",
                f"/admin/deliveries?webhook={hook}&status=failed",
                f"/admin/deliveries?webhook={hook}&page=400",
                f"/admin/webhooks/{hook}/deliveries/{delivery_id}",
                "/admin/integrations",
                # The API routes the delivery-log pages call, for comparison (the same functions, as JSON).
                f"/api/webhooks/{hook}/deliveries",
                f"/api/webhooks/{hook}/deliveries/{delivery_id}",
            ):
                times = []
                headers = {"Authorization": f"Bearer {key}"} if path.startswith("/api/") else {}
                for _ in range(ROUNDS):
                    began = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    times.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                print(  # noqa: T201
                    f"{path:70s} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms"
                )
    finally:
        await app.state.runtime.mongo.drop_database(database)


if __name__ == "__main__":
    for argument in sys.argv[1:] or ["10000"]:
        asyncio.run(_measure(int(argument)))
