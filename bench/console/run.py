"""The console benchmark (``make bench BENCH=console``): server time of every console page, and of the API
routes behind them, with a delivery log of 10,000 deliveries (issue #14: every page under 200 ms).

1. **A stack** — the four services of ``deploy/local/services.sh`` on the running Kafka and MongoDB (FerretDB
   locally), in a topic namespace and databases of the run's own, removed afterwards.
2. **A log of N deliveries** — one tenant, three webhooks; ``--deliveries`` (10,000) attempt events for the
   first webhook published to the attempts topic the way the dispatcher writes them, and their events to
   platform.events, so the registry projects both exactly as in production (no collection is written
   directly: the measurement holds whatever the storage layout). Most deliveries succeed at once; every 8th
   fails three times and is exhausted; every 20th is still waiting for its retry. Nobody subscribes to the
   events' type, so the dispatcher delivers nothing.
3. **Pages** — signed in with the tenant's API key (the console's own sign-in form, CSRF token included), each
   page is requested ``--repeat`` times after two warm-ups, one request at a time, on loopback: the client's
   wall time is the server time plus well under a millisecond. p50 / p95 / max per page against 200 ms, and
   the first request's time on its own (the registry's caches cold).

Results: ``bench/results/console-<UTC date-time>.json`` and the table between the markers in
``bench/README.md``.

    uv run python -m bench.console.run --help
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script (python bench/console/run.py): make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from bench.common import ROOT, drop_run, log, new_run, percentiles, replace_between_markers
from bench.dispatch.run import git_state, machine
from bench.pipeline.run import ADMIN_TOKEN, Registry
from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.events import AttemptOutcome, DeliveryAttempt
from switchboard_contracts.signing import generate_secret
from switchboard_contracts.topics import Topic
from switchboard_dispatcher.domain.records import attempt_event
from switchboard_platform.kafka_admin import ensure_topics
from tests.e2e.stack import Stack, started_stack

RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
MARK_START = "<!-- console:start -->"
MARK_END = "<!-- console:end -->"
#: The webhooks subscribe to this catalog type, which the run never publishes: the dispatcher delivers nothing.
UNUSED_TYPE = "form.submitted"
#: Other teams' event types (outside the catalog): no service acts on them, the registry logs them.
EVENT_TYPES = ("order.created", "order.paid", "invoice.sent", "shipment.delayed")
BUDGET_MS = 200.0


def delivery_id_of(index: int) -> str:
    return f"msg_bench{index:027d}"


def attempts_of(
    index: int, event: CloudEvent, tenant: str, webhook: str, at: datetime
) -> list[DeliveryAttempt]:
    """Delivery ``index``'s attempts: exhausted after three failures every 8th, waiting for a retry every 20th,
    else one success."""
    common: dict[str, Any] = {
        "delivery_id": delivery_id_of(index),
        "event_id": event.id,
        "event_type": event.type,
        "tenant_id": tenant,
        "endpoint_id": webhook,
        "endpoint_kind": "webhook",
        "url": "https://hooks.example.test/orders",
    }
    if index % 8 == 0:
        outcomes: list[AttemptOutcome] = ["retry_scheduled", "retry_scheduled", "exhausted"]
        return [
            DeliveryAttempt(
                **common,
                attempt=n,
                outcome=outcome,
                status_code=503,
                latency_ms=120.0 + n,
                response_body='{"error":"unavailable"}',
                error_kind="http_status",
                error="HTTP 503",
                attempted_at=at + timedelta(seconds=4 * (n - 1)),
                next_attempt_at=at + timedelta(seconds=4 * n) if outcome == "retry_scheduled" else None,
            )
            for n, outcome in enumerate(outcomes, start=1)
        ]
    if index % 20 == 0:
        return [
            DeliveryAttempt(
                **common,
                attempt=1,
                outcome="retry_scheduled",
                error_kind="timeout",
                error="timed out after 15 s",
                attempted_at=at,
                next_attempt_at=at + timedelta(hours=1),
            )
        ]
    return [
        DeliveryAttempt(
            **common,
            attempt=1,
            outcome="succeeded",
            status_code=200,
            latency_ms=35.0 + index % 50,
            response_body='{"ok":true}',
            attempted_at=at,
        )
    ]


class Console(Registry):
    """The pipeline bench's registry client, plus a signed-in console session, each request timed."""

    async def integration(self) -> str:
        body = {
            "name": "Tickets",
            "provider": "generic",
            "outgoing_webhook_url": "https://hooks.example.test/tickets",
            "verification": {"webhook_secret": "bench-console-secret-0123"},
            "events": [UNUSED_TYPE],
        }
        created = await self._json("POST", "/api/webhook/config", headers=self.auth, json=body)
        return str(created["data"].get("id") or created["data"].get("_id"))

    async def attempts_logged(self, webhook: str) -> int:
        body = await self._json(
            "GET", f"/api/webhooks/{webhook}/stats", headers=self.auth, params={"window": "24h"}
        )
        return int(body["data"]["attempts"]["total"])

    async def sign_in(self, key: str) -> None:
        async with self.http.get(f"{self.url}/admin/sign-in") as response:
            page = await response.text()
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if match is None:
            raise RuntimeError("the sign-in page has no CSRF token")
        form = {"credential": key, "csrf_token": match.group(1)}
        async with self.http.post(f"{self.url}/admin/sign-in", data=form, allow_redirects=False) as response:
            if response.status != 303:
                raise RuntimeError(f"sign-in answered {response.status}: {await response.text()}")

    async def time(self, path: str, repeat: int, *, api: bool = False) -> dict[str, Any]:
        headers = self.auth if api else {}
        timings: list[float] = []
        size = 0
        for _ in range(repeat + 2):
            started = time.perf_counter()
            async with self.http.get(f"{self.url}{path}", headers=headers, allow_redirects=False) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
            timings.append((time.perf_counter() - started) * 1000)
            size = len(body)
        # The first request finds the registry's caches cold (settled stats buckets, the log's chunk floor);
        # it is reported on its own, the percentiles are of the requests after two warm-ups.
        measured = timings[2:]
        return {"path": path, "bytes": size, "first": timings[0], **percentiles(measured, (50, 95))}


async def seed(bootstrap: str, namespace: str, tenant: str, webhook: str, deliveries: int) -> int:
    """Publish the events and their attempts; returns how many attempts."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    start = datetime.now(UTC) - timedelta(hours=2)
    pending: list[asyncio.Future[Any]] = []

    async def send(topic: Topic, event: CloudEvent) -> None:
        pending.append(
            await producer.send(
                f"{namespace}{topic}",
                event.kafka_value(),
                key=event.kafka_key(),
                headers=event.kafka_header_list(),
            )
        )

    attempts = 0
    try:
        for index in range(deliveries):
            at = start + timedelta(seconds=index * 7200 / deliveries)
            event = CloudEvent(
                source="/bench/console",
                type=EVENT_TYPES[index % len(EVENT_TYPES)],
                tenant=tenant,
                partitionkey=f"order-{index}",
                time=at,
                data={"order_id": f"order-{index}", "amount": index % 997, "note": "x" * 400},
            )
            await send(Topic.PLATFORM_EVENTS, event)
            for attempt in attempts_of(index, event, tenant, webhook, at):
                await send(Topic.DELIVERY_ATTEMPTS, attempt_event(attempt))
                attempts += 1
            if len(pending) > 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return attempts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bootstrap, mongodb_url, run_id, namespace, logs = new_run("console")
    log(f"run {run_id}: topics {namespace}*, logs {logs}")
    await ensure_topics(bootstrap, namespace)
    env = {
        "SB_KAFKA_BOOTSTRAP": bootstrap,
        "SB_MONGODB_URL": mongodb_url,
        "SB_TOPIC_NAMESPACE": namespace,
        "SB_INGRESS_MONGODB_DATABASE": f"bench_{run_id}_ingress",
        "SB_REGISTRY_ADMIN_TOKEN": ADMIN_TOKEN,
        "SB_AI_RESPONDER_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    result: dict[str, Any] = {"benchmark": "console", "run_id": run_id, "deliveries": args.deliveries}
    stack: Stack | None = None
    try:
        log("starting the four services (deploy/local/services.sh up)")
        with started_stack(logs, env) as stack:
            # unsafe: the jar keeps cookies of IP-address hosts (the registry is on 127.0.0.1).
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                console = Console(http, stack.urls["registry"])
                tenant = await console.tenant()
                hooks = [
                    await console.webhook(
                        name, f"https://hooks.example.test/{name}", [UNUSED_TYPE], generate_secret()
                    )
                    for name in ("orders", "billing", "audit")
                ]
                integration = await console.integration()
                log(f"publishing {args.deliveries} events and their attempts")
                started = time.monotonic()
                attempts = await seed(bootstrap, namespace, tenant, hooks[0], args.deliveries)
                while (logged := await console.attempts_logged(hooks[0])) < attempts:
                    if time.monotonic() - started > args.seed_cap:
                        raise RuntimeError(f"the delivery log shows {logged} of {attempts} attempts")
                    await asyncio.sleep(1)
                result["seeded_s"] = round(time.monotonic() - started, 1)
                result["attempts"] = attempts
                log(f"{attempts} attempts projected in {result['seeded_s']} s; timing pages")
                await console.sign_in(console.key)
                hook = hooks[0]
                since = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
                pages = [
                    ("overview", "/admin/overview"),
                    ("webhooks", "/admin/webhooks"),
                    ("webhook", f"/admin/webhooks/{hook}"),
                    ("delivery log", f"/admin/deliveries?webhook={hook}"),
                    ("delivery log, page 100", f"/admin/deliveries?webhook={hook}&page=100"),
                    ("delivery log, failed", f"/admin/deliveries?webhook={hook}&status=failed"),
                    ("delivery log, one type", f"/admin/deliveries?webhook={hook}&event_type=order.paid"),
                    ("delivery log, last 30 min", f"/admin/deliveries?webhook={hook}&since={since}"),
                    ("delivery, 3 attempts", f"/admin/webhooks/{hook}/deliveries/{delivery_id_of(8)}"),
                    ("delivery, 1 attempt", f"/admin/webhooks/{hook}/deliveries/{delivery_id_of(9)}"),
                    ("integrations", "/admin/integrations"),
                    ("integration", f"/admin/integrations/{integration}"),
                    ("live chats", "/admin/chats"),
                    ("reviews", "/admin/reviews"),
                ]
                api = [
                    ("API: deliveries", f"/api/webhooks/{hook}/deliveries"),
                    ("API: deliveries, failed", f"/api/webhooks/{hook}/deliveries?status=failed"),
                    ("API: one delivery", f"/api/webhooks/{hook}/deliveries/{delivery_id_of(8)}"),
                    ("API: stats, 24 h", f"/api/webhooks/{hook}/stats?window=24h"),
                ]
                rows = []
                for name, path in pages:
                    rows.append({"page": name, **await console.time(path, args.repeat)})
                    log(f"  {name:28s} p50 {rows[-1]['p50']:7.1f} ms  p95 {rows[-1]['p95']:7.1f} ms")
                for name, path in api:
                    rows.append({"page": name, **await console.time(path, args.repeat, api=True)})
                    log(f"  {name:28s} p50 {rows[-1]['p50']:7.1f} ms  p95 {rows[-1]['p95']:7.1f} ms")
                result["pages"] = rows
    finally:
        log("cleaning up topics and databases")
        databases = [env["SB_INGRESS_MONGODB_DATABASE"], *(stack.databases if stack is not None else ())]
        await drop_run(bootstrap, mongodb_url, namespace, databases)
    result["machine"] = machine()
    result["git"] = git_state()
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        f"Run `{result['run_id']}` ({result['at']}), {result['deliveries']:,} deliveries "
        f"({result['attempts']:,} attempts) in one webhook's log, projected in {result['seeded_s']} s:",
        "",
        "| page | first request ms | p50 ms | p95 ms | max ms | under 200 ms (p95) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in result["pages"]:
        verdict = "yes" if row["p95"] < BUDGET_MS else "**no**"
        lines.append(
            f"| {row['page']} | {row['first']:.1f} | {row['p50']:.1f} | {row['p95']:.1f} | {row['max']:.1f} "
            f"| {verdict} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=10_000, help="deliveries in the measured log")
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page (after 2 warm-ups)")
    parser.add_argument("--seed-cap", type=float, default=600, help="give up on the projection after this")
    parser.add_argument("--no-record", action="store_true", help="print the results without writing them")
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    text = table(result)
    print(text)
    if not args.no_record:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"console-{datetime.now(UTC):%Y-%m-%d-%H%M}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        replace_between_markers(README, MARK_START, MARK_END, text)
        log(f"recorded {path.relative_to(ROOT)}")
    return 0 if all(row["p95"] < BUDGET_MS for row in result["pages"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
