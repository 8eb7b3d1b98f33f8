"""Zero loss through a Kafka outage: the broker is stopped mid-stream and restarted; every (event, webhook) pair
still arrives, and a duplicate carries the same ``webhook-id`` and body as the original.

The dispatcher runs as its own process against a private broker (the shared one serves every other test), so
its fan-out, its batching producer and its consumers all live through the outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.kafka_admin import ensure_topics
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.private_kafka import PrivateKafka
from switchboard_testing.processes import dispatcher_env, free_port
from switchboard_testing.webhooks import Platform, Receiver

from .stack import Processes, until, wait_ready
from .zero_loss import check, complete, expected_ids, received, subscribe

log = logging.getLogger(__name__)

EVENTS = 3_000
WEBHOOKS = ("k-a", "k-b")


@pytest.mark.timeout(400)
async def test_a_kafka_restart_mid_stream_loses_no_delivery(
    private_kafka: PrivateKafka,
    make_settings: SettingsFactory,
    namespace: str,
    receiver: Receiver,
    processes: Processes,
    tmp_path: Path,
) -> None:
    await ensure_topics(private_kafka.bootstrap, namespace)
    settings = make_settings(DispatcherSettings, kafka_bootstrap=private_kafka.bootstrap)
    port = free_port()

    async with Platform(settings) as platform:
        # Slow enough that the outage lands mid-stream on this 2-core machine.
        await subscribe(platform, receiver, WEBHOOKS, "outage.test", max_in_flight=4)
        dispatcher = processes.start(
            "dispatcher", port, dispatcher_env(settings, {"outage.test": "127.0.0.1"}), tmp_path / "d.log"
        )
        await wait_ready(f"http://127.0.0.1:{port}", dispatcher)
        events = await platform.events("message.created", "acme", [{"n": n} for n in range(EVENTS)])

    await until(lambda: received(receiver) >= EVENTS * 2 * 0.25, timeout_s=120)
    started = time.monotonic()
    await asyncio.to_thread(private_kafka.stop)
    stopped_at = received(receiver)
    await asyncio.sleep(3)
    await asyncio.to_thread(private_kafka.start)
    log.warning("kafka stopped at %d deliveries, back after %.1f s", stopped_at, time.monotonic() - started)

    expected = expected_ids(events, WEBHOOKS)
    await until(lambda: complete(receiver, expected), timeout_s=240)

    assert stopped_at < EVENTS * 2, "the outage came after everything was delivered; it tested nothing"
    log.warning("kafka restart: %s", check(receiver, expected))
