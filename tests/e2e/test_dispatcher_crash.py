"""Zero loss through crashes: 10,000 events to two webhooks while the dispatcher is SIGKILLed twice.

Every (event, webhook) pair must arrive at least once; a duplicate must carry the same ``webhook-id`` as the
original (it is the same delivery). The counts are written to ``.run/crash-test.json`` for the record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.processes import dispatcher_env, free_port
from switchboard_testing.webhooks import Platform, Receiver

from .stack import ROOT, Processes, kill_group, until, wait_ready
from .zero_loss import check, complete, expected_ids, received, subscribe

log = logging.getLogger(__name__)

EVENTS = 10_000
WEBHOOKS = ("w-a", "w-b")


@pytest.mark.timeout(600)
async def test_sigkill_twice_mid_stream_loses_no_delivery(
    make_settings: SettingsFactory, receiver: Receiver, processes: Processes, tmp_path: Path
) -> None:
    settings = make_settings(DispatcherSettings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dispatcher_env(settings, {"crash.test": "127.0.0.1"})
    logs = tmp_path / "dispatcher.log"

    async with Platform(settings) as platform:
        await subscribe(platform, receiver, WEBHOOKS, "crash.test", max_in_flight=32)
        running = processes.start("dispatcher", port, env, logs)
        await wait_ready(url, running)
        started = time.monotonic()
        publishing = asyncio.create_task(
            platform.events("message.created", "acme", [{"n": n} for n in range(EVENTS)])
        )

        kills = []
        for threshold in (int(EVENTS * 2 * 0.2), int(EVENTS * 2 * 0.55)):
            await until(lambda t=threshold: received(receiver) >= t, timeout_s=240)  # type: ignore[misc]
            kill_group(running)
            kills.append(received(receiver))
            running = processes.start("dispatcher", port, env, logs)
            await wait_ready(url, running)
        events = await publishing

        expected = expected_ids(events, WEBHOOKS)
        await until(lambda: complete(receiver, expected), timeout_s=300)
        elapsed = time.monotonic() - started

    report: dict[str, object] = {
        "events": EVENTS,
        "webhooks": len(WEBHOOKS),
        "killed_at_received": kills,
        "seconds": round(elapsed, 1),
    }
    report.update(check(receiver, expected))
    log.warning("crash test: %s", report)
    (ROOT / ".run").mkdir(exist_ok=True)
    (ROOT / ".run" / "crash-test.json").write_text(json.dumps(report, indent=2) + "\n")
