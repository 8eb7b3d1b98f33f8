"""The pipeline benchmark (``make bench BENCH=pipeline``): the whole system as users run it.

All four services started as ``make up`` starts them (``deploy/local/services.sh`` through
``tests/e2e/stack.py``), on the shared Kafka and FerretDB, in their own topic namespace and databases. A tenant,
an API key and ``--webhooks`` webhooks are created through the registry's public API; events enter through
ingress's ``POST /v1/events``; the dispatcher delivers them signed to the benchmark receiver
(``bench.dispatch.receiver``), which verifies every signature and records (webhook-id, receive time, publish
time). Phases, in order:

1. **Ceiling** — the aiohttp client loop against the same receiver, no Kafka (``bench.dispatch.baselines``): the
   machine's HTTP ceiling in this run, the best of ``--ceiling-runs``; the targets are ratios to it.
2. **Throughput** — ``--events`` ≈1 KB events posted by ``--clients`` concurrent clients, every one matching
   every webhook: accepted/s, deliveries/s first → last, publish → receive percentiles, CPU per delivery of each
   process (the four services, Kafka, FerretDB, the receiver) from /proc before and after.
3. **Projection lag** — after the last delivery arrives, the registry's delivery log (the successful attempts
   its stats count, ``GET /api/webhooks/{id}/stats``, per webhook: see ``Registry.deliveries_logged``) and event
   log (the registry's ``registry_events_recorded_total`` on ``/metrics``: the event log has no listing route)
   are polled until they show every event and every delivery, or ``--lag-cap`` seconds pass.
4. **Fixed rate** — ``--rate`` events/s for ``--seconds`` s to one webhook (an event type only it subscribes
   to): publish → receive percentiles and CPU per delivery, then the projection lag again.

The machine's load average and the CPU other processes used are recorded with each phase: on a shared machine
the numbers are noisy. Results: ``bench/results/pipeline-<UTC date-time>.json`` and ``.png`` (the chart), and the
table between the markers in ``bench/README.md``.

    uv run python -m bench.pipeline.run --help
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (python bench/pipeline/run.py): make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.common import (
    drop_run,
    infra_pid,
    log,
    new_run,
    ready_port,
    replace_between_markers,
    spawn,
    stop,
)
from bench.dispatch.common import structured_event
from bench.dispatch.run import CpuProbe, ReceiverClient, analyse, git_state, machine, run_baselines
from switchboard_contracts.signing import generate_secret
from switchboard_platform.kafka_admin import ensure_topics
from tests.e2e.stack import Stack, started_stack

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
MARK_START = "<!-- pipeline-results:start -->"
MARK_END = "<!-- pipeline-results:end -->"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"  # noqa: S105 (a throwaway token of a loopback-only run)
EVENTS_TOKEN = "bench-events-token-0123456789abcdef"  # noqa: S105 (same)
SERVICES = ("ingress", "registry", "ai-responder", "dispatcher")
#: What a delivery costs the system: the four services and the infrastructure (not the receiver or the driver).
SYSTEM = (*SERVICES, "kafka", "ferretdb")
THROUGHPUT_TYPE = "ticket.created"  # every webhook subscribes to it
RATE_TYPE = "ticket.updated"  # only the first webhook does
#: The issue's targets (#15), as ratios to the aiohttp ceiling measured in the same run where machines differ.
TARGETS = {
    "ceiling_ratio": 0.25,
    "system_cpu_us_per_delivery_at_ceiling_6500": 1000.0,
    "projection_lag_s": 5.0,
    "p99_ms_at_rate": 50.0,
}
DELIVERY = {"max_in_flight": 64, "rate_limit_per_minute": 100_000, "retry_schedule": [1, 2, 4]}


def cost(before: dict[str, float], after: dict[str, float], deliveries: int) -> dict[str, float]:
    """CPU µs per delivery of each process and of the system (services + Kafka + FerretDB)."""
    if deliveries <= 0:
        return {}
    per = {
        name: round((after[name] - before[name]) / deliveries * 1e6, 1)
        for name in before
        if name in after and not name.startswith("_")
    }
    per["system"] = round(sum(per.get(name, 0.0) for name in SYSTEM), 1)
    return per


# -- the registry's view -------------------------------------------------------------------------------------------


class Registry:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.auth: dict[str, str] = {}
        #: The tenant's API key, once ``tenant`` made it.
        self.key = ""

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with self.http.request(method, f"{self.url}{path}", **kwargs) as response:
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
            body: dict[str, Any] = await response.json()
            return body

    async def tenant(self) -> str:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        tenant = (
            await self._json(
                "POST", "/api/admin/tenants", headers=admin, json={"name": "Bench", "development_mode": True}
            )
        )["data"]["id"]
        key = (
            await self._json(
                "POST", f"/api/admin/tenants/{tenant}/api-keys", headers=admin, json={"name": "bench"}
            )
        )["data"]["key"]
        self.key = str(key)
        self.auth = {"Authorization": f"Bearer {key}"}
        return str(tenant)

    async def webhook(self, name: str, url: str, events: list[str], secret: str) -> str:
        body = {"name": name, "url": url, "events": events, "secret": secret, "delivery": DELIVERY}
        created = await self._json("POST", "/api/webhooks", headers=self.auth, json=body)
        return str(created["data"]["_id"])

    async def deliveries_logged(self, webhook_id: str) -> int:
        """Successful attempts the webhook's delivery log holds, read from its stats (seed 001's
        ``GET /api/webhooks/{id}/stats``). The delivery log writes a batch's attempts and then, in the same batch,
        its stats rollups, so the stats count an attempt once the log shows it. A listing's ``total`` would say
        the same but reads every attempt of the endpoint to group them (ADR 0006): polled every second over
        20,000 deliveries, the probe itself became the load that held the projection back."""
        body = await self._json(
            "GET", f"/api/webhooks/{webhook_id}/stats", headers=self.auth, params={"window": "6h"}
        )
        return int(body["data"]["attempts"]["succeeded"])

    async def events_logged(self) -> int:
        """Events the registry recorded in its event log (its Prometheus counter: no route lists the log)."""
        async with self.http.get(f"{self.url}/metrics") as response:
            text = await response.text()
        match = re.search(r'^registry_events_recorded_total\{result="inserted"\} ([0-9.e+]+)$', text, re.M)
        return int(float(match.group(1))) if match else 0


async def projection_lag(
    registry: Registry,
    expected_events: int,
    expected_deliveries: dict[str, int],
    last_delivery: float,
    cap_s: float,
    interval_s: float,
) -> dict[str, Any]:
    """Seconds after ``last_delivery`` (wall clock) until the event log and the delivery log show everything;
    None for a log not caught up within ``cap_s`` (with the counts it reached)."""
    want_deliveries = sum(expected_deliveries.values())
    lag: dict[str, float | None] = {"event_log_s": None, "delivery_log_s": None}
    timeline: list[tuple[float, int, int]] = []
    deadline = time.monotonic() + cap_s
    events = deliveries = 0
    while True:
        events = await registry.events_logged()
        deliveries = sum(await asyncio.gather(*(registry.deliveries_logged(w) for w in expected_deliveries)))
        now = time.time()
        timeline.append((round(now - last_delivery, 2), events, deliveries))
        if lag["event_log_s"] is None and events >= expected_events:
            lag["event_log_s"] = round(max(now - last_delivery, 0.0), 2)
        if lag["delivery_log_s"] is None and deliveries >= want_deliveries:
            lag["delivery_log_s"] = round(max(now - last_delivery, 0.0), 2)
        if None not in lag.values() or time.monotonic() > deadline:
            break
        await asyncio.sleep(interval_s)
    return {
        **lag,
        "cap_s": cap_s,
        "caught_up": None not in lag.values(),
        "events": {"expected": expected_events, "reached": events},
        "deliveries": {"expected": want_deliveries, "reached": deliveries},
        "timeline": timeline,
    }


# -- load ----------------------------------------------------------------------------------------------------------


class Publisher:
    """Posts ≈1 KB CloudEvents (structured JSON) to ingress's ``POST /v1/events`` as an internal producer does."""

    def __init__(self, http: aiohttp.ClientSession, ingress: str, tenant: str, body_bytes: int) -> None:
        self.http = http
        self.url = f"{ingress}/v1/events"
        self.tenant = tenant
        self.body_bytes = body_bytes
        self.headers = {"Authorization": f"Bearer {EVENTS_TOKEN}", "Content-Type": "application/json"}
        self.statuses: Counter[int] = Counter()
        self.latencies: list[float] = []

    async def post(self, kind: str, phase: str, seq: int) -> bool:
        event = structured_event(kind, self.tenant, phase, seq, self.body_bytes)
        started = time.perf_counter()
        try:
            async with self.http.post(self.url, data=json.dumps(event), headers=self.headers) as response:
                await response.read()
                status = response.status
        except aiohttp.ClientError:
            status = 0
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] += 1
        return status == 202

    async def closed_loop(self, kind: str, phase: str, count: int, clients: int) -> dict[str, Any]:
        """``count`` events by ``clients`` concurrent clients, each posting its next one when answered."""
        self.statuses.clear()
        self.latencies.clear()
        issued = accepted = 0

        async def client() -> None:
            nonlocal issued, accepted
            while issued < count:
                seq = issued
                issued += 1
                ok = await self.post(kind, phase, seq)  # not ``accepted += await``: that loses updates
                accepted += ok

        started = time.time()
        await asyncio.gather(*(client() for _ in range(clients)))
        return self._summary(started, accepted)

    async def paced(self, kind: str, phase: str, rate: float, seconds: float) -> dict[str, Any]:
        """One event every 1/``rate`` s on schedule (open loop: a slow answer does not delay the next one)."""
        self.statuses.clear()
        self.latencies.clear()
        loop = asyncio.get_running_loop()
        origin, started = loop.time(), time.time()
        tasks = []
        for seq in range(int(rate * seconds)):
            delay = origin + seq / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.post(kind, phase, seq)))
        accepted = sum(await asyncio.gather(*tasks))
        return self._summary(started, accepted)

    def _summary(self, started: float, accepted: int) -> dict[str, Any]:
        wall = time.time() - started
        ordered = sorted(self.latencies)
        return {
            "started": started,
            "posted": len(ordered),
            "accepted": accepted,
            "seconds": round(wall, 3),
            "accepted_per_s": round(accepted / wall, 1) if wall > 0 else 0.0,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "post_p50_ms": round(ordered[len(ordered) // 2] * 1000, 2) if ordered else None,
            "post_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2) if ordered else None,
        }


# -- the run -------------------------------------------------------------------------------------------------------


def delivered_by_path(records: Iterable[tuple[str, str, float, float | None]]) -> dict[str, int]:
    ids: dict[str, set[str]] = {}
    for path, webhook_id, _, _ in records:
        ids.setdefault(path, set()).add(webhook_id)
    return {path: len(found) for path, found in ids.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap, mongodb_url, run_id, namespace, logs = new_run("pipeline")
    log(f"run {run_id}: topics {namespace}*, logs and service run directory {logs}")
    await ensure_topics(bootstrap, namespace)

    paths = [f"/hooks/w{i}" for i in range(args.webhooks)]
    secrets = {path: generate_secret() for path in paths}
    baseline_secret = generate_secret()
    secrets_file = logs / "receiver-secrets.json"
    secrets_file.write_text(json.dumps({"/baseline": baseline_secret, **secrets}))
    secrets_file.chmod(0o600)
    receiver_process = await spawn(
        [sys.executable, "-m", "bench.dispatch.receiver", f"--secrets={secrets_file}", "--max-seconds=3600"],
        logs / "receiver.log",
        stdout_pipe=True,
    )
    env = {
        "SB_KAFKA_BOOTSTRAP": bootstrap,
        "SB_MONGODB_URL": mongodb_url,
        "SB_TOPIC_NAMESPACE": namespace,
        "SB_INGRESS_MONGODB_DATABASE": f"bench_{run_id}_ingress",
        "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
        "SB_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SB_AI_RESPONDER_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    result: dict[str, Any] = {"benchmark": "pipeline", "run_id": run_id}
    stack: Stack | None = None
    try:
        port = await ready_port(receiver_process, logs / "receiver.log")
        log("starting the four services (deploy/local/services.sh up)")
        with started_stack(logs, env) as stack:
            result.update(
                await measure(args, stack, port, receiver_process.pid, baseline_secret, secrets, logs)
            )
    finally:
        await stop(receiver_process)
        secrets_file.unlink(missing_ok=True)
        log("cleaning up topics and databases")
        databases = [env["SB_INGRESS_MONGODB_DATABASE"], *(stack.databases if stack is not None else ())]
        await drop_run(bootstrap, mongodb_url, namespace, databases)
    return result


async def measure(
    args: argparse.Namespace,
    stack: Stack,
    port: int,
    receiver_pid: int,
    baseline_secret: str,
    secrets: dict[str, str],
    logs: Path,
) -> dict[str, Any]:
    groups = {name: int((stack.run_dir / "pids" / f"{name}.pid").read_text().split()[0]) for name in SERVICES}
    pids = {"receiver": receiver_pid, "driver": os.getpid()}
    pids.update({name: pid for name in ("kafka", "ferretdb") if (pid := infra_pid(name)) is not None})
    # The services are process groups (uv run → uvicorn); Kafka, FerretDB, the receiver and this driver pids.
    probe = CpuProbe(pids, groups)
    result: dict[str, Any] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=max(args.clients, 64))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        receiver = ReceiverClient(http, port)
        log(
            f"phase 1: the aiohttp ceiling ({args.clients} concurrent, no Kafka; the best of {args.ceiling_runs} runs)"
        )
        ceiling_args = argparse.Namespace(
            clients=["aiohttp"],
            asyncio_clients=[],
            concurrency=[args.clients],
            baseline_seconds=args.ceiling_seconds,
            baseline_max_requests=200_000,
            body_bytes=args.body_bytes,
        )
        # The best of a few short runs: a single one read 9,000-12,500 req/s on the same quiet machine, and a low
        # ceiling flatters every ratio to it.
        ceilings = [
            (await run_baselines(ceiling_args, receiver, baseline_secret, CpuProbe(pids), logs))[0]
            for _ in range(args.ceiling_runs)
        ]
        result["ceiling"] = max(ceilings, key=lambda run: float(run["req_per_s"]))
        result["ceiling_runs_req_per_s"] = [round(float(run["req_per_s"])) for run in ceilings]
        await receiver.reset()

        registry = Registry(http, stack.urls["registry"])
        tenant = await registry.tenant()
        webhooks: dict[str, str] = {}
        for index, path in enumerate(secrets):
            events = [THROUGHPUT_TYPE, RATE_TYPE] if index == 0 else [THROUGHPUT_TYPE]
            url = f"http://127.0.0.1:{port}{path}"
            webhooks[path] = await registry.webhook(f"bench {path}", url, events, secrets[path])
        publisher = Publisher(http, stack.urls["ingress"], tenant, args.body_bytes)
        log(f"tenant {tenant}, {len(webhooks)} webhooks; warming up until every webhook got a delivery")
        result["warmup"] = await warm_up(publisher, receiver, set(webhooks))
        accepted_total = result["warmup"]["accepted"]

        log(f"phase 2: {args.events} events by {args.clients} clients to {len(webhooks)} webhooks")
        expected = args.events * len(webhooks)
        load_before, before = os.getloadavg()[0], probe.snapshot()
        posted = await publisher.closed_loop(THROUGHPUT_TYPE, "throughput", args.events, args.clients)
        accepted_total += posted["accepted"]
        log(
            f"  posted in {posted['seconds']} s: {posted['accepted_per_s']} accepted/s, statuses {posted['statuses']}"
        )
        complete = await receiver.wait_for(
            "throughput", posted["accepted"] * len(webhooks), args.drain_cap, 60
        )
        after = probe.snapshot()
        records = await receiver.records("throughput")
        delivery = analyse(records, expected, posted["started"])
        last = max((received for _, _, received, _ in records), default=time.time())
        wall = last - posted["started"]
        throughput: dict[str, Any] = {
            "events": args.events,
            "webhooks": len(webhooks),
            "clients": args.clients,
            "ingress": posted,
            **{k: v for k, v in delivery.items() if k != "receipts_per_second"},
            "receipts_per_second": delivery.get("receipts_per_second", []),
            "complete": complete,
            "cpu_us_per_delivery": cost(before, after, delivery["delivered"]),
            "cpu_cores": CpuProbe.usage(before, after, wall),
            "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        log(
            f"  {delivery['delivered']}/{expected} delivered, {delivery.get('deliveries_per_s', 0):.0f}/s first → last,"
            f" p50/p99 {delivery.get('latency_ms', {}).get('p50')}/{delivery.get('latency_ms', {}).get('p99')} ms,"
            f" system {throughput['cpu_us_per_delivery'].get('system')} µs/delivery"
        )

        log(f"phase 3: projection lag (up to {args.lag_cap:g} s)")
        all_records = await receiver.records("warmup") + records
        lag = await projection_lag(
            registry,
            accepted_total,
            {webhooks[p]: n for p, n in delivered_by_path(all_records).items()},
            last,
            args.lag_cap,
            args.lag_interval,
        )
        # What the throughput run cost once the projections had also done their work (or the cap passed).
        throughput["cpu_us_per_delivery_with_projections"] = cost(
            before, probe.snapshot(), delivery["delivered"]
        )
        result["throughput"] = throughput
        result["projection_lag"] = lag
        log(f"  {describe_lag(lag)}")

        log(f"phase 4: {args.rate:g} events/s to 1 webhook for {args.seconds:g} s")
        load_before, before = os.getloadavg()[0], probe.snapshot()
        paced = await publisher.paced(RATE_TYPE, "rate", args.rate, args.seconds)
        accepted_total += paced["accepted"]
        await receiver.wait_for("rate", paced["accepted"], args.drain_cap, 60)
        after = probe.snapshot()
        rate_records = await receiver.records("rate")
        rated = analyse(rate_records, paced["accepted"], paced["started"])
        rate_last = max((received for _, _, received, _ in rate_records), default=time.time())
        rate_lag = await projection_lag(
            registry,
            accepted_total,
            {webhooks[p]: n for p, n in delivered_by_path(all_records + rate_records).items()},
            rate_last,
            args.lag_cap,
            args.lag_interval,
        )
        result["rate"] = {
            "rate": args.rate,
            "seconds": args.seconds,
            "ingress": paced,
            **{k: v for k, v in rated.items() if k != "receipts_per_second"},
            "cpu_us_per_delivery": cost(before, after, rated["delivered"]),
            "cpu_cores": CpuProbe.usage(before, after, max(rate_last - paced["started"], 1e-9)),
            "loadavg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "projection_lag": rate_lag,
        }
        log(
            f"  {rated['delivered']}/{paced['accepted']} delivered, p50/p99"
            f" {rated.get('latency_ms', {}).get('p50')}/{rated.get('latency_ms', {}).get('p99')} ms;"
            f" {describe_lag(rate_lag)}"
        )
    return result


async def warm_up(publisher: Publisher, receiver: ReceiverClient, paths: set[str]) -> dict[str, Any]:
    """Events until every webhook received one: the dispatcher has loaded the webhooks, connections are open."""
    accepted, deadline, seq = 0, time.monotonic() + 120, 0
    while time.monotonic() < deadline:
        for _ in range(4):
            accepted += await publisher.post(THROUGHPUT_TYPE, "warmup", seq)
            seq += 1
        await asyncio.sleep(0.5)
        if {path for path, _, _, _ in await receiver.records("warmup")} >= paths:
            # Let the last warm-up deliveries land before the throughput phase counts anything.
            await asyncio.sleep(2)
            return {"accepted": accepted}
    raise RuntimeError("the dispatcher delivered to not every webhook within 120 s of warm-up")


def describe_lag(lag: dict[str, Any]) -> str:
    parts = []
    for name, key, counts in (
        ("event log", "event_log_s", "events"),
        ("delivery log", "delivery_log_s", "deliveries"),
    ):
        if lag[key] is not None:
            parts.append(f"{name} caught up {lag[key]} s after the last delivery")
        else:
            reached = lag[counts]
            parts.append(
                f"{name} not caught up after {lag['cap_s']:g} s ({reached['reached']}/{reached['expected']})"
            )
    return "; ".join(parts)


# -- verdicts, table, chart ------------------------------------------------------------------------------------------


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    ceiling = float(result["ceiling"]["req_per_s"])
    tput, rate, lag = result["throughput"], result["rate"], result["projection_lag"]
    rate_of = float(tput.get("deliveries_per_s", 0.0))
    cpu_target = TARGETS["system_cpu_us_per_delivery_at_ceiling_6500"] * 6500 / ceiling if ceiling else 0.0
    lags = [lag["event_log_s"], lag["delivery_log_s"]]
    worst_lag = None if None in lags else max(lags)
    p99 = rate.get("latency_ms", {}).get("p99")
    return [
        {
            "what": "deliveries/s (throughput run) ÷ aiohttp ceiling",
            "measured": round(rate_of / ceiling, 3) if ceiling else None,
            "target": f"≥ {TARGETS['ceiling_ratio']}",
            "met": bool(ceiling) and rate_of / ceiling >= TARGETS["ceiling_ratio"],
        },
        {
            "what": "whole-system CPU µs per delivery (throughput run)",
            "measured": tput["cpu_us_per_delivery"].get("system"),
            "target": f"≤ {cpu_target:,.0f} (1,000 x 6,500 / ceiling)",
            "met": tput["cpu_us_per_delivery"].get("system", float("inf")) <= cpu_target,
        },
        {
            "what": "projection lag after the last delivery, s (slower of the two logs)",
            "measured": worst_lag if worst_lag is not None else f"not caught up after {lag['cap_s']:g} s",
            "target": f"≤ {TARGETS['projection_lag_s']:g}",
            "met": worst_lag is not None and worst_lag <= TARGETS["projection_lag_s"],
        },
        {
            "what": f"publish → receive p99 at {rate['rate']:g} events/s, ms",
            "measured": p99,
            "target": f"≤ {TARGETS['p99_ms_at_rate']:g}",
            "met": p99 is not None and p99 <= TARGETS["p99_ms_at_rate"],
        },
    ]


def _lag_text(lag: dict[str, Any], key: str, counts: str) -> str:
    if lag[key] is not None:
        return f"{lag[key]:g} s"
    reached = lag[counts]
    return f"not caught up after {lag['cap_s']:g} s ({reached['reached']:,}/{reached['expected']:,})"


def table(result: dict[str, Any]) -> str:
    tput, rate, lag = result["throughput"], result["rate"], result["projection_lag"]
    ceiling = result["ceiling"]["req_per_s"]
    lat, rlat = tput.get("latency_ms", {}), rate.get("latency_ms", {})
    m = result["machine"]
    lines = [
        f"Run `{result['run_id']}` on {result['date']} ({m['nproc']} CPUs, {m['cpu_model']}; load average "
        f"{tput['loadavg_1m_before_after'][0]} → {tput['loadavg_1m_before_after'][1]} over the throughput run, "
        f"other processes {tput['cpu_cores'].get('other_processes', 0):.2f} cores — a shared machine, so the CPU "
        "numbers are noisy). All four services, shared Kafka and FerretDB, "
        f"{tput['events']:,} events by {tput['clients']} clients to {tput['webhooks']} webhooks "
        f"({tput['events'] * tput['webhooks']:,} deliveries), then {rate['rate']:g} events/s to 1 webhook for "
        f"{rate['seconds']:g} s.",
        "",
        "| | measured |",
        "|---|---:|",
        f"| accepted/s (`POST /v1/events`) | {tput['ingress']['accepted_per_s']:,.0f} |",
        f"| deliveries/s, first → last | {tput.get('deliveries_per_s', 0):,.0f} |",
        f"| aiohttp ceiling, req/s (same run) | {ceiling:,.0f} |",
        f"| deliveries/s ÷ ceiling | {tput.get('deliveries_per_s', 0) / ceiling:.2f} |",
        f"| delivered / expected | {tput['delivered']:,} / {tput['expected']:,} |",
        f"| publish → receive p50 / p99 under load | {lat.get('p50', 0):,.0f} / {lat.get('p99', 0):,.0f} ms |",
        f"| at {rate['rate']:g} events/s: p50 / p99 | {rlat.get('p50', 0):,.1f} / {rlat.get('p99', 0):,.1f} ms |",
        f"| projection lag: event log | {_lag_text(lag, 'event_log_s', 'events')} |",
        f"| projection lag: delivery log | {_lag_text(lag, 'delivery_log_s', 'deliveries')} |",
        "",
        "CPU µs per delivery by process: the throughput run up to its last delivery; the same run until the "
        f"registry caught up or {lag['cap_s']:g} s passed (the projections' backlog); the {rate['rate']:g}/s run:",
        "",
        "| process | throughput | + projections (caught up or cap) | at fixed rate |",
        "|---|---:|---:|---:|",
    ]
    for name in (*SYSTEM, "system", "receiver", "driver"):
        cells = [
            tput["cpu_us_per_delivery"].get(name),
            tput["cpu_us_per_delivery_with_projections"].get(name),
            rate["cpu_us_per_delivery"].get(name),
        ]
        label = f"**{name}** (services + Kafka + FerretDB)" if name == "system" else name
        lines.append(f"| {label} | " + " | ".join("—" if c is None else f"{c:,.0f}" for c in cells) + " |")
    lines += ["", "| target (issue #15) | measured | target | |", "|---|---:|---:|---|"]
    for v in result["verdicts"]:
        lines.append(
            f"| {v['what']} | {v['measured']} | {v['target']} | {'met' if v['met'] else 'not met'} |"
        )
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tput, lag = result["throughput"], result["projection_lag"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.5))
    receipts = tput.get("receipts_per_second", [])
    top.bar(
        range(len(receipts)),
        receipts,
        width=1.0,
        align="edge",
        color="#4477aa",
        label="deliveries received per second",
    )
    top.axhline(tput.get("deliveries_per_s", 0), color="#cc6677", ls="--", label="first → last average")
    top.axhline(
        0.25 * result["ceiling"]["req_per_s"], color="#228833", ls=":", label="target: 0.25 x aiohttp ceiling"
    )
    top.set_xlabel("seconds since the first delivery")
    top.set_ylabel("deliveries/s")
    top.set_title(
        f"Throughput: {tput['events']:,} events x {tput['webhooks']} webhooks through POST /v1/events "
        f"(p50 {tput.get('latency_ms', {}).get('p50', 0):,.0f} ms, p99 {tput.get('latency_ms', {}).get('p99', 0):,.0f} ms)"
    )
    top.legend(loc="upper right", fontsize=8)
    if lag["timeline"]:
        seconds = [row[0] for row in lag["timeline"]]
        bottom.plot(
            seconds,
            [100 * row[1] / max(lag["events"]["expected"], 1) for row in lag["timeline"]],
            label="event log",
        )
        bottom.plot(
            seconds,
            [100 * row[2] / max(lag["deliveries"]["expected"], 1) for row in lag["timeline"]],
            label="delivery log",
        )
    bottom.axvline(TARGETS["projection_lag_s"], color="#228833", ls=":", label="target: 5 s")
    bottom.set_ylim(0, 105)
    bottom.set_xlabel("seconds after the last delivery")
    bottom.set_ylabel("% shown by the registry's API")
    bottom.set_title("Projection lag: what the registry shows after the last delivery arrived")
    bottom.legend(loc="lower right", fontsize=8)
    figure.suptitle(f"bench/pipeline, run {result['run_id']} ({result['date'][:10]})", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def record(result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["date"]).strftime("%Y-%m-%d-%H%M")
    path = RESULTS / f"pipeline-{stamp}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    chart(result, path.with_suffix(".png"))
    replace_between_markers(README, MARK_START, MARK_END, table(result) + "\n")
    return path


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=5000, help="events in the throughput run")
    parser.add_argument("--webhooks", type=int, default=4, help="webhooks every throughput event goes to")
    parser.add_argument("--clients", type=int, default=32, help="concurrent POST /v1/events clients")
    parser.add_argument("--rate", type=float, default=200, help="events/s in the fixed-rate run")
    parser.add_argument("--seconds", type=float, default=30, help="length of the fixed-rate run")
    parser.add_argument("--body-bytes", type=int, default=1024, help="webhook body size")
    parser.add_argument("--ceiling-seconds", type=float, default=5, help="length of the aiohttp ceiling run")
    parser.add_argument(
        "--ceiling-runs", type=int, default=3, help="aiohttp ceiling runs; the targets are ratios to the best"
    )
    parser.add_argument("--lag-cap", type=float, default=300, help="give up on the projections after this")
    parser.add_argument("--lag-interval", type=float, default=1.0, help="seconds between registry polls")
    parser.add_argument("--drain-cap", type=float, default=600, help="give up waiting for deliveries after")
    parser.add_argument("--no-record", action="store_true", help="print the results without writing them")
    parser.add_argument("--redraw", type=Path, help="only redraw the chart and README table of this result")
    return parser.parse_args(argv)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    if args.redraw is not None:  # the table, chart and README section of a recorded run, again
        recorded: dict[str, Any] = json.loads(args.redraw.read_text())
        chart(recorded, args.redraw.with_suffix(".png"))
        replace_between_markers(README, MARK_START, MARK_END, table(recorded) + "\n")
        print(table(recorded))
        return 0
    result = asyncio.run(run(args))
    result.update(
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "git": git_state(),
            "args": {k: v for k, v in vars(args).items() if k not in ("no_record", "redraw")},
            "targets": TARGETS,
        }
    )
    result["verdicts"] = verdicts(result)
    print(table(result))
    if not args.no_record:
        log(f"recorded {record(result)} and its chart")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
