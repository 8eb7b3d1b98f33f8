"""Zero loss through a Kafka outage: the broker is stopped mid-stream and restarted; every (event, webhook) pair
still arrives, and a duplicate carries the same ``webhook-id`` and body as the original.

The dispatcher runs as its own process against a private broker (the shared one serves every other test), so
its fan-out, its batching producer and its consumers all live through the outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from pathlib import Path

import pytest

from switchboard_dispatcher.domain.tasks import delivery_id
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_shared.kafka_admin import ensure_topics
from switchboard_shared.testing.fixtures import SettingsFactory
from switchboard_shared.testing.private_kafka import PrivateKafka
from switchboard_shared.testing.webhooks import Platform, Receiver

from .stack import dispatcher_env, free_port, kill_group, start_service, until, wait_ready

log = logging.getLogger(__name__)

EVENTS = 3_000
WEBHOOKS = ("k-a", "k-b")


@pytest.mark.timeout(400)
async def test_a_kafka_restart_mid_stream_loses_no_delivery(
    private_kafka: PrivateKafka, make_settings: SettingsFactory, namespace: str, tmp_path: Path
) -> None:
    await ensure_topics(private_kafka.bootstrap, namespace)
    settings = make_settings(DispatcherSettings, kafka_bootstrap=private_kafka.bootstrap)
    receiver = Receiver()
    await receiver.start()
    port = free_port()
    process = None

    def total() -> int:
        return sum(len(requests) for requests in receiver.requests.values())

    try:
        async with Platform(settings) as platform:
            for hook in WEBHOOKS:
                await platform.webhook(
                    hook,
                    "acme",
                    receiver.url(hook, host="outage.test"),
                    ["*"],
                    # Slow enough that the outage lands mid-stream on this 2-core machine.
                    delivery={"max_in_flight": 4, "rate_limit_per_minute": 1_000_000},
                )
            process = start_service(
                "dispatcher", port, dispatcher_env(settings, {"outage.test": "127.0.0.1"}), tmp_path / "d.log"
            )
            await wait_ready(f"http://127.0.0.1:{port}")
            events = await platform.events("message.created", "acme", [{"n": n} for n in range(EVENTS)])

        await until(lambda: total() >= EVENTS * 2 * 0.25, timeout_s=120)
        started = time.monotonic()
        await asyncio.to_thread(private_kafka.stop)
        stopped_at = total()
        await asyncio.sleep(3)
        await asyncio.to_thread(private_kafka.start)
        log.warning(
            "kafka stopped at %d deliveries, back after %.1f s", stopped_at, time.monotonic() - started
        )

        expected = {hook: {delivery_id(e.source, e.id, "webhook", hook) for e in events} for hook in WEBHOOKS}

        def complete() -> bool:
            return all(
                {r.headers["webhook-id"] for r in receiver.requests[f"/{hook}"]} >= expected[hook]
                for hook in WEBHOOKS
            )

        await until(complete, timeout_s=240)
    finally:
        if process is not None and process.poll() is None:
            kill_group(process)
        await receiver.stop()

    assert stopped_at < EVENTS * 2, "the outage came after everything was delivered; it tested nothing"
    for hook in WEBHOOKS:
        bodies: dict[str, set[bytes]] = defaultdict(set)
        for request in receiver.requests[f"/{hook}"]:
            bodies[request.headers["webhook-id"]].add(request.body)
        assert set(bodies) == expected[hook]
        assert all(len(variants) == 1 for variants in bodies.values())
        log.warning(
            "%s: %d requests for %d deliveries", hook, len(receiver.requests[f"/{hook}"]), len(expected[hook])
        )
