"""Two dispatcher replicas split the work: Kafka's consumer groups hand each its share of ``platform.events``
(fan-out) and of the deliveries topic (attempts, by endpoint); together they deliver every (event, webhook)
pair, and each one delivers some of them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from switchboard_contracts.topics import TOPIC_SPECS, Topic
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.kafka_batching import key_hash
from switchboard_testing.fixtures import SettingsFactory
from switchboard_testing.processes import dispatcher_env, free_port
from switchboard_testing.webhooks import Platform, Receiver

from .stack import Processes, until, wait_ready
from .zero_loss import check, complete, expected_ids, subscribe

log = logging.getLogger(__name__)

EVENTS = 2_000
DELIVERY_PARTITIONS = next(spec.partitions for spec in TOPIC_SPECS if spec.topic is Topic.DELIVERIES)


def webhooks_on_distinct_partitions(count: int) -> list[str]:
    """Webhook ids whose tasks land on ``count`` different partitions of the deliveries topic (keyed by
    endpoint), so that each replica's share of partitions has some of them."""
    chosen: dict[int, str] = {}
    n = 0
    while len(chosen) < count:
        hook = f"r-{n}"
        chosen.setdefault(key_hash(f"webhook:{hook}".encode()) % DELIVERY_PARTITIONS, hook)
        n += 1
    return sorted(chosen.values())


async def succeeded_and_fanned_out(url: str) -> tuple[float, float]:
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text

    def total(pattern: str) -> float:
        return sum(float(m.group(1)) for m in re.finditer(pattern, text))

    return (
        total(r'(?m)^dispatcher_deliveries_total\{kind="webhook",outcome="succeeded"\} (\S+)$'),
        total(r'(?m)^dispatcher_events_fanned_out_total\{result="matched"\} (\S+)$'),
    )


@pytest.mark.timeout(300)
async def test_two_replicas_share_the_work_and_deliver_everything(
    make_settings: SettingsFactory, receiver: Receiver, processes: Processes, tmp_path: Path
) -> None:
    settings = make_settings(DispatcherSettings)
    hooks = webhooks_on_distinct_partitions(DELIVERY_PARTITIONS)
    env = dispatcher_env(settings, {"replicas.test": "127.0.0.1"})
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    async with Platform(settings) as platform:
        await subscribe(platform, receiver, hooks, "replicas.test", max_in_flight=16)
        started = [
            processes.start("dispatcher", port, env, tmp_path / f"dispatcher-{index}.log")
            for index, port in enumerate(ports)
        ]
        for url, process in zip(urls, started, strict=True):
            await wait_ready(url, process)
        events = await platform.events("message.created", "acme", [{"n": n} for n in range(EVENTS)])
    expected = expected_ids(events, hooks)
    await until(lambda: complete(receiver, expected), timeout_s=180)
    shares = [await succeeded_and_fanned_out(url) for url in urls]

    report = check(receiver, expected)
    log.warning("two replicas: %s, (succeeded, events fanned out) per replica: %s", report, shares)
    assert all(succeeded > 0 and fanned_out > 0 for succeeded, fanned_out in shares), shares
    assert sum(succeeded for succeeded, _ in shares) >= EVENTS * len(hooks)
