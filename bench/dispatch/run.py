"""The dispatcher benchmark (``make bench``): HTTP ceilings and the dispatcher measured in one run.

Phases, in order, all against one receiver process (``bench.dispatch.receiver``) on 127.0.0.1:

0. **Stages** — CPU per delivery of the dispatcher's own code, stage by stage, in-process (``stages.py``).
1. **HTTP ceilings** — client loops with no Kafka POST pre-signed ~1 KB bodies at each concurrency:
   aiohttp, httpx over httpx-aiohttp, plain httpx, and the dispatcher's own ``HttpSender``.
2. **Throughput** — the dispatcher (its own uvicorn process) with M webhooks; N events published to
   ``platform.events`` as fast as the producer takes them; deliveries/s and publish → receive latency measured
   at the receiver from the (webhook-id, receive time, publish time) it records for every verified request.
3. **Latency** — events published at a fixed rate (200/s by default) for a fixed time; publish → receive
   percentiles, once per endpoint count in ``--latency-endpoints``.

Every loop is bounded in count and time; every process, socket and request is on loopback. The run uses its
own topic namespace and MongoDB database and removes both afterwards. Results go to
``bench/results/dispatch-<UTC date>.json`` and the table between the markers in ``bench/README.md``.

    uv run python -m bench.dispatch.run --help
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (python bench/dispatch/run.py): make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from bench.common import (
    BENCH_HOST,
    drop_run,
    infra_pid,
    infrastructure,
    log,
    percentiles,
    ready_port,
    replace_between_markers,
    spawn,
    stop,
)
from bench.dispatch import stages
from bench.dispatch.baselines import CLIENTS
from bench.dispatch.common import EVENT_TYPE, cpu_seconds, event_data, machine_busy_seconds
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.signing import generate_secret
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.settings import DispatcherSettings
from switchboard_platform.kafka_admin import ensure_topics
from switchboard_platform.settings import Environment
from switchboard_testing.processes import dispatcher_env, free_port, group_cpu_seconds
from switchboard_testing.webhooks import Platform

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
MARK_START = "<!-- dispatch-results:start -->"
MARK_END = "<!-- dispatch-results:end -->"
#: Per-webhook limits for the benchmark's endpoints (the defaults, 10 in flight and 100/minute, would measure
#: the rate limiter, not the dispatcher).
BENCH_DELIVERY = {"max_in_flight": 64, "rate_limit_per_minute": 1_000_000}
TARGETS = {"deliveries_per_s": 1000.0, "ceiling_ratio": 0.25, "p99_ms": 250.0}


# -- the receiver --------------------------------------------------------------------------------------------------


class ReceiverClient:
    def __init__(self, http: aiohttp.ClientSession, port: int) -> None:
        self.http = http
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    async def reset(self) -> None:
        async with self.http.post(f"{self.base}/_bench/reset") as response:
            response.raise_for_status()

    async def stats(self, phase: str | None = None) -> dict[str, int]:
        params = {"phase": phase} if phase is not None else {}
        async with self.http.get(f"{self.base}/_bench/stats", params=params) as response:
            response.raise_for_status()
            stats: dict[str, int] = await response.json()
            return stats

    async def records(self, phase: str) -> list[tuple[str, str, float, float | None]]:
        async with self.http.get(f"{self.base}/_bench/records", params={"phase": phase}) as response:
            response.raise_for_status()
            return [
                (str(p), str(w), float(a), None if b is None else float(b))
                for p, w, a, b in await response.json()
            ]

    async def wait_for(self, phase: str, expected: int, timeout_s: float, stall_s: float) -> bool:
        """Until ``expected`` distinct deliveries of ``phase`` arrived; False on timeout or a stall."""
        deadline = time.monotonic() + timeout_s
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            unique = (await self.stats(phase))["unique"]
            if unique >= expected:
                return True
            if unique != last:
                last, last_change = unique, time.monotonic()
            elif time.monotonic() - last_change > stall_s:
                log(f"  {phase}: no progress for {stall_s:g}s at {unique}/{expected}; giving up")
                return False
            await asyncio.sleep(0.25)
        log(f"  {phase}: timed out at {last}/{expected}")
        return False


# -- CPU accounting ------------------------------------------------------------------------------------------------


class CpuProbe:
    """CPU seconds of the processes that share the machine during a phase, and the machine's total."""

    def __init__(self, pids: dict[str, int], groups: dict[str, int] | None = None) -> None:
        self.pids = pids
        self.groups = groups or {}  # name → process group: a process and its children (uvicorn's workers)

    def snapshot(self) -> dict[str, float]:
        values = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        values.update({name: group_cpu_seconds(pgid) for name, pgid in self.groups.items()})
        busy, total = machine_busy_seconds()
        return {**{k: v for k, v in values.items() if v is not None}, "_busy": busy, "_total": total}

    @staticmethod
    def usage(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
        """Cores used over the phase (1.0 = one core busy all the time) per process, by the whole machine, and
        by everything else on it (other people's work on a shared machine shows up there)."""
        if wall_s <= 0:
            return {}
        cores = {
            name: round((after[name] - before[name]) / wall_s, 3)
            for name in before
            if name in after and not name.startswith("_")
        }
        fraction = (after["_busy"] - before["_busy"]) / max(after["_total"] - before["_total"], 1e-9)
        machine_cores = fraction * (os.cpu_count() or 1)
        named = sum(cores.values())
        cores["machine"] = round(machine_cores, 3)
        cores["other_processes"] = round(max(machine_cores - named, 0.0), 3)
        return cores


async def background_load(seconds: float = 2.0) -> float:
    """Cores busy with work other than Kafka, FerretDB and this driver (other people's work on a shared
    machine), before a run: it competes with the benchmark for the same two cores."""
    infra = {name: pid for name in ("kafka", "ferretdb") if (pid := infra_pid(name)) is not None}
    probe = CpuProbe({**infra, "driver": os.getpid()})
    before = probe.snapshot()
    await asyncio.sleep(seconds)
    return CpuProbe.usage(before, probe.snapshot(), seconds)["other_processes"]


def cpu_per_delivery(usage: dict[str, float], wall_s: float, delivered: int) -> dict[str, float]:
    """CPU microseconds each process spent per delivery: unlike a rate, robust to other work on the machine."""
    if not delivered:
        return {}
    return {
        name: round(usage[name] * wall_s / delivered * 1e6, 1)
        for name in ("dispatcher", "kafka", "receiver", "ferretdb")
        if name in usage
    }


# -- phase 1: HTTP ceilings ------------------------------------------------------------------------------------------


async def run_baselines(
    args: argparse.Namespace, receiver: ReceiverClient, secret: str, cpu: CpuProbe, logs: Path
) -> list[dict[str, Any]]:
    results = []
    runs = [(client, "uvloop") for client in args.clients]
    runs += [(client, "asyncio") for client in args.asyncio_clients]
    for client, loop in runs:
        for concurrency in args.concurrency:
            host = BENCH_HOST if client.startswith("sender") else "127.0.0.1"
            url = f"http://{host}:{receiver.port}/baseline"
            await receiver.reset()
            command = [
                sys.executable,
                "-m",
                "bench.dispatch.baselines",
                f"--client={client}",
                f"--url={url}",
                f"--secret={secret}",
                f"--concurrency={concurrency}",
                f"--seconds={args.baseline_seconds}",
                f"--max-requests={args.baseline_max_requests}",
                f"--body-bytes={args.body_bytes}",
                f"--loop={loop}",
            ]
            before, started = cpu.snapshot(), time.monotonic()
            process = await spawn(command, logs / "baselines.log", stdout_pipe=True)
            try:
                out, _ = await asyncio.wait_for(process.communicate(), args.baseline_seconds + 60)
            except TimeoutError:
                await stop(process, signal.SIGKILL)
                raise
            if process.returncode != 0:
                raise RuntimeError(f"baseline {client}@{concurrency} failed; see {logs / 'baselines.log'}")
            wall = time.monotonic() - started
            result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
            stats = await receiver.stats()
            result["receiver"] = {"verified": stats["recorded"], "rejected": stats["rejected"]}
            usage = CpuProbe.usage(before, cpu.snapshot(), wall)
            usage["client"] = round(result.pop("process_cpu_s") / wall, 3)
            usage["other_processes"] = round(max(usage["other_processes"] - usage["client"], 0.0), 3)
            result["cpu_cores"] = usage
            results.append(result)
            log(
                f"  {client:>13} {loop:7} c={concurrency:<3} {result['req_per_s']:8.0f} req/s  "
                f"p99 {result['latency_ms'].get('p99', 0):6.1f} ms  "
                f"client {result['client_cpu_us_per_request']:.0f} µs/req, "
                f"receiver {result['cpu_cores'].get('receiver', 0):.2f} cores, others "
                f"{result['cpu_cores'].get('other_processes', 0):.2f} (errors {result['errors']}, "
                f"non-200 {result['non_200']}, rejected {stats['rejected']})"
            )
    return results


# -- publishing events -------------------------------------------------------------------------------------------------


class EventPublisher:
    """Publishes benchmark events to ``platform.events`` in CloudEvents binary mode, as other teams' producers do."""

    def __init__(self, bootstrap: str, topic: str, body_bytes: int) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, client_id="switchboard-bench"
        )
        self.topic = topic
        self.body_bytes = body_bytes

    async def __aenter__(self) -> EventPublisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send(self, tenant: str, phase: str, seq: int) -> asyncio.Future[Any]:
        data = event_data(seq, phase, time.time(), self.body_bytes)
        event = CloudEvent(
            source="//bench", type=EVENT_TYPE, tenant=tenant, partitionkey=data["conversation_id"], data=data
        )
        future: asyncio.Future[Any] = await self.producer.send(
            self.topic,
            value=event.kafka_value(),
            key=event.kafka_key(),
            headers=event.kafka_header_list(),
        )
        return future

    async def burst(self, tenant: str, phase: str, count: int) -> dict[str, float]:
        """``count`` events as fast as the producer takes them; returns when Kafka acknowledged all."""
        started = time.time()
        futures = [await self.send(tenant, phase, seq) for seq in range(count)]
        handed = time.time()
        await asyncio.gather(*futures)
        return {"started": started, "handed_over_s": handed - started, "acked_s": time.time() - started}

    async def paced(self, tenant: str, phase: str, rate: float, seconds: float) -> dict[str, float]:
        """``rate`` events a second for ``seconds`` (one every 1/rate s, on schedule, not after each ack)."""
        count = int(rate * seconds)
        loop = asyncio.get_running_loop()
        origin = loop.time()
        started = time.time()
        futures = []
        for seq in range(count):
            delay = origin + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            futures.append(await self.send(tenant, phase, seq))
        sent = time.time()
        await asyncio.gather(*futures)
        return {
            "started": started,
            "events": count,
            "achieved_rate": count / max(sent - started, 1e-9) if count > 1 else 0.0,
            "acked_s": time.time() - started,
        }


# -- analysis ----------------------------------------------------------------------------------------------------------


def analyse(
    records: list[tuple[str, str, float, float | None]], expected: int, published_at: float
) -> dict[str, Any]:
    """Deliveries/s and publish → receive latency from the receiver's records (first receipt per webhook-id)."""
    first: dict[str, tuple[str, float, float | None]] = {}
    for path, webhook_id, received, published in records:
        if webhook_id not in first or received < first[webhook_id][1]:
            first[webhook_id] = (path, received, published)
    times = sorted(received for _, received, _ in first.values())
    n = len(times)
    result: dict[str, Any] = {
        "expected": expected,
        "delivered": n,
        "duplicates": len(records) - n,
        "complete": n >= expected,
        "per_endpoint": dict(sorted(Counter(path for path, _, _ in first.values()).items())),
    }
    if n < 2:
        return result
    span = times[-1] - times[0]
    low, high = int(n * 0.1), max(int(n * 0.9) - 1, int(n * 0.1) + 1)
    middle = times[high] - times[low]
    latencies = [(received - published) * 1000 for _, received, published in first.values() if published]
    buckets = Counter(int(t - times[0]) for t in times)
    result.update(
        {
            "first_to_last_s": round(span, 3),
            "deliveries_per_s": (n - 1) / span if span > 0 else 0.0,
            "steady_deliveries_per_s": (high - low) / middle if middle > 0 else 0.0,
            "since_first_publish_per_s": n / max(times[-1] - published_at, 1e-9),
            "first_receive_after_publish_s": round(times[0] - published_at, 3),
            "latency_ms": {k: round(v, 2) for k, v in percentiles(latencies).items()},
            "receipts_per_second": [buckets.get(i, 0) for i in range(int(span) + 1)],
        }
    )
    return result


def dump(
    args: argparse.Namespace, phase: str, records: list[tuple[str, str, float, float | None]], started: float
) -> None:
    """With ``--dump-records DIR``: every receipt of a phase as JSON lines, for looking at a distribution."""
    if args.dump_records is None:
        return
    args.dump_records.mkdir(parents=True, exist_ok=True)
    with (args.dump_records / f"{phase}.jsonl").open("w") as out:
        for path, webhook_id, received, published in records:
            row = {"path": path, "id": webhook_id, "received": received - started}
            row["latency_ms"] = None if published is None else (received - published) * 1000
            out.write(json.dumps(row) + "\n")


# -- the dispatcher ----------------------------------------------------------------------------------------------------


async def wait_ready(
    http: aiohttp.ClientSession, port: int, process: asyncio.subprocess.Process, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the dispatcher exited with {process.returncode} before it was ready")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(
                f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"the dispatcher was not ready within {timeout_s:g}s")


async def dispatcher_metrics(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The dispatcher's own counters (deliveries by outcome, deferrals, retries, skips) after the run."""
    wanted = re.compile(
        r"^(dispatcher_(deliveries|deferred|retries_scheduled|skipped|tasks_created|events_fanned_out)_total\S*) (\S+)$"
    )
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    except aiohttp.ClientError:
        return {}
    return {m.group(1): float(m.group(3)) for m in map(wanted.match, text.splitlines()) if m}


@contextlib.asynccontextmanager
async def dispatcher(
    args: argparse.Namespace,
    settings: DispatcherSettings,
    http: aiohttp.ClientSession,
    logs: Path,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    port = free_port()
    env = dispatcher_env(settings, {BENCH_HOST: "127.0.0.1"})
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        env[name] = value
    env.update(extra_env or {})
    serve = ["-m", "uvicorn", "--factory", args.app]
    serve += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if args.workers > 1:
        serve += ["--workers", str(args.workers)]
    profile = ["-m", "cProfile", "-o", str(args.profile_dispatcher)] if args.profile_dispatcher else []
    process = await spawn(
        [sys.executable, *profile, *serve], logs / "dispatcher.log", env=env, new_session=True
    )
    try:
        await wait_ready(http, port, process, args.ready_timeout)
        yield process, port
    finally:
        # SIGINT: uvicorn shuts down gracefully (and cProfile, when profiling, writes its file).
        await stop(process, signal.SIGINT)


# -- the run -------------------------------------------------------------------------------------------------------------


def webhook_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap, mongodb_url = infrastructure()
    run_id = uuid.uuid4().hex[:10]
    namespace = f"bench{run_id}."
    settings = DispatcherSettings(
        environment=Environment.TEST,
        kafka_bootstrap=bootstrap,
        mongodb_url=SecretStr(mongodb_url),
        topic_namespace=namespace,
        mongodb_database=f"bench_{run_id}",
        allow_loopback_urls=True,
    )
    logs = ROOT / ".run" / "bench" / run_id
    logs.mkdir(parents=True, exist_ok=True)
    log(f"run {run_id}: topics {namespace}*, database {settings.mongodb_database}, logs {logs}")

    # Every endpoint and its secret up front: the receiver verifies with the same secrets the dispatcher signs with.
    endpoints: dict[str, list[str]] = {"bench-tput": webhook_ids("tput", args.endpoints)}
    for count in args.latency_endpoints:
        endpoints.setdefault(f"bench-lat{count}", webhook_ids(f"lat{count}", count))
    hook_secrets = {wid: generate_secret() for wids in endpoints.values() for wid in wids}
    baseline_secret = generate_secret()
    secrets_file = logs / "receiver-secrets.json"
    secrets_file.write_text(
        json.dumps({"/baseline": baseline_secret, **{f"/hooks/{w}": s for w, s in hook_secrets.items()}})
    )
    secrets_file.chmod(0o600)

    receiver_process = await spawn(
        [sys.executable, "-m", "bench.dispatch.receiver", f"--secrets={secrets_file}", "--max-seconds=1800"],
        logs / "receiver.log",
        stdout_pipe=True,
    )
    background = await background_load()
    deadline = time.monotonic() + args.wait_quiet
    while background > 0.1 and time.monotonic() < deadline:
        log(f"{background:.2f} cores busy with other work; waiting for a quieter machine")
        await asyncio.sleep(3)
        background = await background_load()
    result: dict[str, Any] = {"run_id": run_id, "background_busy_cores": background}
    if background > 0.1:
        log(f"warning: {background:.2f} cores busy with other work; results will be noisy")
    try:
        port = await ready_port(receiver_process, logs / "receiver.log")
        pids = {"receiver": receiver_process.pid, "driver": os.getpid()}
        pids.update({name: pid for name in ("kafka", "ferretdb") if (pid := infra_pid(name)) is not None})
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            receiver = ReceiverClient(http, port)
            if "stages" in args.phases:
                log("phase 0: CPU per delivery of the dispatcher's own code, stage by stage (in-process)")
                result["stages_us_per_delivery"] = stages.measure(args.endpoints, args.body_bytes)
                log(f"  {sum(result['stages_us_per_delivery'].values()):.0f} µs in total")
            if "baselines" in args.phases:
                log("phase 1: HTTP ceilings (no Kafka)")
                result["baselines"] = await run_baselines(
                    args, receiver, baseline_secret, CpuProbe(pids), logs
                )
            if {"throughput", "throughput-traced", "latency"} & set(args.phases):
                result["dispatcher"] = await run_dispatcher(
                    args, settings, http, receiver, endpoints, hook_secrets, pids, logs
                )
    finally:
        await stop(receiver_process)
        secrets_file.unlink(missing_ok=True)
        log("cleaning up topics and database")
        await drop_run(bootstrap, mongodb_url, namespace, [settings.mongodb_database])
    return result


async def run_dispatcher(
    args: argparse.Namespace,
    settings: DispatcherSettings,
    http: aiohttp.ClientSession,
    receiver: ReceiverClient,
    endpoints: dict[str, list[str]],
    hook_secrets: dict[str, str],
    pids: dict[str, int],
    logs: Path,
) -> dict[str, Any]:
    out: dict[str, Any] = {"delivery_settings": BENCH_DELIVERY, "extra_env": list(args.set)}
    await ensure_topics(settings.kafka_bootstrap, settings.topic_namespace)
    async with Platform(settings) as registry:
        for tenant, wids in endpoints.items():
            for wid in wids:
                await registry.webhook(
                    wid,
                    tenant,
                    f"http://{BENCH_HOST}:{receiver.port}/hooks/{wid}",
                    [EVENT_TYPE],
                    secret=hook_secrets[wid],
                    delivery=BENCH_DELIVERY,
                )
    async with (
        dispatcher(args, settings, http, logs) as (process, port),
        EventPublisher(
            settings.kafka_bootstrap, settings.topic(Topic.PLATFORM_EVENTS), args.body_bytes
        ) as publisher,
    ):
        cpu = CpuProbe(pids, {"dispatcher": process.pid})
        tput = endpoints["bench-tput"]
        log(f"dispatcher ready on 127.0.0.1:{port}; warming up")
        await publisher.burst("bench-tput", "warmup", args.warmup_events)
        await receiver.wait_for("warmup", args.warmup_events * len(tput), 60, 30)

        if "throughput" in args.phases:
            log(f"phase 2: throughput — {args.events} events x {len(tput)} endpoints")
            out["throughput"] = await measure_throughput(
                args, publisher, receiver, cpu, len(tput), "throughput"
            )

        if "latency" in args.phases:
            out["latency"] = []
            for count in args.latency_endpoints:
                tenant, phase = f"bench-lat{count}", f"latency-{count}"
                events = int(args.rate * args.latency_seconds)
                expected = events * count
                log(
                    f"phase 3: latency — {args.rate:g} events/s for {args.latency_seconds:g}s to {count} "
                    f"endpoint(s) = {expected} deliveries"
                )
                before, started = cpu.snapshot(), time.monotonic()
                published = await publisher.paced(tenant, phase, args.rate, args.latency_seconds)
                await receiver.wait_for(phase, expected, args.drain_timeout, args.stall_timeout)
                wall = time.monotonic() - started
                usage = CpuProbe.usage(before, cpu.snapshot(), wall)
                records = await receiver.records(phase)
                dump(args, phase, records, published["started"])
                analysis = analyse(records, expected, published["started"])
                out["latency"].append(
                    {
                        "rate": args.rate,
                        "seconds": args.latency_seconds,
                        "endpoints": count,
                        "achieved_publish_rate": round(published["achieved_rate"], 1),
                        **{k: v for k, v in analysis.items() if k != "receipts_per_second"},
                        "cpu_cores": usage,
                        "cpu_us_per_delivery": cpu_per_delivery(usage, wall, analysis["delivered"]),
                    }
                )
                log(f"  {analysis['delivered']}/{expected} delivered; latency {analysis.get('latency_ms')}")
                log(f"  cpu (cores): {usage}")
        out["metrics"] = await dispatcher_metrics(http, port)
    if "throughput-traced" in args.phases:
        out["throughput_traced"] = await run_traced(args, settings, http, receiver, pids, logs)
    return out


def tracing_env(receiver_port: int) -> dict[str, str]:
    """Tracing on, every span sampled and exported over OTLP/HTTP to the receiver (which drops them): the
    most a deployment can ask of the dispatcher. The queue is large enough that no span is dropped."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver_port}",
        "OTEL_BSP_MAX_QUEUE_SIZE": "200000",
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
        "NO_PROXY": "127.0.0.1",
    }


async def run_traced(
    args: argparse.Namespace,
    settings: DispatcherSettings,
    http: aiohttp.ClientSession,
    receiver: ReceiverClient,
    pids: dict[str, int],
    logs: Path,
) -> dict[str, Any]:
    """The throughput phase again, on a dispatcher with tracing on: the price of tracing per delivery."""
    tput = webhook_ids("tput", args.endpoints)
    async with (
        dispatcher(args, settings, http, logs, tracing_env(receiver.port)) as (process, _),
        EventPublisher(
            settings.kafka_bootstrap, settings.topic(Topic.PLATFORM_EVENTS), args.body_bytes
        ) as publisher,
    ):
        cpu = CpuProbe(pids, {"dispatcher": process.pid})
        log("phase 2b: throughput with tracing on (every span exported over OTLP/HTTP); warming up")
        await publisher.burst("bench-tput", "warmup-traced", args.warmup_events)
        await receiver.wait_for("warmup-traced", args.warmup_events * len(tput), 60, 30)
        measured = await measure_throughput(args, publisher, receiver, cpu, len(tput), "throughput-traced")
    stats = await receiver.stats("throughput-traced")
    measured["span_exports"] = stats.get("span_exports", 0)
    measured["span_bytes"] = stats.get("span_bytes", 0)
    return measured


async def measure_throughput(
    args: argparse.Namespace,
    publisher: EventPublisher,
    receiver: ReceiverClient,
    cpu: CpuProbe,
    endpoints: int,
    phase: str,
) -> dict[str, Any]:
    expected = args.events * endpoints
    before, started = cpu.snapshot(), time.monotonic()
    published = await publisher.burst("bench-tput", phase, args.events)
    await receiver.wait_for(phase, expected, args.drain_timeout, args.stall_timeout)
    wall = time.monotonic() - started
    usage = CpuProbe.usage(before, cpu.snapshot(), wall)
    stats = await receiver.stats(phase)
    records = await receiver.records(phase)
    dump(args, phase, records, published["started"])
    analysis = analyse(records, expected, published["started"])
    cost = cpu_per_delivery(usage, wall, analysis["delivered"])
    log(
        f"  {analysis['delivered']}/{expected} delivered: "
        f"{analysis.get('deliveries_per_s', 0):.0f}/s first→last, "
        f"{analysis.get('steady_deliveries_per_s', 0):.0f}/s steady; latency {analysis.get('latency_ms')}"
    )
    log(f"  cpu (cores): {usage}")
    log(f"  cpu per delivery (µs): {cost}")
    return {
        "events": args.events,
        "endpoints": endpoints,
        "publish": {k: round(v, 3) for k, v in published.items() if k != "started"},
        **analysis,
        "rejected": stats["rejected"],
        "cpu_cores": usage,
        "cpu_us_per_delivery": cost,
    }


# -- recording ----------------------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {}
    for name in (
        "aiohttp",
        "httpx",
        "httpx-aiohttp",
        "aiokafka",
        "faststream",
        "uvicorn",
        "uvloop",
        "pydantic",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    pid = infra_pid("kafka")
    if pid is not None:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_text()
            if match := re.search(r"kafka_[\d.]+-([\d.]+)\.jar", cmdline):
                found["kafka"] = match.group(1)
    return found


def machine() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions(),
    }


def git_state() -> dict[str, Any]:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "services", "shared")),
    }


def _best(baselines: list[dict[str, Any]], client: str, loop: str = "uvloop") -> float:
    return max(
        (b["req_per_s"] for b in baselines if b["client"] == client and b.get("loop", "uvloop") == loop),
        default=0.0,
    )


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers and the targets they are judged against.

    The ceiling is the best aiohttp loop on uvloop, the event loop the dispatcher runs on under uvicorn; the
    dispatcher's sustained rate is the lower of its first→last and steady (middle 80 %) rates.
    """
    baselines = result.get("baselines", [])
    ceiling = _best(baselines, "aiohttp")
    summary: dict[str, Any] = {"aiohttp_ceiling_req_per_s": round(ceiling, 1)}
    if asyncio_ceiling := _best(baselines, "aiohttp", "asyncio"):
        summary["aiohttp_asyncio_loop_ceiling_req_per_s"] = round(asyncio_ceiling, 1)
    for client in ("httpx-aiohttp", "httpx", "sender", "sender-reqwest", "pyreqwest", "rnet", "httpr"):
        if best := _best(baselines, client):
            summary[f"{client}_req_per_s"] = round(best, 1)
    dispatch = result.get("dispatcher", {})
    tput = dispatch.get("throughput")
    if tput and "deliveries_per_s" in tput:
        sustained = min(tput["deliveries_per_s"], tput["steady_deliveries_per_s"])
        summary["deliveries_per_s_first_to_last"] = round(tput["deliveries_per_s"], 1)
        summary["deliveries_per_s_steady"] = round(tput["steady_deliveries_per_s"], 1)
        summary["deliveries_per_s_sustained"] = round(sustained, 1)
        summary["target_deliveries_per_s_met"] = sustained >= TARGETS["deliveries_per_s"] and tput["complete"]
        if ceiling:
            summary["ratio_to_aiohttp_ceiling"] = round(sustained / ceiling, 3)
            summary["target_ceiling_ratio_met"] = sustained / ceiling >= TARGETS["ceiling_ratio"]
        if asyncio_ceiling:
            summary["ratio_to_aiohttp_asyncio_loop_ceiling"] = round(sustained / asyncio_ceiling, 3)
        if sender := _best(baselines, "sender"):
            summary["ratio_to_http_sender_alone"] = round(sustained / sender, 3)
    traced = dispatch.get("throughput_traced")
    if tput and traced:
        off = tput.get("cpu_us_per_delivery", {}).get("dispatcher")
        on = traced.get("cpu_us_per_delivery", {}).get("dispatcher")
        if off and on:
            summary["tracing_on_cpu_us_per_delivery_added"] = round(on - off, 1)
            summary["tracing_on_cpu_ratio"] = round(on / off, 3)
    for lat in dispatch.get("latency", []):
        p99 = lat.get("latency_ms", {}).get("p99")
        if p99 is not None:
            summary[f"latency_{lat['endpoints']}ep_p99_ms"] = p99
            summary[f"target_p99_{lat['endpoints']}ep_met"] = p99 <= TARGETS["p99_ms"] and lat["complete"]
    return summary


def _f(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


LABELS = {
    "aiohttp": "aiohttp",
    "httpx-aiohttp": "httpx over httpx-aiohttp",
    "httpx": "httpx (plain)",
    "sender": "dispatcher's HttpSender",
    "sender-reqwest": "candidate sender on pyreqwest (not adopted)",
    "pyreqwest": "pyreqwest",
    "pyreqwest-pinned": "pyreqwest, host pinned to the checked address",
    "rnet": "rnet",
    "httpr": "httpr (threads)",
}


#: Other work above this many cores during a measurement gets its number marked in the table.
BUSY_CORES = 0.25


def _busy(row: dict[str, Any]) -> str:
    return "\\*" if row.get("cpu_cores", {}).get("other_processes", 0.0) > BUSY_CORES else ""


def table(result: dict[str, Any]) -> str:
    """The short Markdown tables recorded in bench/README.md."""
    lines: list[str] = []
    baselines = result.get("baselines", [])
    summary = result["summary"]
    ceiling = summary.get("aiohttp_ceiling_req_per_s") or 0.0
    if baselines:
        by = {(b["client"], b.get("loop", "uvloop"), b["concurrency"]): b for b in baselines}
        levels = sorted({b["concurrency"] for b in baselines})
        runs = list(dict.fromkeys((b["client"], b.get("loop", "uvloop")) for b in baselines))
        lines.append(
            "| HTTP ceiling, no Kafka (req/s) | "
            + " | ".join(f"c={c}" for c in levels)
            + " | client CPU µs/request (lowest) | best vs aiohttp |"
        )
        lines.append("|---|" + "---:|" * (len(levels) + 2))
        for client, loop in runs:
            measured = [by[(client, loop, c)] for c in levels if (client, loop, c) in by]
            cells = [
                _f(by[(client, loop, c)]["req_per_s"]) + _busy(by[(client, loop, c)])
                if (client, loop, c) in by
                else "-"
                for c in levels
            ]
            cpu = min(b["client_cpu_us_per_request"] for b in measured)
            ratio = f"{_best(baselines, client, loop) / ceiling:.2f}" if ceiling else "-"
            label = LABELS.get(client, client) + (" (asyncio loop)" if loop == "asyncio" else "")
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {_f(cpu)} | {ratio} |")
        lines.append("")
    dispatch = result.get("dispatcher", {})
    tput = dispatch.get("throughput")
    latency_runs = dispatch.get("latency", [])
    if tput or latency_runs or dispatch.get("throughput_traced"):
        lines.append(
            "| dispatcher: Kafka → dispatcher → receiver | deliveries/s | CPU µs/delivery | vs aiohttp "
            "| p50 ms | p95 ms | p99 ms |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
    if tput:
        lat = tput.get("latency_ms", {})
        ratio = summary.get("ratio_to_aiohttp_ceiling")
        lines.append(
            f"| throughput: {tput['events']:,} events x {tput['endpoints']} endpoints as fast as possible "
            f"({tput['delivered']:,}/{tput['expected']:,} delivered) | "
            f"{_f(tput.get('deliveries_per_s'))} first→last, {_f(tput.get('steady_deliveries_per_s'))} steady"
            f"{_busy(tput)} | {_f(tput.get('cpu_us_per_delivery', {}).get('dispatcher'))} | "
            f"{'-' if ratio is None else f'{ratio:.2f}'} | "
            f"{_f(lat.get('p50'))} | {_f(lat.get('p95'))} | {_f(lat.get('p99'))} |"
        )
    traced = dispatch.get("throughput_traced")
    if traced:
        lat = traced.get("latency_ms", {})
        lines.append(
            f"| throughput, tracing on (every span exported over OTLP/HTTP: {traced.get('span_exports', 0):,} "
            f"exports, {traced.get('span_bytes', 0) / 1e6:.1f} MB) "
            f"({traced['delivered']:,}/{traced['expected']:,} delivered) | "
            f"{_f(traced.get('deliveries_per_s'))} first→last, {_f(traced.get('steady_deliveries_per_s'))} steady"
            f"{_busy(traced)} | {_f(traced.get('cpu_us_per_delivery', {}).get('dispatcher'))} | - | "
            f"{_f(lat.get('p50'))} | {_f(lat.get('p95'))} | {_f(lat.get('p99'))} |"
        )
    for run in latency_runs:
        lat = run.get("latency_ms", {})
        lines.append(
            f"| latency: {run['rate']:g} events/s x {run['endpoints']} endpoint(s) for {run['seconds']:g} s "
            f"({run['delivered']:,}/{run['expected']:,} delivered) | {_f(run.get('deliveries_per_s'))}{_busy(run)} | "
            f"{_f(run.get('cpu_us_per_delivery', {}).get('dispatcher'))} | - | "
            f"{_f(lat.get('p50'))} | {_f(lat.get('p95'))} | {_f(lat.get('p99'))} |"
        )
    lines.append("")
    if any(_busy(row) for row in [*baselines, *([tput] if tput else []), *latency_runs]):
        lines.append(
            f"\\* other work on the machine used more than {BUSY_CORES:g} core during that measurement "
            "(`other_processes` in the JSON); CPU per request or delivery is the number that does not move "
            "with it.\n"
        )
    verdicts = []
    if "target_deliveries_per_s_met" in summary:
        verdicts.append(
            f"≥ 1,000 deliveries/s sustained: **{'met' if summary['target_deliveries_per_s_met'] else 'missed'}** "
            f"({_f(summary['deliveries_per_s_sustained'])})"
        )
    if "target_ceiling_ratio_met" in summary:
        verdicts.append(
            f"≥ 25 % of the aiohttp ceiling ({_f(ceiling)} req/s): "
            f"**{'met' if summary['target_ceiling_ratio_met'] else 'missed'}** "
            f"({summary['ratio_to_aiohttp_ceiling']:.0%})"
        )
    for run in latency_runs:
        met = summary.get(f"target_p99_{run['endpoints']}ep_met")
        if met is not None:
            verdicts.append(
                f"p99 ≤ 250 ms at {run['rate']:g} events/s x {run['endpoints']} endpoint(s): "
                f"**{'met' if met else 'missed'}**"
            )
    if verdicts:
        lines.append("Targets: " + "; ".join(verdicts) + ".")
    return "\n".join(lines).rstrip() + "\n"


def record(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"dispatch-{datetime.now(UTC):%Y-%m-%d}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    update_readme(result, path)
    return path


def update_readme(result: dict[str, Any], path: Path) -> None:
    """Replace what is between the markers in bench/README.md with this result's tables."""
    recorded = (
        f"Recorded {result['finished_at'][:16].replace('T', ' ')} UTC on {result['machine']['nproc']} "
        f"cores ({result['machine']['cpu_model'] or 'unknown CPU'}), results in "
        f"[`results/{path.name}`](results/{path.name}).\n\n"
    )
    replace_between_markers(README, MARK_START, MARK_END, recorded + table(result))


# -- entry point --------------------------------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item.strip()]


def str_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dispatch.run",
        description="Dispatcher benchmark: HTTP ceilings, throughput and latency in one run (loopback only).",
    )
    parser.add_argument("--events", type=int, default=5000, help="events in the throughput phase (N)")
    parser.add_argument("--endpoints", type=int, default=4, help="webhook endpoints per event (M)")
    parser.add_argument(
        "--concurrency", type=int_list, default=[8, 32, 64], help="baseline concurrency levels"
    )
    parser.add_argument(
        "--clients",
        type=str_list,
        default=[
            "aiohttp",
            "httpx-aiohttp",
            "httpx",
            "sender",
            "sender-reqwest",
            "pyreqwest",
            "rnet",
            "httpr",
        ],
        help="baseline clients",
    )
    parser.add_argument(
        "--asyncio-clients",
        type=str_list,
        default=["aiohttp"],
        help="baseline clients also run on the standard asyncio loop ('' for none)",
    )
    parser.add_argument(
        "--baseline-seconds", type=float, default=5.0, help="duration cap of each baseline run"
    )
    parser.add_argument(
        "--baseline-max-requests", type=int, default=60_000, help="request cap of each baseline run"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="events/s in the latency phase")
    parser.add_argument("--latency-seconds", type=float, default=25.0, help="duration of each latency run")
    parser.add_argument(
        "--latency-endpoints", type=int_list, default=[1, 4], help="endpoint counts for the latency runs"
    )
    parser.add_argument("--body-bytes", type=int, default=1024, help="webhook body size")
    parser.add_argument("--warmup-events", type=int, default=200, help="events delivered before measuring")
    parser.add_argument(
        "--drain-timeout", type=float, default=180.0, help="max wait for a phase's deliveries"
    )
    parser.add_argument(
        "--stall-timeout", type=float, default=30.0, help="give up after this long without progress"
    )
    parser.add_argument(
        "--ready-timeout", type=float, default=90.0, help="max wait for the dispatcher's /readyz"
    )
    parser.add_argument(
        "--phases",
        type=str_list,
        default=["stages", "baselines", "throughput", "throughput-traced", "latency"],
        help="phases to run",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra env for the dispatcher (repeatable)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="wait up to this many seconds for other work on the machine to stop before measuring",
    )
    parser.add_argument(
        "--app",
        default="switchboard_dispatcher.main:create_app",
        help="the dispatcher's app factory (to A/B a candidate change)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="dispatcher processes (uvicorn --workers): replicas sharing the topics' partitions",
    )
    parser.add_argument(
        "--profile-dispatcher", type=Path, help="run the dispatcher under cProfile, write stats here"
    )
    parser.add_argument(
        "--dump-records", type=Path, help="write every receipt of each phase here (JSON lines)"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print the results, do not write them to bench/"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not 1 <= args.events <= 200_000 or not 1 <= args.endpoints <= 64:
        parser.error("--events must be 1..200000 and --endpoints 1..64 (the load is bounded)")
    if not 0 < args.rate <= 5000 or not 0 < args.latency_seconds <= 600:
        parser.error("--rate must be in (0, 5000] and --latency-seconds in (0, 600]")
    unknown = (set(args.clients) | set(args.asyncio_clients)) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown baseline client(s) {sorted(unknown)}; choose from {', '.join(CLIENTS)}")
    if any(not 1 <= c <= 512 for c in args.concurrency) or args.baseline_seconds > 120:
        parser.error("--concurrency levels must be 1..512 and --baseline-seconds at most 120")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    result = asyncio.run(run(args))
    parameters = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key != "no_record"
    }
    ordered = {
        "benchmark": "dispatch",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "git": git_state(),
        "parameters": parameters,
        **result,
    }
    ordered["summary"] = summarize(ordered)
    print()
    print(table(ordered))
    print(json.dumps(ordered["summary"], indent=2))
    if not args.no_record:
        log(f"recorded {record(ordered).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
