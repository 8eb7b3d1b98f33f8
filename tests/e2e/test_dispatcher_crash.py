"""Zero loss through crashes: 10,000 events to two webhooks while the dispatcher is SIGKILLed twice.

Every (event, webhook) pair must arrive at least once; a duplicate must carry the same ``webhook-id`` as the
original (it is the same delivery). The counts are written to ``.run/crash-test.json`` for the record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path

import pytest

from switchboard_dispatcher.domain.tasks import delivery_id
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_shared.testing.fixtures import SettingsFactory
from switchboard_shared.testing.webhooks import Platform, Receiver

from .stack import ROOT, dispatcher_env, free_port, kill_group, start_service, until, wait_ready

log = logging.getLogger(__name__)

EVENTS = 10_000
WEBHOOKS = ("w-a", "w-b")


@pytest.mark.timeout(600)
async def test_sigkill_twice_mid_stream_loses_no_delivery(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(DispatcherSettings)
    receiver = Receiver()
    await receiver.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dispatcher_env(settings, {"crash.test": "127.0.0.1"})
    logs = tmp_path / "dispatcher.log"
    processes = []

    def total() -> int:
        return sum(len(requests) for requests in receiver.requests.values())

    try:
        async with Platform(settings) as platform:
            for hook in WEBHOOKS:
                await platform.webhook(
                    hook,
                    "acme",
                    receiver.url(hook, host="crash.test"),
                    ["*"],
                    delivery={"max_in_flight": 32, "rate_limit_per_minute": 1_000_000},
                )
            processes.append(start_service("dispatcher", port, env, logs))
            await wait_ready(url)
            started = time.monotonic()
            publishing = asyncio.create_task(
                platform.events("message.created", "acme", [{"n": n} for n in range(EVENTS)])
            )

            kills = []
            for threshold in (int(EVENTS * 2 * 0.2), int(EVENTS * 2 * 0.55)):
                await until(lambda t=threshold: total() >= t, timeout_s=240)  # type: ignore[misc]
                kill_group(processes[-1])
                kills.append(total())
                processes.append(start_service("dispatcher", port, env, logs))
                await wait_ready(url)
            events = await publishing

            expected = {
                hook: {delivery_id(e.source, e.id, "webhook", hook) for e in events} for hook in WEBHOOKS
            }

            def complete() -> bool:
                return all(
                    {r.headers["webhook-id"] for r in receiver.requests[f"/{hook}"]} >= expected[hook]
                    for hook in WEBHOOKS
                )

            await until(complete, timeout_s=300)
            elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                kill_group(process)
        await receiver.stop()

    report: dict[str, object] = {
        "events": EVENTS,
        "webhooks": len(WEBHOOKS),
        "killed_at_received": kills,
        "seconds": round(elapsed, 1),
    }
    for hook in WEBHOOKS:
        requests = receiver.requests[f"/{hook}"]
        counts = Counter(r.headers["webhook-id"] for r in requests)
        duplicates = {key: n for key, n in counts.items() if n > 1}
        # A duplicate is the same delivery: the same webhook-id with the same body.
        bodies: dict[str, set[bytes]] = {}
        for request in requests:
            bodies.setdefault(request.headers["webhook-id"], set()).add(request.body)
        assert all(len(variants) == 1 for variants in bodies.values())
        assert set(counts) == expected[hook]
        report[hook] = {
            "requests": len(requests),
            "distinct": len(counts),
            "duplicates": sum(duplicates.values()) - len(duplicates),
        }
    log.warning("crash test: %s", report)
    (ROOT / ".run").mkdir(exist_ok=True)
    (ROOT / ".run" / "crash-test.json").write_text(json.dumps(report, indent=2) + "\n")
