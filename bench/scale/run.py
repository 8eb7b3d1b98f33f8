"""The scale benchmark (``make bench BENCH=scale``): what the work costs as it grows.

Phases (``--phases``; each says what its numbers cover):

1. **registry** — the registry alone (its own uvicorn process on the shared Kafka and FerretDB, in the run's
   namespace and database) creating ``--registry-webhooks`` webhooks through ``POST /api/webhooks`` over
   ``--registry-tenants`` tenants, 8 concurrent clients: webhooks/s per block of 100 as the collection grows,
   and the config records it published (counted on the config topic).
2. **config** — for each of ``--sizes`` (1k / 10k / 100k) webhooks over ``--tenants`` tenants, generated config
   records in the registry's record format (``ChangeRelay.publish``: a ``config.changed`` CloudEvent, full state
   keyed ``webhook:<id>``, the secret encrypted) written straight to a namespaced compacted config topic — the
   registry's API would take far too long for 100k (phase 1 measures its rate). Then:
   the dispatcher's ``ConfigFollower`` + ``ConfigView`` alone in a child process (``bench.scale.follow``):
   start → caught up, RSS before / caught up / every target resolved; and the real dispatcher (uvicorn,
   ``create_app``) on that namespace: spawn → ``/readyz`` 200, and its RSS then (``0`` is the empty baseline).
3. **fanout** — in-process, on a ``ConfigView`` holding ``--background`` webhooks over ``--tenants`` tenants plus
   one tenant per case with 1 / 100 / 1,000 matching webhooks (and one with 1 match among 1,000): CPU µs per
   event of ``tasks_for`` + encoding every task (``task_json``, the bytes ``HotPathProducer.tasks`` writes),
   steady and right after an unrelated config change; the ``delivery.*`` path after a change. Then end to end
   through Kafka: events on a namespaced ``platform.events``, the dispatcher's ``FanOut`` + ``HotPathProducer``
   in this process draining them: tasks/s acknowledged, CPU µs per task (this process) and of Kafka, and the
   deliveries topic's bytes on disk per task.
4. **storage** — the registry's own projection code (``DeliveryLog.record``, ``EventLog.record_many``) into a
   namespaced database on the shared FerretDB: ``--attempts`` attempts and ``--events`` ≈1 KB events;
   ``dbStats`` / ``collStats`` and the growth of FerretDB's SQLite files, per document; what 30 days of delivery
   log and 7 days of topics hold per million deliveries a day.

5. **replicas** — 1, then 2 dispatcher processes (``create_app`` under uvicorn) in one consumer group on the shared
   Kafka, 2,500 events to 6 webhooks (one per deliveries partition) delivered to ``bench/dispatch``'s verifying
   receiver: deliveries/s, each replica's share, and the CPU per delivery of all replicas together. On 2 cores
   shared with the receiver and Kafka this checks that the work splits and its cost per delivery stays flat,
   not that throughput doubles.

Everything runs on loopback, in namespaces and databases the run deletes. Results:
``bench/results/scale-<UTC date-time>.json``.

    uv run python -m bench.scale.run --help
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (python bench/scale/run.py): make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import signal
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import bson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr
from pymongo import AsyncMongoClient

from bench.common import (
    BENCH_HOST,
    drop_run,
    infra_pid,
    infrastructure,
    log,
    ready_port,
    replace_between_markers,
    spawn,
    stop,
)
from bench.dispatch.common import EVENT_TYPE, cpu_seconds, event_data
from bench.dispatch.run import (
    BENCH_DELIVERY,
    EventPublisher,
    ReceiverClient,
    dispatcher,
    dispatcher_metrics,
    git_state,
    machine,
    wait_ready,
)
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import ConfigChanged, WebhookConfig
from switchboard_contracts.events import DeliveryAttempt, EventType
from switchboard_contracts.signing import generate_secret
from switchboard_contracts.topics import TOPIC_SPECS, Topic
from switchboard_dispatcher.adapters.producer import HotPathProducer
from switchboard_dispatcher.domain.decisions import AttemptResult, Succeeded
from switchboard_dispatcher.domain.policy import Outcome, Verdict
from switchboard_dispatcher.domain.records import attempt_event, attempt_record
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask, delivery_id, task_json
from switchboard_dispatcher.fanout import FanOut, tasks_for
from switchboard_dispatcher.main import stage_consumer
from switchboard_dispatcher.metrics import DispatcherMetrics
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_dispatcher.view import ConfigView
from switchboard_platform.consumers import reached_end
from switchboard_platform.kafka_admin import ensure_topics
from switchboard_platform.kafka_batching import key_hash
from switchboard_platform.secrets_box import SecretsBox
from switchboard_platform.settings import Environment, ServiceSettings
from switchboard_registry.adapters.deliveries import DeliveryLog
from switchboard_registry.adapters.event_log import EventLog
from switchboard_registry.domain.deliveries import parse_attempt
from switchboard_testing.processes import free_port
from switchboard_testing.webhooks import Platform

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
MARK_START = "<!-- scale-results:start -->"
MARK_END = "<!-- scale-results:end -->"
REGISTRY_SOURCE = "/switchboard/registry"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"  # noqa: S105 (a throwaway token of a loopback-only run)
#: The topics the fan-out case needs (the others are not created for it).
FANOUT_TOPICS = tuple(spec for spec in TOPIC_SPECS if spec.topic in (Topic.PLATFORM_EVENTS, Topic.DELIVERIES))
#: What the generated webhooks subscribe to (the background tenants never match the fan-out cases' type).
BACKGROUND_FILTERS = (["ticket.*"], ["conversation.created", "ticket.escalated"], ["*"], ["message.replied"])


def test_box() -> SecretsBox:
    """The secrets box of ``SB_ENVIRONMENT=test``: what the dispatcher processes and the follower decrypt with."""
    return ServiceSettings(environment=Environment.TEST).secrets_box()


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# -- config records in the registry's format ---------------------------------------------------------------------


def webhook_record(
    index: int,
    tenant: str,
    secret: str,
    events: list[str],
    now: datetime,
    delivery: dict[str, Any] | None = None,
) -> WebhookConfig:
    """A webhook's record as the registry publishes it (``webhook_record`` of its document)."""
    return WebhookConfig.model_validate(
        {
            "id": f"wh_{index:08d}{uuid.uuid4().hex[:16]}",
            "tenant_id": tenant,
            "version": 1,
            "createdBy": f"key_{tenant}",
            "createdAt": now,
            "updatedAt": now,
            "name": f"endpoint {index}",
            "url": f"https://hooks.example.com/{tenant}/endpoint-{index}",
            "events": events,
            "secret": secret,
            "delivery": delivery
            or {
                "timeout_seconds": 30,
                "retry_schedule": [5, 300, 1800, 7200, 18000, 36000, 36000],
                "max_in_flight": 10,
                "rate_limit_per_minute": 600,
                "ordered": False,
            },
        }
    )


def config_record(record: WebhookConfig) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of the Kafka record ``ChangeRelay.publish`` writes for ``record``."""
    key = f"webhook:{record.id}"
    event = CloudEvent(
        source=REGISTRY_SOURCE,
        type=EventType.CONFIG_CHANGED,
        subject=key,
        tenant=record.tenant_id,
        partitionkey=key,
        data=ConfigChanged(
            entity="webhook",
            entity_id=record.id,
            tenant_id=record.tenant_id,
            version=record.version,
            state=record,
        ),
        extensions={"entity": "webhook", "version": str(record.version)},
    )
    return key.encode(), event.kafka_value(), event.kafka_header_list()


def generated_webhooks(box: SecretsBox, count: int, tenants: int, prefix: str = "t") -> list[WebhookConfig]:
    """``count`` webhooks spread over ``tenants`` tenants, each with its own encrypted secret."""
    now = datetime.now(UTC)
    return [
        webhook_record(
            i,
            f"{prefix}{i % tenants:05d}",
            box.encrypt(generate_secret()),
            BACKGROUND_FILTERS[(i // tenants) % len(BACKGROUND_FILTERS)],
            now,
        )
        for i in range(count)
    ]


async def produce(
    bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
) -> dict[str, float]:
    """Write ``records`` (acks=all, batched) and wait for every acknowledgement; returns count, bytes, rate."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures, size = [], 0
        for key, value, headers in records:
            size += len(value)
            futures.append(await producer.send(topic, value, key=key, headers=headers))
            if len(futures) % 5000 == 0:
                await asyncio.gather(*futures[-5000:])
        await asyncio.gather(*futures)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
    return {
        "records": len(futures),
        "value_bytes_mean": round(size / max(len(futures), 1), 1),
        "seconds": round(seconds, 3),
        "records_per_s": round(len(futures) / seconds, 1),
    }


# -- phase 1: the registry's own rate ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def service_process(
    app: str, env: dict[str, str], http: aiohttp.ClientSession, logs: Path, timeout_s: float = 120
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int, float]]:
    """One service in its own uvicorn process; yields (process, port, seconds from spawn to ``/readyz`` 200)."""
    port = free_port()
    serve = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port)]
    started = time.perf_counter()
    process = await spawn([*serve, "--log-level", "warning"], logs / f"{app.split('.')[0]}.log", env=env)
    try:
        await wait_ready(http, port, process, timeout_s)
        yield process, port, time.perf_counter() - started
    finally:
        await stop(process, signal.SIGINT)


def service_env(
    bootstrap: str, mongodb_url: str, namespace: str, databases: dict[str, str]
) -> dict[str, str]:
    return {
        **os.environ,
        "SB_ENVIRONMENT": "test",
        "SB_KAFKA_BOOTSTRAP": bootstrap,
        "SB_MONGODB_URL": mongodb_url,
        "SB_TOPIC_NAMESPACE": namespace,
        "SB_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
        **databases,
    }


async def api(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    async with http.request(method, url, **kwargs) as response:
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status} {await response.text()}")
        body: dict[str, Any] = await response.json()
        return body


async def count_records(bootstrap: str, topic: str, prefix: bytes) -> tuple[int, int]:
    """(records whose key starts with ``prefix``, bytes of their values) on ``topic``, read from the start."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    count = size = 0
    end: dict[TopicPartition, int] | None = None
    try:
        while True:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    if (record.key or b"").startswith(prefix):
                        count += 1
                        size += len(record.value or b"")
            if end is None and consumer.assignment():
                end = await consumer.end_offsets(list(consumer.assignment()))
            if end is not None and await reached_end(consumer, end):
                return count, size
    finally:
        await consumer.stop()


async def registry_phase(
    args: argparse.Namespace, bootstrap: str, mongodb_url: str, namespace: str, logs: Path
) -> dict[str, Any]:
    database = f"bench_{args.run_id}_scale_registry_api"
    env = service_env(bootstrap, mongodb_url, namespace, {"SB_REGISTRY_MONGODB_DATABASE": database})
    env["SB_REGISTRY_ALLOW_LOOPBACK_URLS"] = "true"  # development-mode tenants may register loopback URLs
    await ensure_topics(bootstrap, namespace)
    try:
        return await registry_run(args, bootstrap, namespace, env, logs)
    finally:
        await drop_run(bootstrap, mongodb_url, namespace, [database])


async def registry_run(
    args: argparse.Namespace, bootstrap: str, namespace: str, env: dict[str, str], logs: Path
) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        service_process("switchboard_registry.main:create_app", env, http, logs) as (process, port, _),
    ):
        url = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        keys = []
        for n in range(args.registry_tenants):
            body = {"name": f"scale {n}", "development_mode": True}
            tenant = (await api(http, "POST", f"{url}/api/admin/tenants", headers=admin, json=body))["data"][
                "id"
            ]
            key = await api(
                http, "POST", f"{url}/api/admin/tenants/{tenant}/api-keys", headers=admin, json={"name": "b"}
            )
            keys.append({"Authorization": f"Bearer {key['data']['key']}"})
        total = args.registry_webhooks
        blocks: list[dict[str, float]] = []
        cpu_before = cpu_seconds(process.pid) or 0.0
        ferret = infra_pid("ferretdb")
        ferret_before = cpu_seconds(ferret) if ferret else None
        started = time.perf_counter()
        for block_start in range(0, total, 100):
            block = range(block_start, min(block_start + 100, total))
            queue = list(block)
            t0 = time.perf_counter()

            async def client(queue: list[int] = queue) -> None:
                while queue:
                    i = queue.pop()
                    body = {
                        "name": f"endpoint {i}",
                        "url": f"http://127.0.0.1:9/hooks/{i}",
                        "events": BACKGROUND_FILTERS[i % len(BACKGROUND_FILTERS)],
                    }
                    await api(http, "POST", f"{url}/api/webhooks", headers=keys[i % len(keys)], json=body)

            await asyncio.gather(*(client() for _ in range(8)))
            seconds = time.perf_counter() - t0
            blocks.append({"stored_before": block_start, "webhooks_per_s": round(len(block) / seconds, 1)})
        wall = time.perf_counter() - started
        registry_cpu = (cpu_seconds(process.pid) or 0.0) - cpu_before
        ferret_cpu = (
            (cpu_seconds(ferret) or 0.0) - ferret_before if ferret and ferret_before is not None else None
        )
    published, size = await count_records(bootstrap, f"{namespace}{Topic.CONFIG.value}", b"webhook:")
    return {
        "covers": "POST /api/webhooks on the registry process (HTTP, URL check, insert, outbox publish to Kafka, "
        "outbox clear) by 8 concurrent clients; FerretDB shared",
        "tenants": args.registry_tenants,
        "webhooks": total,
        "seconds": round(wall, 2),
        "webhooks_per_s": round(total / wall, 1),
        "per_block_of_100": blocks,
        "config_records_published": published,
        "config_record_bytes_mean": round(size / max(published, 1), 1),
        "registry_cpu_us_per_webhook": round(registry_cpu / total * 1e6),
        "ferretdb_cpu_us_per_webhook": round(ferret_cpu / total * 1e6) if ferret_cpu is not None else None,
    }


# -- phase 2: config catch-up and memory -------------------------------------------------------------------------


async def follow_child(bootstrap: str, topic: str, logs: Path) -> dict[str, Any]:
    process = await spawn(
        [sys.executable, "-m", "bench.scale.follow", f"--bootstrap={bootstrap}", f"--topic={topic}"],
        logs / "follow.log",
        stdout_pipe=True,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 900)
    await process.wait()
    if not line:
        raise RuntimeError(f"bench.scale.follow printed nothing; see {logs / 'follow.log'}")
    result: dict[str, Any] = json.loads(line)
    return result


async def config_phase(
    args: argparse.Namespace, bootstrap: str, mongodb_url: str, base: str, logs: Path
) -> list[dict[str, Any]]:
    box = test_box()
    rows = []
    for size in (0, *args.sizes):
        namespace = f"{base}n{size}."
        database = f"bench_{args.run_id}_scale_dispatcher"
        await ensure_topics(bootstrap, namespace)
        row: dict[str, Any] = {"webhooks": size, "tenants": min(size, args.tenants)}
        try:
            if size:
                log(f"config: generating {size:,} webhooks over {row['tenants']:,} tenants")
                records = [config_record(record) for record in generated_webhooks(box, size, args.tenants)]
                row["written"] = await produce(bootstrap, f"{namespace}{Topic.CONFIG.value}", records)
                del records
                gc.collect()
                log(f"config: {row['written']['records_per_s']:,.0f} records/s written; following them")
                row["follower"] = await follow_child(bootstrap, f"{namespace}{Topic.CONFIG.value}", logs)
            env = service_env(bootstrap, mongodb_url, namespace, {"SB_DISPATCHER_MONGODB_DATABASE": database})
            env["SB_CONFIG_CATCH_UP_TIMEOUT_S"] = "900"
            async with (
                aiohttp.ClientSession() as http,
                service_process("switchboard_dispatcher.main:create_app", env, http, logs, 900) as (
                    process,
                    _,
                    ready_s,
                ),
            ):
                await asyncio.sleep(1.0)
                row["dispatcher"] = {"ready_s": round(ready_s, 2), "rss_mib": rss_mib(process.pid)}
            log(f"config: {size:,} webhooks → {json.dumps(row.get('follower', {}))} {row['dispatcher']}")
        finally:
            await drop_run(bootstrap, mongodb_url, namespace, [database])
        rows.append(row)
    return rows


# -- phase 3: fan-out --------------------------------------------------------------------------------------------


@dataclass
class FanoutCase:
    name: str
    tenant: str
    matching: int
    others: int = 0


def fanout_cases(sizes: Iterable[int]) -> list[FanoutCase]:
    cases = [FanoutCase(f"{m} matching", f"hot-{m}", m) for m in sizes]
    cases.append(FanoutCase("1 matching among 1,000", "mixed-1000", 1, 999))
    return cases


def hot_view(box: SecretsBox, background: int, tenants: int, cases: list[FanoutCase]) -> ConfigView:
    view = ConfigView(box)
    for record in generated_webhooks(box, background, tenants):
        view.apply("webhook", record.id, 1, record)
    now = datetime.now(UTC)
    delivery = {"max_in_flight": 64, "rate_limit_per_minute": 1_000_000}
    for case in cases:
        for i in range(case.matching + case.others):
            events = [EVENT_TYPE] if i < case.matching else ["ticket.created"]
            record = webhook_record(i, case.tenant, box.encrypt(generate_secret()), events, now, delivery)
            view.apply("webhook", record.id, 1, record)
    return view


def change_unrelated(view: ConfigView, webhook_id: str, version: int) -> None:
    """A config change to another tenant's webhook: the same record again at a higher version."""
    record = view.webhooks.records[webhook_id].model_copy(update={"version": version})
    view.apply("webhook", webhook_id, version, record)


def an_event(tenant: str, seq: int = 0) -> CloudEvent:
    return CloudEvent(
        source="//bench/scale",
        type=EVENT_TYPE,
        tenant=tenant,
        partitionkey=f"conv-{seq % 64}",
        data=event_data(seq, "scale", time.time(), 1024),
    )


def encode(tasks: list[DeliveryTask]) -> list[tuple[bytes, bytes]]:
    """What ``HotPathProducer.tasks`` hands to the batching producer."""
    return [(task.key.encode(), task_json(task)) for task in tasks]


def cpu_us(fn: Callable[[], object], repeat: int) -> float:
    """CPU µs per call: the best of three runs of ``repeat`` calls."""
    fn()
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(repeat):
            fn()
        best = min(best, time.process_time() - started)
    return best / repeat * 1e6


def in_process_fanout(view: ConfigView, cases: list[FanoutCase]) -> list[dict[str, Any]]:
    rows = []
    tenants = {case.tenant for case in cases}
    unrelated = next(record.id for record in view.webhooks if record.tenant_id not in tenants)
    for case in cases:
        event = an_event(case.tenant)
        tasks = tasks_for(view, event)
        assert len(tasks) == case.matching, (case, len(tasks))
        repeat = max(10, 20_000 // (case.matching + case.others))
        match_us = cpu_us(functools.partial(tasks_for, view, event), repeat)
        total_us = cpu_us(lambda: encode(tasks_for(view, event)), repeat)  # noqa: B023 - called right here
        after_change = []
        for version in range(2, 7):
            change_unrelated(view, unrelated, 10 * version)
            started = time.process_time()
            encode(tasks_for(view, event))
            after_change.append((time.process_time() - started) * 1e6)
        rows.append(
            {
                "case": case.name,
                "matching": case.matching,
                "webhooks_in_tenant": case.matching + case.others,
                "tasks_for_us_per_event": round(match_us, 1),
                "tasks_for_and_encoding_us_per_event": round(total_us, 1),
                "us_per_task": round(total_us / case.matching, 2),
                "first_event_after_a_config_change_us": round(statistics.median(after_change), 1),
                "task_bytes": len(encode(tasks)[0][1]),
            }
        )
        log(f"fanout: {rows[-1]}")
    return rows


def a_success(tenant: str, endpoint: str = "wh_0") -> DeliveryAttempt:
    """One successful first attempt, as the engine records it (a short JSON answer from the endpoint)."""
    event = CloudEvent(source="//bench/scale", type=EVENT_TYPE, tenant=tenant, data={})
    task = DeliveryTask(
        delivery_id=delivery_id(event.source, event.id, "webhook", endpoint),
        tenant_id=tenant,
        endpoint_kind="webhook",
        endpoint_id=endpoint,
        event=event.structured(),
    )
    target = Target(
        kind="webhook", id=endpoint, tenant_id=tenant, url=f"https://hooks.example.com/{tenant}/{endpoint}"
    )
    result = AttemptResult(
        Outcome(Verdict.SUCCESS), status=200, response_body='{"received":true}', latency_ms=12.5
    )
    return attempt_record(task, event, target, datetime.now(UTC), result, Succeeded())


def delivery_event_path(view: ConfigView, tenant: str) -> dict[str, float]:
    """CPU of ``targets_for`` for one ``delivery.*`` event (the engine hands every attempt to it), steady and
    as the first after a config change (which makes the view recompute who subscribes to them)."""
    event = attempt_event(a_success(tenant))
    steady = cpu_us(lambda: view.targets_for(event), 2000)
    unrelated = next(iter(view.webhooks.records))
    after = []
    for version in range(2, 7):
        change_unrelated(view, unrelated, 100 * version)
        started = time.process_time()
        view.targets_for(event)
        after.append((time.process_time() - started) * 1e6)
    return {
        "steady_us": round(steady, 2),
        "first_after_a_config_change_us": round(statistics.median(after), 1),
    }


def kafka_topic_bytes(topic: str) -> int | None:
    """Bytes of ``topic``'s log segments on the local broker's disk (its ``log.dirs``), or None."""
    pid = infra_pid("kafka")
    if pid is None:
        return None
    try:
        properties = Path(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2].decode())
        dirs = next(
            line.split("=", 1)[1].strip()
            for line in properties.read_text().splitlines()
            if line.startswith("log.dirs=")
        )
    except (OSError, StopIteration, IndexError):
        return None
    total = 0
    for log_dir in dirs.split(","):
        for partition in Path(log_dir).glob(f"{topic}-*"):
            total += sum(path.stat().st_size for path in partition.glob("*.log"))
    return total


async def end_to_end_fanout(
    args: argparse.Namespace, view: ConfigView, case: FanoutCase, bootstrap: str, namespace: str
) -> dict[str, Any]:
    """``FanOut`` + ``HotPathProducer`` in this process draining a backlog of events on ``platform.events``."""
    settings = DispatcherSettings(
        kafka_bootstrap=bootstrap, topic_namespace=namespace, environment=Environment.TEST
    )
    await ensure_topics(bootstrap, namespace, FANOUT_TOPICS)
    events = max(args.tasks // case.matching, 20)
    published = await produce(
        bootstrap,
        settings.topic(Topic.PLATFORM_EVENTS),
        (
            (event.kafka_key(), event.kafka_value(), event.kafka_header_list())
            for event in (an_event(case.tenant, seq) for seq in range(events))
        ),
    )
    expected = events * case.matching
    hot = HotPathProducer(settings)
    await hot.start()
    written = 0
    done = asyncio.Event()

    async def publish(tasks: list[DeliveryTask]) -> None:
        nonlocal written
        await hot.tasks(tasks)
        written += len(tasks)
        if written >= expected:
            done.set()

    fanout = FanOut(
        consumer=stage_consumer(settings, Topic.PLATFORM_EVENTS, "fanout"),
        view=view,
        publish=publish,
        metrics=DispatcherMetrics(),
    )
    kafka = infra_pid("kafka")
    kafka_before = cpu_seconds(kafka) if kafka else None
    cpu, wall = time.process_time(), time.perf_counter()
    await fanout.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
        seconds = time.perf_counter() - wall
        process_cpu = time.process_time() - cpu
        kafka_cpu = (cpu_seconds(kafka) or 0.0) - kafka_before if kafka and kafka_before is not None else None
    finally:
        await fanout.stop()
        await hot.stop()
    on_disk = kafka_topic_bytes(settings.topic(Topic.DELIVERIES))
    return {
        "events": events,
        "events_written_per_s": published["records_per_s"],
        "tasks": written,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds, 1),
        "tasks_per_s": round(written / seconds, 1),
        "process_cpu_us_per_task": round(process_cpu / written * 1e6, 1),
        "kafka_cpu_us_per_task": round(kafka_cpu / written * 1e6, 1) if kafka_cpu is not None else None,
        "deliveries_topic_bytes_on_disk_per_task": round(on_disk / written, 1) if on_disk else None,
    }


async def fanout_phase(
    args: argparse.Namespace, bootstrap: str, mongodb_url: str, base: str
) -> dict[str, Any]:
    box = test_box()
    cases = fanout_cases(args.fanout)
    log(f"fanout: a view of {args.background:,} webhooks over {args.tenants:,} tenants plus the cases")
    view = hot_view(box, args.background, args.tenants, cases)
    out: dict[str, Any] = {
        "background_webhooks": args.background,
        "tenants": args.tenants,
        "in_process": in_process_fanout(view, cases),
        "delivery_event_path": delivery_event_path(view, "t00000"),
        "end_to_end": [],
    }
    log(f"fanout: delivery.* path {out['delivery_event_path']}")
    for case in cases[: len(args.fanout)]:
        namespace = f"{base}f{case.matching}."
        try:
            row = {"case": case.name, **await end_to_end_fanout(args, view, case, bootstrap, namespace)}
        finally:
            await drop_run(bootstrap, mongodb_url, namespace, [])
        out["end_to_end"].append(row)
        log(f"fanout end to end: {row}")
    return out


# -- phase 4: storage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int


def ferretdb_files(database: str) -> int | None:
    """Bytes of FerretDB's SQLite files for ``database`` (main file and write-ahead log), or None."""
    pid = infra_pid("ferretdb")
    if pid is None:
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return None
    url = next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--sqlite-url=")), None)
    if url is None:
        return None
    directory = Path(url.removeprefix("file:"))
    files = [directory / f"{database}.sqlite", directory / f"{database}.sqlite-wal"]
    return sum(path.stat().st_size for path in files if path.exists())


async def sizes(database: Any, names: Iterable[str]) -> dict[str, dict[str, int]]:
    out = {}
    for name in names:
        try:
            stats = await database.command("collStats", name)
        except Exception as exc:  # a server without collStats: the file sizes still say it
            log(f"collStats {name}: {exc}")
            continue
        out[name] = {
            "count": int(stats.get("count", 0)),
            "size": int(stats.get("size", 0)),
            "indexes": int(stats.get("totalIndexSize", 0)),
        }
    return out


#: The delivery log's collections (one attempt is part of a chunk or head, plus a locator per delivery).
DELIVERY_LOG = ("delivery_heads", "delivery_chunks", "delivery_locators")


async def storage_phase(args: argparse.Namespace, mongodb_url: str) -> dict[str, Any]:
    name = f"bench_{args.run_id}_scale_storage"
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    database = mongo[name]
    try:
        deliveries = DeliveryLog(database)
        await deliveries.ensure_indexes()
        events = EventLog(database["events"])
        await events.ensure_indexes()
        files_before = ferretdb_files(name)
        endpoints = [(f"t{n % 50:05d}", f"wh_{n:08d}") for n in range(args.endpoints)]
        offsets = [0] * 6
        batch: list[Any] = []
        attempt_batches: list[float] = []
        event_batches: list[float] = []
        for n in range(args.attempts):
            tenant, endpoint = endpoints[n % len(endpoints)]
            partition = n % 6
            recorded = attempt_event(a_success(tenant, endpoint)).structured()
            attempt = parse_attempt(CloudEvent.from_structured(recorded))
            batch.append((attempt, Position("attempts", partition, offsets[partition])))
            offsets[partition] += 1
            if len(batch) == 1000 or n == args.attempts - 1:
                started = time.perf_counter()
                await deliveries.record(batch)
                attempt_batches.append(round(time.perf_counter() - started, 2))
                batch = []
        for start in range(0, args.events, 1000):
            chunk = [
                (an_event(f"t{seq % 50:05d}", seq), Position("events", seq % 6, seq))
                for seq in range(start, min(start + 1000, args.events))
            ]
            started = time.perf_counter()
            await events.record_many(chunk)
            event_batches.append(round(time.perf_counter() - started, 2))
        names = [*DELIVERY_LOG, "delivery_rollups", "events"]
        collections = await sizes(database, names)
        # What MongoDB itself would store (before its block compression): the documents' BSON sizes.
        bson_sizes = {}
        for collection in names:
            encoded = [len(bson.encode(doc)) async for doc in database[collection].find().limit(2000)]
            bson_sizes[collection] = round(statistics.fmean(encoded)) if encoded else None
        # The delivery log keeps many deliveries to a document: its BSON per attempt is the whole log's.
        log_bson = 0
        for collection in DELIVERY_LOG:
            log_bson += sum([len(bson.encode(doc)) async for doc in database[collection].find()])
        bson_sizes["delivery_log_per_attempt"] = round(log_bson / max(args.attempts, 1))
        try:
            db_stats = await database.command("dbStats")
        except Exception as exc:  # optional, as collStats
            log(f"dbStats: {exc}")
            db_stats = {}
        files_after = ferretdb_files(name)
    finally:
        await mongo.drop_database(name)
        await mongo.close()
    per_attempt = per_event = None
    if all(name in collections for name in DELIVERY_LOG):
        used = sum(collections[name]["size"] + collections[name]["indexes"] for name in DELIVERY_LOG)
        per_attempt = round(used / max(args.attempts, 1), 1)
    if "events" in collections:
        c = collections["events"]
        per_event = round((c["size"] + c["indexes"]) / max(c["count"], 1), 1)
    files = files_after - files_before if files_after is not None and files_before is not None else None
    return {
        "covers": "the registry's DeliveryLog.record and EventLog.record_many (batches of 1,000) into a database "
        "on the shared FerretDB v1 (SQLite); collStats sizes include each collection's indexes",
        "attempts": args.attempts,
        "events": args.events,
        "endpoints": args.endpoints,
        "collections": collections,
        "db_stats": {key: db_stats.get(key) for key in ("objects", "dataSize", "indexSize", "totalSize")},
        "seconds_per_batch_of_1000": {"attempts": attempt_batches, "events": event_batches},
        "bson_bytes_per_document": bson_sizes,
        "record_bytes": record_sizes(),
        "bytes_per_attempt": per_attempt,
        "bytes_per_event": per_event,
        "sqlite_file_growth_bytes": files,
        "sqlite_bytes_per_document": round(files / (args.attempts + args.events), 1) if files else None,
    }


def record_sizes() -> dict[str, int]:
    """Bytes of one record of each kind a delivery makes on Kafka (key + value + header names and values)."""

    def size(key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> int:
        return len(key or b"") + len(value) + sum(len(name) + len(raw) for name, raw in headers)

    event = an_event("t00000")
    task = tasks_for(hot_view(test_box(), 0, 1, [FanoutCase("1", "t00000", 1)]), event)[0]
    attempt = attempt_event(a_success("t00000"))
    return {
        "event": size(event.kafka_key(), event.kafka_value(), event.kafka_header_list()),
        "task": size(task.key.encode(), task_json(task), []),
        "attempt": size(attempt.kafka_key(), attempt.kafka_value(), attempt.kafka_header_list()),
    }


def retention(result: dict[str, Any]) -> dict[str, Any]:
    """What 1M deliveries a day keep: 30 days of delivery log (one attempt per delivery; the TTL index where
    the server has one), the event log (no expiry: it grows), and 7 days of topics (an event, a task and an
    attempt record per delivery at fan-out 1, ~50 bytes of batch overhead each, replication factor 3)."""
    storage = result.get("storage") or {}
    out: dict[str, Any] = {"deliveries_per_day": 1_000_000}
    stored = {"ferretdb": (storage.get("bytes_per_attempt"), storage.get("bytes_per_event"))}
    bson_sizes = storage.get("bson_bytes_per_document") or {}
    stored["mongodb_bson_uncompressed"] = (
        bson_sizes.get("delivery_log_per_attempt"),
        bson_sizes.get("events"),
    )
    for server, (attempt, event) in stored.items():
        if attempt:
            out[f"delivery_log_30_days_gb_{server}"] = round(attempt * 30e6 / 1e9, 1)
        if event:
            out[f"event_log_per_year_gb_{server}_fanout_1_and_4"] = [
                round(event * 365e6 / k / 1e9) for k in (1, 4)
            ]
    records = storage.get("record_bytes")
    if records:
        per_delivery = records["event"] + records["task"] + records["attempt"] + 3 * 50
        out["topic_bytes_per_delivery"] = per_delivery
        out["topics_7_days_gb_replication_3"] = round(per_delivery * 7e6 * 3 / 1e9, 1)
    return out


# -- phase 5: one and two dispatcher replicas -------------------------------------------------------------------


def hooks_on_distinct_partitions(count: int) -> list[str]:
    """Webhook ids whose tasks land on ``count`` different partitions of the deliveries topic (keyed by
    endpoint), so that every replica's share of the partitions has some of them."""
    partitions = next(spec.partitions for spec in TOPIC_SPECS if spec.topic is Topic.DELIVERIES)
    chosen: dict[int, str] = {}
    n = 0
    while len(chosen) < min(count, partitions):
        chosen.setdefault(key_hash(f"webhook:rep-{n}".encode()) % partitions, f"rep-{n}")
        n += 1
    return sorted(chosen.values())


async def succeeded(http: aiohttp.ClientSession, port: int) -> float:
    """Webhook deliveries that succeeded so far, from one dispatcher's ``/metrics``."""
    counters = await dispatcher_metrics(http, port)
    return sum(
        value
        for name, value in counters.items()
        if name.startswith("dispatcher_deliveries_total") and "succeeded" in name
    )


async def replicas_phase(
    args: argparse.Namespace, bootstrap: str, mongodb_url: str, namespace: str, logs: Path
) -> list[dict[str, Any]]:
    """``--replicas`` dispatcher processes in one consumer group on the shared Kafka, each count in turn: the
    same burst of events to 6 webhooks (one per deliveries partition), delivered to the verifying receiver of
    ``bench/dispatch``. Deliveries/s, each replica's share and the CPU per delivery of all of them together."""
    settings = DispatcherSettings(
        environment=Environment.TEST,
        kafka_bootstrap=bootstrap,
        mongodb_url=SecretStr(mongodb_url),
        topic_namespace=namespace,
        mongodb_database=f"bench_{args.run_id}_scale_replicas",
        allow_loopback_urls=True,
    )
    hooks = hooks_on_distinct_partitions(6)
    secrets = {hook: generate_secret() for hook in hooks}
    secrets_file = logs / "receiver-secrets.json"
    secrets_file.write_text(json.dumps({f"/hooks/{hook}": secret for hook, secret in secrets.items()}))
    secrets_file.chmod(0o600)
    receiver_process = await spawn(
        [sys.executable, "-m", "bench.dispatch.receiver", f"--secrets={secrets_file}", "--max-seconds=1800"],
        logs / "receiver.log",
        stdout_pipe=True,
    )
    rows = []
    try:
        port = await ready_port(receiver_process, logs / "receiver.log")
        await ensure_topics(bootstrap, namespace)
        async with Platform(settings) as platform:
            for hook in hooks:
                url = f"http://{BENCH_HOST}:{port}/hooks/{hook}"
                await platform.webhook(
                    hook, "bench-rep", url, [EVENT_TYPE], secret=secrets[hook], delivery=BENCH_DELIVERY
                )
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            receiver = ReceiverClient(http, port)
            topic = settings.topic(Topic.PLATFORM_EVENTS)
            for count in args.replicas:
                rows.append(await replica_run(args, settings, http, receiver, topic, count, len(hooks), logs))
                log(f"replicas: {rows[-1]}")
    finally:
        await stop(receiver_process)
        secrets_file.unlink(missing_ok=True)
        await drop_run(bootstrap, mongodb_url, namespace, [settings.mongodb_database])
    return rows


async def replica_run(
    args: argparse.Namespace,
    settings: DispatcherSettings,
    http: aiohttp.ClientSession,
    receiver: ReceiverClient,
    topic: str,
    count: int,
    hooks: int,
    logs: Path,
) -> dict[str, Any]:
    dispatcher_args = argparse.Namespace(
        app="switchboard_dispatcher.main:create_app", set=[], profile_dispatcher=None, ready_timeout=120.0
    )
    async with (
        contextlib.AsyncExitStack() as stack,
        EventPublisher(settings.kafka_bootstrap, topic, 1024) as publisher,
    ):
        started = [
            await stack.enter_async_context(dispatcher(dispatcher_args, settings, http, logs))
            for _ in range(count)
        ]
        await asyncio.sleep(5)  # the group's rebalance settles before the warm-up
        await publisher.burst("bench-rep", f"warm{count}", 100)
        await receiver.wait_for(f"warm{count}", 100 * hooks, 120, 60)
        before = {process.pid: cpu_seconds(process.pid) or 0.0 for process, _ in started}
        kafka = infra_pid("kafka")
        kafka_before = cpu_seconds(kafka) if kafka else None
        shares_before = [await succeeded(http, port) for _, port in started]
        phase, expected = f"rep{count}", args.replica_events * hooks
        wall = time.perf_counter()
        await publisher.burst("bench-rep", phase, args.replica_events)
        complete = await receiver.wait_for(phase, expected, 300, 60)
        seconds = time.perf_counter() - wall
        cpu = [(cpu_seconds(process.pid) or 0.0) - before[process.pid] for process, _ in started]
        kafka_cpu = (cpu_seconds(kafka) or 0.0) - kafka_before if kafka and kafka_before is not None else None
        shares = [
            await succeeded(http, port) - share
            for (_, port), share in zip(started, shares_before, strict=True)
        ]
    delivered = (await receiver.stats(phase))["unique"]
    return {
        "replicas": count,
        "deliveries": delivered,
        "complete": complete,
        "seconds": round(seconds, 2),
        "deliveries_per_s": round(delivered / seconds, 1),
        "deliveries_per_replica": shares,
        "cpu_cores_per_replica": [round(c / seconds, 2) for c in cpu],
        "dispatcher_cpu_us_per_delivery": round(sum(cpu) / max(delivered, 1) * 1e6, 1),
        "kafka_cpu_us_per_delivery": round(kafka_cpu / max(delivered, 1) * 1e6, 1)
        if kafka_cpu is not None
        else None,
    }


# -- the run -----------------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap, mongodb_url = infrastructure()
    base = f"bench-scale-{args.run_id}."
    logs = ROOT / ".run" / "bench" / f"scale-{args.run_id}"
    logs.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "scale",
        "run_id": args.run_id,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_state(),
        "args": {k: v for k, v in vars(args).items() if k != "output"},
    }
    phases: dict[str, Callable[[], Awaitable[Any]]] = {
        "storage": lambda: storage_phase(args, mongodb_url),
        "fanout": lambda: fanout_phase(args, bootstrap, mongodb_url, base),
        "config": lambda: config_phase(args, bootstrap, mongodb_url, base, logs),
        "registry": lambda: registry_phase(args, bootstrap, mongodb_url, f"{base}reg.", logs),
        "replicas": lambda: replicas_phase(args, bootstrap, mongodb_url, f"{base}rep.", logs),
    }
    try:
        for name, phase in phases.items():
            if name in args.phases:
                log(f"phase {name}")
                started = time.perf_counter()
                result[name] = await phase()
                log(f"phase {name} done in {time.perf_counter() - started:.0f} s")
    finally:
        await drop_run(bootstrap, mongodb_url, f"{base}reg.", [])
    result["retention"] = retention(result)
    return result


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(result: dict[str, Any]) -> str:
    """The README's summary of a recorded run."""
    lines = [
        f"Run `{result['run_id']}` on {result['date']} ({result['machine'].get('nproc')} CPUs, shared); "
        f"results in [`results/{result.get('file', 'scale-….json')}`](results/{result.get('file', '')}).",
        "",
    ]
    config = result.get("config") or []
    if result.get("config_run"):
        lines += [
            f"Config rows: run `{result['config_run']['run_id']}` — {result['config_run']['note']}.",
            "",
        ]
    if config:
        lines += [
            "| webhooks (1k tenants) | records written/s | view catch-up (s) | view RSS caught up → targets "
            "resolved (MiB, +Δ) | dispatcher spawn → ready (s) | dispatcher RSS (MiB) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in config:
            follower, written = row.get("follower") or {}, row.get("written") or {}
            base = follower.get("rss_before_mib")
            delta = (
                f"{follower['rss_caught_up_mib'] - base:+,.0f} → {follower['rss_resolved_mib'] - base:+,.0f}"
                if base is not None
                else "-"
            )
            lines.append(
                f"| {row['webhooks']:,} | {_n(written.get('records_per_s'))} | {_n(follower.get('catch_up_s'), 2)} "
                f"| {delta} | {_n(row['dispatcher']['ready_s'], 1)} | {_n(row['dispatcher']['rss_mib'])} |"
            )
        lines.append("")
    fanout = result.get("fanout") or {}
    if fanout:
        lines += [
            f"Fan-out on a view of {fanout['background_webhooks']:,} other webhooks over {fanout['tenants']:,} tenants "
            "(CPU µs, in-process):",
            "",
            "| case | `tasks_for` per event | + encoding per event | per task | first event after a config change |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in fanout["in_process"]:
            lines.append(
                f"| {row['case']} | {_n(row['tasks_for_us_per_event'], 1)} "
                f"| {_n(row['tasks_for_and_encoding_us_per_event'], 1)} | {_n(row['us_per_task'], 1)} "
                f"| {_n(row['first_event_after_a_config_change_us'], 1)} |"
            )
        path = fanout.get("delivery_event_path") or {}
        lines += [
            "",
            f"`delivery.*` path: {_n(path.get('steady_us'), 2)} µs steady, "
            f"{_n(path.get('first_after_a_config_change_us'), 1)} µs on the first after a config change.",
            "",
            "| end to end through Kafka | events/s | tasks/s | CPU µs per task (fan-out process) | Kafka CPU µs "
            "per task | bytes on disk per task |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in fanout["end_to_end"]:
            lines.append(
                f"| {row['case']} | {_n(row['events_per_s'])} | {_n(row['tasks_per_s'])} "
                f"| {_n(row['process_cpu_us_per_task'], 1)} | {_n(row['kafka_cpu_us_per_task'], 1)} "
                f"| {_n(row['deliveries_topic_bytes_on_disk_per_task'])} |"
            )
        lines.append("")
    storage = result.get("storage") or {}
    if storage:
        bson_sizes = storage.get("bson_bytes_per_document") or {}
        lines += [
            "| stored document | FerretDB (collStats data + indexes) | BSON (MongoDB, before compression) |",
            "|---|---:|---:|",
            f"| attempt (delivery log per attempt) | {_n(storage.get('bytes_per_attempt'))} | "
            f"{_n(bson_sizes.get('delivery_log_per_attempt') or bson_sizes.get('delivery_attempts'))} |",
            f"| event (≈1 KB data) | {_n(storage.get('bytes_per_event'))} | {_n(bson_sizes.get('events'))} |",
            "",
        ]
    registry = result.get("registry") or {}
    if registry:
        blocks = ", ".join(f"{_n(block['webhooks_per_s'], 1)}" for block in registry["per_block_of_100"])
        lines += [
            f"Registry API: {registry['webhooks']:,} webhooks in {registry['seconds']:,} s "
            f"({_n(registry['webhooks_per_s'], 1)}/s; per block of 100: {blocks}); "
            f"{registry['config_records_published']:,} config records published; CPU per webhook: registry "
            f"{_n(registry['registry_cpu_us_per_webhook'])} µs, FerretDB {_n(registry['ferretdb_cpu_us_per_webhook'])} µs.",
            "",
        ]
    replicas = result.get("replicas") or []
    if replicas:
        lines += [
            "| dispatcher replicas (one group, 6 partitions) | deliveries/s | deliveries per replica | cores per "
            "replica | dispatcher CPU µs per delivery (all replicas) | Kafka CPU µs per delivery |",
            "|---:|---:|---|---|---:|---:|",
        ]
        for row in replicas:
            shares = " / ".join(f"{share:,.0f}" for share in row["deliveries_per_replica"])
            cores = " / ".join(f"{core:.2f}" for core in row["cpu_cores_per_replica"])
            lines.append(
                f"| {row['replicas']} | {_n(row['deliveries_per_s'])} | {shares} | {cores} "
                f"| {_n(row['dispatcher_cpu_us_per_delivery'], 1)} | {_n(row['kafka_cpu_us_per_delivery'], 1)} |"
            )
        lines += [
            "",
            "A replica well under one core was not the limit: the rate is then the machine's (other work, the "
            "receiver, Kafka), and only the split and the CPU per delivery say something about the dispatcher.",
            "",
        ]
    return "\n".join(lines)


def int_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale.run", description=__doc__)
    parser.add_argument(
        "--phases", default="storage,fanout,config,registry,replicas", type=lambda t: t.split(",")
    )
    parser.add_argument(
        "--sizes", default="1000,10000,100000", type=int_list, help="webhooks per config case"
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--fanout", default="1,100,1000", type=int_list, help="matching endpoints per case")
    parser.add_argument("--background", type=int, default=100_000, help="other webhooks in the fan-out view")
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per end-to-end fan-out case")
    parser.add_argument("--attempts", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--endpoints", type=int, default=50, help="endpoints the stored attempts spread over")
    parser.add_argument("--registry-webhooks", type=int, default=600)
    parser.add_argument("--registry-tenants", type=int, default=10)
    parser.add_argument("--replicas", default="1,2", type=int_list, help="dispatcher replicas, each in turn")
    parser.add_argument("--replica-events", type=int, default=2_500, help="events (x 6 webhooks) per count")
    parser.add_argument(
        "--output", type=Path, default=None, help="write the JSON here (the README is left alone)"
    )
    parser.add_argument(
        "--table", type=Path, default=None, help="redo the README's table from a recorded run"
    )
    args = parser.parse_args(argv)
    args.run_id = uuid.uuid4().hex[:8]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table:
        result = json.loads(args.table.read_text())
    else:
        result = asyncio.run(run(args))
        path = args.output or RESULTS / f"scale-{datetime.now(UTC):%Y-%m-%d-%H%M}.json"
        result["file"] = path.name
        path.write_text(json.dumps(result, indent=1, default=str) + "\n")
        log(f"results in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if args.output is None:  # a recorded run (not a trial run written elsewhere) goes into the README
        replace_between_markers(README, MARK_START, MARK_END, table(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
