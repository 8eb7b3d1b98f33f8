"""The soak: the whole pipeline at a steady rate for a long time, watched once a second.

The four services run as ``make up`` runs them (``deploy/local/services.sh`` through ``tests/e2e/stack.py``:
free loopback ports, their own run directory, topic namespace and databases, development environment) against
the shared Kafka and FerretDB. One tenant, its API key, the knowledge base of ``bench/responder`` in the AI
responder, two integrations (the chat widget's, and a partner bridge whose outgoing webhook gets the AI's
replies) and three webhooks on a receiver of our own (``bench/soak/receiver.py``, its own process):

- ``/all`` — every event type (``*``), always answers 200;
- ``/flaky`` — ``message.*``; about ``--flaky-pct`` % of first attempts get a 503 (and that share of those a
  second one), so the dispatcher's durable retries run all the time, and every delivery still arrives;
- ``/dead`` — ``ticket.escalated`` only, always 500, retry schedule [1, 2]: its deliveries end in the
  dead-letter topic; they are counted there, not as lost;
- ``/bridge`` — the bridge integration's outgoing webhook (``message.replied`` of its conversations).

Load (open loop, ``--rate`` requests/s, through the public ingress only): chat widget ``POST /chat`` (answered
synchronously by the AI responder over Kafka request/reply), the bridge's ``POST /api/webhook/incoming`` (the
answer goes out through the dispatcher) and ``POST /v1/events`` CloudEvents (``conversation.created``,
``ticket.escalated``). Every user message is a question the knowledge base answers, in conversations of
``--turns`` messages; each is ``message.received`` + ``ai.response.generated`` + ``message.replied`` on
``platform.events``.

Once a second: RSS, open file descriptors and CPU of every service process (the uvicorn python process in the
service's process group), of Kafka, FerretDB, the receiver and this driver; each service's event-loop lag
(``event_loop_lag_max_seconds`` from its ``/metrics``); every consumer group's lag (committed offset against the
end of each partition); requests sent and accepted; deliveries received.

After ``--minutes`` of load, a drain (at most ``--drain-timeout`` s): until every expected delivery arrived,
every dead letter is in the DLQ and every consumer group's lag is 0. Then the verdicts (the exit status is 1 if
one fails):

- **memory bounded**: per service, the least-squares slope of RSS over the second half of the load (after
  warm-up: caches, pools, the collector's freeze), projected over the whole load phase, must stay under
  ``max(16 MiB, 10 % of that half's median RSS)``; the same rule for open descriptors with
  ``max(16, 10 %)``;
- **lag returned to zero**: every consumer group at 0 at the end of the drain;
- **nothing lost**: every request the ingress accepted is on ``platform.events`` (``/v1/events`` ids; user
  messages counted per conversation), every user message got the responder's answer event, and every
  delivery the subscriptions call for — computed here from what is on ``platform.events`` and the
  subscriptions' filters, as ``delivery_id(source, id, kind, endpoint)`` — reached its endpoint with a 2xx
  (``/all``, ``/flaky``, ``/bridge``) or the dead-letter topic (``/dead``). Duplicates (same ``webhook-id``
  twice) are counted and allowed: delivery is at least once. No request may fail authentication.

Results: ``bench/results/soak-<UTC date>-<HHMM>.json`` (parameters, per-second series, summary, verdicts) and
``.png`` (the chart).

    uv run python -m bench.soak.run --minutes 2
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import argparse
import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.common import (
    BENCH_HOST,
    ROOT,
    drop_run,
    infra_pid,
    infrastructure,
    log,
    ready_port,
    spawn,
    stop,
)
from bench.dispatch.common import cpu_seconds, machine_busy_seconds
from bench.dispatch.run import git_state, machine
from bench.soak import report
from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.events import INTEGRATION_DEFAULT_EVENTS, matches
from switchboard_contracts.signing import generate_secret
from switchboard_contracts.topics import TOPIC_SPECS, Topic, topic_name
from switchboard_dispatcher.domain.tasks import delivery_id
from switchboard_platform.kafka_admin import ensure_topics
from tests.e2e.stack import SERVICES, started_stack

RESULTS = ROOT / "bench" / "results"
KNOWLEDGE = ROOT / "bench" / "responder"
ADMIN = "soak-admin-token-3f9c1d7e"
EVENTS_TOKEN = "soak-events-token-3f9c1d7e"  # noqa: S105 - a loopback-only run's own token
BRIDGE_BEARER = "soak-bridge-inbound-token-5d2a"
BRIDGE_OUT = "soak-bridge-outbound-token-8e4b"
#: Limits high enough not to be what is measured (the defaults are seed 001's 10 in flight, 100 a minute).
DELIVERY = {"max_in_flight": 32, "rate_limit_per_minute": 100_000}
HOOKS: dict[str, dict[str, Any]] = {
    "all": {"events": ["*"], "delivery": DELIVERY},
    "flaky": {"events": ["message.*"], "delivery": DELIVERY},
    "dead": {"events": ["ticket.escalated"], "delivery": {**DELIVERY, "retry_schedule": [1, 2]}},
}
MIB = 1024 * 1024


# -- processes -----------------------------------------------------------------------------------------------------


def service_pid(leader: int) -> int | None:
    """The uvicorn python process of a service's process group (services.sh runs ``uv run`` as its leader)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pgrp = int(stat.rsplit(")", 1)[1].split()[2])
        if (
            pgrp == leader
            and "python" in Path(cmdline[0].decode()).name
            and any(b"uvicorn" in a for a in cmdline)
        ):
            return int(entry.name)
    return None


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


# -- consumer lag --------------------------------------------------------------------------------------------------


class ConsumerLag:
    """Every consumer group of the namespace: the sum over its topics' partitions of end offset minus committed."""

    def __init__(self, bootstrap: str, namespace: str) -> None:
        self.namespace = namespace
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.partitions = {topic_name(spec.topic, namespace): spec.partitions for spec in TOPIC_SPECS}
        self.groups: list[str] = []

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def close(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    def label(self, group: str) -> str:
        return group.removeprefix(self.namespace).removeprefix("switchboard.")

    async def refresh(self) -> None:
        listed = await self.admin.list_consumer_groups()
        self.groups = sorted(group for group, *_ in listed if group.startswith(self.namespace))

    async def sample(self) -> dict[str, int]:
        committed = {group: await self.admin.list_consumer_group_offsets(group) for group in self.groups}
        topics = {tp.topic for offsets in committed.values() for tp in offsets}
        every = [TopicPartition(topic, p) for topic in topics for p in range(self.partitions.get(topic, 0))]
        ends = await self.consumer.end_offsets(every) if every else {}
        lags = {}
        for group, offsets in committed.items():
            mine = {tp.topic for tp in offsets}
            lag = 0
            for tp in every:
                if tp.topic in mine:
                    done = offsets[tp].offset if tp in offsets and offsets[tp].offset >= 0 else 0
                    lag += max(ends.get(tp, 0) - done, 0)
            lags[self.label(group)] = lag
        return lags


# -- what is on the topics -----------------------------------------------------------------------------------------


class Ledger:
    """What reached ``platform.events`` (from where the load began) and the dead-letter topic, and the
    deliveries that calls for."""

    def __init__(self, tenant: str, hooks: dict[str, str], bridge: str) -> None:
        self.tenant = tenant
        self.hooks = hooks  # name -> webhook id
        self.bridge = bridge
        self.expected: dict[str, set[str]] = defaultdict(set)  # receiver path -> delivery ids
        self.events: Counter[str] = Counter()  # type -> distinct events
        self.seen: set[tuple[str, str]] = set()
        self.v1_ids: set[str] = set()
        self.user_messages: dict[str, str] = {}  # message id -> conversation
        self.messages_per_conversation: Counter[str] = Counter()
        self.answered: set[str] = set()  # message ids the responder answered (or held for review)
        self.handed_off: set[str] = set()  # conversations handed to a human
        self.dead_letters: set[str] = set()
        self.undecodable = 0

    def record(self, event: CloudEvent) -> None:
        if event.tenant != self.tenant or (event.source, event.id) in self.seen:
            return
        self.seen.add((event.source, event.id))
        self.events[event.type] += 1
        for name, webhook in self.hooks.items():
            if any(matches(pattern, event.type) for pattern in HOOKS[name]["events"]):
                self.expected[f"/{name}"].add(delivery_id(event.source, event.id, "webhook", webhook))
        data = event.data if isinstance(event.data, dict) else {}
        if event.type in INTEGRATION_DEFAULT_EVENTS and data.get("integration_id") in (None, self.bridge):
            self.expected["/bridge"].add(delivery_id(event.source, event.id, "integration", self.bridge))
        if event.source == "//soak":
            self.v1_ids.add(event.id)
        elif event.type == "message.received" and (data.get("author") or {}).get("type") == "user":
            self.user_messages[str(data.get("message_id"))] = str(data.get("conversation_id"))
            self.messages_per_conversation[str(data.get("conversation_id"))] += 1
        elif event.type == "message.replied":
            self.answered.add(str(data.get("in_reply_to")))
        elif event.type == "ai.response.requires_review":
            self.answered.add(str((data.get("ai_response") or {}).get("in_reply_to")))
        elif event.type == "handoff.requested":
            self.handed_off.add(str(data.get("conversation_id")))

    def dead_letter(self, value: bytes | None) -> None:
        try:
            task = json.loads(value or b"")
            self.dead_letters.add(str(task["delivery_id"]))
        except (ValueError, KeyError, TypeError):
            self.undecodable += 1

    def unanswered(self) -> int:
        return sum(
            1
            for message, conversation in self.user_messages.items()
            if message not in self.answered and conversation not in self.handed_off
        )


async def follow(bootstrap: str, topic: str, start: dict[TopicPartition, int] | None, on: Any) -> None:
    """Read ``topic`` from ``start`` (or its beginning) for ever, calling ``on(record)``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()  # the topic exists; metadata may lag
            partitions = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        consumer.assign(partitions)
        for tp in partitions:
            if start is not None and tp in start:
                consumer.seek(tp, start[tp])
            else:
                await consumer.seek_to_beginning(tp)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    on(record)
    finally:
        await consumer.stop()


# -- the load ------------------------------------------------------------------------------------------------------


class Load:
    """Open-loop requests through the ingress: the k-th is due at k / rate; each kind in a fixed rotation."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        ingress: str,
        tenant: str,
        widget: str,
        questions: list[str],
        args: argparse.Namespace,
        run_id: str,
    ) -> None:
        self.http = http
        self.ingress = ingress
        self.tenant = tenant
        self.widget = widget
        self.questions = questions
        self.args = args
        self.run_id = run_id
        slots = 20
        widget_slots = round(args.widget_share * slots)
        incoming_slots = max(round(args.incoming_share * slots), 0)
        self.rotation = ["widget"] * widget_slots + ["incoming"] * incoming_slots
        self.rotation += ["events"] * (slots - len(self.rotation))
        self.sent: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.accepted_v1: set[str] = set()
        self.accepted_messages: Counter[str] = Counter()  # conversation -> accepted user messages
        self.in_flight = 0
        self.skipped = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self._count: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def accepted(self) -> int:
        return sum(v for k, v in self.statuses.items() if k.endswith(":ok"))

    def _question(self, n: int) -> str:
        return self.questions[n % len(self.questions)]

    async def run(self, seconds: float) -> None:
        started = time.monotonic()
        total = int(seconds * self.args.rate)
        for k in range(total):
            due = started + k / self.args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.in_flight >= self.args.max_in_flight:
                self.skipped += 1
                continue
            task = asyncio.create_task(self._one(self.rotation[k % len(self.rotation)]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=60)

    async def _one(self, kind: str) -> None:
        n = self._count[kind]
        self._count[kind] += 1
        self.sent[kind] += 1
        self.in_flight += 1
        started = time.perf_counter()
        try:
            ok = await getattr(self, f"_{kind}")(n)
            self.statuses[f"{kind}:{'ok' if ok else 'refused'}"] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.statuses[f"{kind}:{type(exc).__name__}"] += 1
        finally:
            self.in_flight -= 1
            self.latencies[kind].append((time.perf_counter() - started) * 1000)

    async def _widget(self, n: int) -> bool:
        conversation = f"w-{self.run_id}-{n // self.args.turns}"
        async with self.http.post(
            f"{self.ingress}/chat",
            params={"integration": self.widget},
            json={"prompt": self._question(n), "session_id": conversation},
        ) as response:
            await response.read()
            # 200: the answer came back; 504: accepted into Kafka, the answer was late (counted, not lost).
            if response.status in (200, 504):
                self.accepted_messages[conversation] += 1
                self.statuses[f"widget:{response.status}"] += 1
                return True
            self.statuses[f"widget:http{response.status}"] += 1
            return False

    async def _incoming(self, n: int) -> bool:
        conversation = f"i-{self.run_id}-{n // self.args.turns}"
        async with self.http.post(
            f"{self.ingress}/api/webhook/incoming",
            headers={"Authorization": f"Bearer {BRIDGE_BEARER}"},
            json={
                "user_id": f"user-{n // self.args.turns}",
                "username": "Soak User",
                "message": self._question(n + 7),
                "platform": "generic",
                "conversation_id": conversation,
                "metadata": {"message_id": f"m-{self.run_id}-{n}"},
            },
        ) as response:
            await response.read()
            if response.status == 202:
                self.accepted_messages[conversation] += 1
                return True
            self.statuses[f"incoming:http{response.status}"] += 1
            return False

    async def _events(self, n: int) -> bool:
        event_id = f"soak-{self.run_id}-{n}"
        escalated = n % 10 == 9
        event: dict[str, Any] = {
            "specversion": "1.0",
            "id": event_id,
            "source": "//soak",
            "type": "ticket.escalated" if escalated else "conversation.created",
            "tenant": self.tenant,
            "subject": f"c-{n}",
            "data": (
                {"ticket": {"id": f"t-{n}", "subject": "Escalated by the soak", "status": "open"}}
                if escalated
                else {"id": f"c-{n}", "title": "Support request", "seq": n}
            ),
        }
        async with self.http.post(
            f"{self.ingress}/v1/events", headers={"Authorization": f"Bearer {EVENTS_TOKEN}"}, json=event
        ) as response:
            await response.read()
            if response.status == 202:
                self.accepted_v1.add(event_id)
                return True
            self.statuses[f"events:http{response.status}"] += 1
            return False


# -- set-up --------------------------------------------------------------------------------------------------------


async def call(
    http: aiohttp.ClientSession, method: str, url: str, expect: int, **kwargs: Any
) -> dict[str, Any]:
    async with http.request(method, url, **kwargs) as response:
        body = await response.text()
        if response.status != expect:
            raise RuntimeError(f"{method} {url}: HTTP {response.status} (expected {expect}): {body[:500]}")
        answer: dict[str, Any] = json.loads(body)
        return answer


async def until_status(
    http: aiohttp.ClientSession, method: str, url: str, expect: int, timeout_s: float = 60, **kwargs: Any
) -> None:
    """Repeat a request until it answers ``expect`` (a key or integration reaching another service)."""
    deadline = time.monotonic() + timeout_s
    last = 0
    while time.monotonic() < deadline:
        async with http.request(method, url, **kwargs) as response:
            await response.read()
            last = response.status
            if last == expect:
                return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{method} {url} still answered {last} after {timeout_s:g} s (wanted {expect})")


def knowledge() -> tuple[list[dict[str, Any]], list[str]]:
    """The responder benchmark's help center, and the questions it answers from it."""
    articles = json.loads((KNOWLEDGE / "knowledge_base.json").read_text())["articles"]
    questions = json.loads((KNOWLEDGE / "questions.json").read_text())["questions"]
    return articles, [q["question"] for q in questions if q.get("article")]


async def configure(
    http: aiohttp.ClientSession, urls: dict[str, str], receiver_port: int, secrets: dict[str, str]
) -> dict[str, Any]:
    registry, responder = urls["registry"], urls["ai-responder"]
    admin = {"Authorization": f"Bearer {ADMIN}"}
    tenant = (
        await call(
            http,
            "POST",
            f"{registry}/api/admin/tenants",
            201,
            headers=admin,
            json={"name": "Soak", "development_mode": True},
        )
    )["data"]["id"]
    key = (
        await call(
            http,
            "POST",
            f"{registry}/api/admin/tenants/{tenant}/api-keys",
            201,
            headers=admin,
            json={"name": "soak"},
        )
    )["data"]["key"]
    auth = {"Authorization": f"Bearer {key}"}
    base = f"http://{BENCH_HOST}:{receiver_port}"
    widget = (
        await call(
            http,
            "POST",
            f"{registry}/api/webhook/config",
            201,
            headers=auth,
            json={"name": "Soak widget", "provider": "generic"},
        )
    )["data"]["id"]
    bridge = (
        await call(
            http,
            "POST",
            f"{registry}/api/webhook/config",
            201,
            headers=auth,
            json={
                "name": "Soak bridge",
                "provider": "generic",
                "outgoing_webhook_url": f"{base}/bridge",
                "auth_token": BRIDGE_OUT,
                "verification": {"bearer_token": BRIDGE_BEARER},
            },
        )
    )["data"]["id"]
    hooks = {}
    for name, spec in HOOKS.items():
        created = await call(
            http,
            "POST",
            f"{registry}/api/webhooks",
            201,
            headers=auth,
            json={"name": f"soak {name}", "url": f"{base}/{name}", "secret": secrets[name], **spec},
        )
        hooks[name] = created["data"]["_id"]
    articles, _ = knowledge()
    first, *rest = articles
    fields = ("title", "body", "link", "tags")
    await until_status(
        http,
        "POST",
        f"{responder}/api/tenants/{tenant}/articles",
        201,
        headers=auth,
        json={k: first[k] for k in fields},
    )
    for article in rest:
        await call(
            http,
            "POST",
            f"{responder}/api/tenants/{tenant}/articles",
            201,
            headers=auth,
            json={k: article[k] for k in fields},
        )
    return {"tenant": tenant, "widget": widget, "bridge": bridge, "hooks": hooks, "articles": len(articles)}


async def receiver_json(http: aiohttp.ClientSession, port: int, what: str) -> dict[str, Any]:
    async with http.get(f"http://127.0.0.1:{port}/_soak/{what}") as response:
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


async def warm_up(
    http: aiohttp.ClientSession, urls: dict[str, str], setup: dict[str, Any], port: int, questions: list[str]
) -> None:
    """Until every endpoint got a delivery: the ingress, responder and dispatcher all know the new config."""
    ingress = urls["ingress"]
    await until_status(
        http,
        "POST",
        f"{ingress}/chat",
        200,
        params={"integration": setup["widget"]},
        json={"prompt": questions[0], "session_id": "warm-up"},
    )
    await until_status(
        http,
        "POST",
        f"{ingress}/api/webhook/incoming",
        202,
        headers={"Authorization": f"Bearer {BRIDGE_BEARER}"},
        json={
            "user_id": "warm",
            "message": questions[1],
            "platform": "generic",
            "conversation_id": "warm-up-2",
        },
    )
    event = {"specversion": "1.0", "source": "//soak-warm-up", "type": "ticket.escalated"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await call(
            http,
            "POST",
            f"{ingress}/v1/events",
            202,
            headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
            json={
                **event,
                "id": uuid.uuid4().hex,
                "tenant": setup["tenant"],
                "data": {"ticket": {"id": "w"}},
            },
        )
        await asyncio.sleep(2)
        stats = await receiver_json(http, port, "stats")
        if all(stats.get(f"/{path}", {}).get("requests") for path in (*HOOKS, "bridge")):
            return
    raise RuntimeError(f"the endpoints did not all get a delivery during the warm-up: {stats}")


# -- sampling ------------------------------------------------------------------------------------------------------


async def loop_lag_ms(http: aiohttp.ClientSession, url: str) -> float | None:
    try:
        async with http.get(f"{url}/metrics", timeout=aiohttp.ClientTimeout(total=2)) as response:
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError):
        return None
    for line in text.splitlines():
        if line.startswith("event_loop_lag_max_seconds "):
            return round(float(line.split()[1]) * 1000, 2)
    return None


class Sampler:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        pids: dict[str, int],
        urls: dict[str, str],
        lag: ConsumerLag,
        load: Load,
        receiver_port: int,
    ) -> None:
        self.http = http
        self.pids = pids
        self.urls = urls
        self.lag = lag
        self.load = load
        self.receiver_port = receiver_port
        self.rows: list[dict[str, Any]] = []
        self.phase = "load"
        self._cpu: dict[str, float] = {}
        self._machine: tuple[float, float] | None = None
        self._started = time.monotonic()

    async def run(self) -> None:
        tick = 0
        while True:
            tick += 1
            if tick % 10 == 1:
                await self.lag.refresh()
            await self.sample()
            await asyncio.sleep(max(self._started + tick - time.monotonic(), 0))

    async def sample(self) -> None:
        at = time.monotonic() - self._started
        row: dict[str, Any] = {"t": round(at, 2), "phase": self.phase}
        row["rss_mib"] = {
            name: round(value / MIB, 2) for name, pid in self.pids.items() if (value := rss_bytes(pid))
        }
        row["fds"] = {name: value for name, pid in self.pids.items() if (value := open_fds(pid)) is not None}
        cpu = {name: used for name, pid in self.pids.items() if (used := cpu_seconds(pid)) is not None}
        row["cpu_cores"] = {
            name: round(used - self._cpu[name], 3) for name, used in cpu.items() if name in self._cpu
        }
        self._cpu = cpu
        busy, total = machine_busy_seconds()
        if self._machine is not None:
            cores = (busy - self._machine[0]) / max(total - self._machine[1], 1e-9) * (os.cpu_count() or 1)
            named = sum(row["cpu_cores"].values())
            row["cpu_cores"]["machine"] = round(cores, 3)
            row["cpu_cores"]["other_processes"] = round(max(cores - named, 0.0), 3)
        self._machine = (busy, total)
        lags = await asyncio.gather(*(loop_lag_ms(self.http, self.urls[name]) for name in SERVICES))
        row["loop_lag_ms"] = dict(zip(SERVICES, lags, strict=True))
        try:
            row["consumer_lag"] = await self.lag.sample()
        except Exception as exc:  # a failed sample is recorded as such, the soak goes on
            row["consumer_lag_error"] = type(exc).__name__
        row["sent"] = sum(self.load.sent.values())
        row["accepted"] = self.load.accepted
        row["skipped"] = self.load.skipped
        try:
            stats = await receiver_json(self.http, self.receiver_port, "stats")
            row["delivered_ok"] = sum(v.get("ok", 0) for v in stats.values())
            row["endpoint_failures"] = sum(v.get("failed", 0) for v in stats.values())
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.rows.append(row)


# -- the run -------------------------------------------------------------------------------------------------------


async def soak(
    args: argparse.Namespace, urls: dict[str, str], run_dir: Path, namespace: str
) -> dict[str, Any]:
    bootstrap, _ = infrastructure()
    secrets = {name: generate_secret() for name in HOOKS}
    config = {f"/{name}": {"secret": secret} for name, secret in secrets.items()}
    config["/flaky"]["fail_pct"] = args.flaky_pct
    config["/dead"]["fail_pct"] = "always"
    config["/bridge"] = {"bearer": BRIDGE_OUT}
    config_file = run_dir / "receiver.json"
    config_file.write_text(json.dumps(config))
    config_file.chmod(0o600)
    receiver = await spawn(
        [sys.executable, "-m", "bench.soak.receiver", f"--config={config_file}"],
        run_dir / "logs" / "receiver.log",
        stdout_pipe=True,
    )
    tasks: list[asyncio.Task[None]] = []
    lag = ConsumerLag(bootstrap, namespace)
    try:
        port = await ready_port(receiver, run_dir / "logs" / "receiver.log")
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=args.max_in_flight + 16)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            log("configuring: tenant, key, integrations, webhooks, knowledge base")
            setup = await configure(http, urls, port, secrets)
            _, questions = knowledge()
            log("warming up until every endpoint got a delivery")
            await warm_up(http, urls, setup, port, questions)

            ledger = Ledger(setup["tenant"], setup["hooks"], setup["bridge"])
            platform = topic_name(Topic.PLATFORM_EVENTS, namespace)
            probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
            await probe.start()
            try:
                spec = {s.topic: s.partitions for s in TOPIC_SPECS}[Topic.PLATFORM_EVENTS]
                start = await probe.end_offsets([TopicPartition(platform, p) for p in range(spec)])
            finally:
                await probe.stop()

            def on_event(record: Any) -> None:
                try:
                    ledger.record(CloudEvent.from_kafka(record.value, record.headers))
                except CloudEventError:
                    ledger.undecodable += 1

            tasks.append(asyncio.create_task(follow(bootstrap, platform, start, on_event)))
            dlq = topic_name(Topic.DELIVERY_DEAD_LETTER, namespace)
            tasks.append(
                asyncio.create_task(follow(bootstrap, dlq, None, lambda r: ledger.dead_letter(r.value)))
            )

            pids = {}
            for name in SERVICES:
                leader = int((run_dir / "pids" / f"{name}.pid").read_text().strip())
                pid = service_pid(leader)
                if pid is None:
                    raise RuntimeError(f"no uvicorn process in {name}'s process group {leader}")
                pids[name] = pid
            pids.update({name: pid for name in ("kafka", "ferretdb") if (pid := infra_pid(name)) is not None})
            pids["receiver"] = receiver.pid
            pids["driver"] = os.getpid()
            await lag.start()
            await lag.refresh()
            load = Load(
                http, urls["ingress"], setup["tenant"], setup["widget"], questions, args, run_dir.name
            )
            sampler = Sampler(http, pids, urls, lag, load, port)
            tasks.append(asyncio.create_task(sampler.run()))
            load_s = args.minutes * 60
            log(f"load: {args.rate:g} requests/s for {args.minutes:g} min (pids {pids})")
            reporter = asyncio.create_task(progress(sampler, load_s))
            tasks.append(reporter)
            await load.run(load_s)
            load_s = sampler.rows[-1]["t"] if sampler.rows else load_s
            sampler.phase = "drain"
            log(
                f"drain: until every delivery arrived and every consumer group is at 0 (max {args.drain_timeout:g} s)"
            )
            delivered = await drain(http, port, ledger, sampler, args.drain_timeout)
            stats = await receiver_json(http, port, "stats")
            summary = report.summarize(sampler.rows, load_s, load, ledger, delivered, stats)
            return {"setup": setup, "summary": summary, "series": sampler.rows}
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await lag.close()
        await stop(receiver)
        config_file.unlink(missing_ok=True)


async def progress(sampler: Sampler, load_s: float) -> None:
    while True:
        await asyncio.sleep(60)
        if sampler.rows:
            row = sampler.rows[-1]
            rss = ", ".join(f"{k} {v:.0f}" for k, v in row["rss_mib"].items() if k in SERVICES)
            lag = {k: v for k, v in row.get("consumer_lag", {}).items() if v}
            busy = row["cpu_cores"].get("other_processes", 0.0)
            log(
                f"  t={row['t']:.0f}/{load_s:.0f}s sent {row['sent']} accepted {row['accepted']} "
                f"delivered {row.get('delivered_ok')}; consumer lag {lag or 0}; RSS MiB: {rss}; "
                f"other work {busy:.2f} cores"
            )


async def drain(
    http: aiohttp.ClientSession, port: int, ledger: Ledger, sampler: Sampler, timeout_s: float
) -> dict[str, dict[str, int]]:
    deadline = time.monotonic() + timeout_s
    delivered: dict[str, dict[str, int]] = {}
    while True:
        await asyncio.sleep(3)
        delivered = await receiver_json(http, port, "delivered")
        missing = {
            path: len(ids - (ledger.dead_letters if path == "/dead" else set(delivered.get(path, {}))))
            for path, ids in ledger.expected.items()
        }
        last = sampler.rows[-1] if sampler.rows else {}
        lags = last.get("consumer_lag", {})
        if not any(missing.values()) and lags and not any(lags.values()):
            # One more second of samples at rest, then done.
            await asyncio.sleep(2)
            return await receiver_json(http, port, "delivered")
        if time.monotonic() > deadline:
            log(f"  drain timed out: missing {missing}, consumer lag {lags}")
            return delivered
        log(
            f"  missing {sum(missing.values())} deliveries; consumer lag { {k: v for k, v in lags.items() if v} }"
        )


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak.run",
        description="The whole pipeline at a steady rate, sampled once a second.",
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="duration of the load (default 30)")
    parser.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="requests per second into the ingress (2/s is about 4 events/s on platform.events and 6 delivery "
        "attempts/s, what the registry's delivery log keeps up with on a busy 2-core machine)",
    )
    parser.add_argument(
        "--widget-share", type=float, default=0.3, help="share of requests that are POST /chat"
    )
    parser.add_argument(
        "--incoming-share",
        type=float,
        default=0.05,
        help="share that are POST /api/webhook/incoming (their replies go to the bridge's outgoing webhook, "
        "which the dispatcher limits to 100 a minute per integration)",
    )
    parser.add_argument("--turns", type=int, default=4, help="user messages per conversation")
    parser.add_argument("--flaky-pct", type=int, default=20, help="%% of first attempts /flaky answers 503")
    parser.add_argument("--max-in-flight", type=int, default=64, help="concurrent requests at most")
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="max seconds to drain")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON and PNG go")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not 0 < args.minutes <= 24 * 60 or not 0 < args.rate <= 500:
        parser.error("--minutes must be in (0, 1440] and --rate in (0, 500] (the load is bounded)")
    if not 0 <= args.widget_share + args.incoming_share <= 1 or not 1 <= args.turns <= 50:
        parser.error("--widget-share + --incoming-share must be within [0, 1], --turns 1..50")
    if not 0 <= args.flaky_pct <= 90:
        parser.error("--flaky-pct must be 0..90")
    return args


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    bootstrap, mongodb_url = infrastructure()
    started = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:8]
    namespace = f"soak{run_id}."
    run_dir = ROOT / ".run" / "soak" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    databases = {
        "SB_REGISTRY_MONGODB_DATABASE": f"soak_{run_id}_registry",
        "SB_DISPATCHER_MONGODB_DATABASE": f"soak_{run_id}_dispatcher",
        "SB_AI_RESPONDER_MONGODB_DATABASE": f"soak_{run_id}_responder",
        "SB_INGRESS_MONGODB_DATABASE": f"soak_{run_id}_ingress",
    }
    env = {
        "SB_KAFKA_BOOTSTRAP": bootstrap,
        "SB_MONGODB_URL": mongodb_url,
        "SB_TOPIC_NAMESPACE": namespace,
        "SB_REGISTRY_ADMIN_TOKEN": ADMIN,
        "SB_INGRESS_EVENTS_TOKEN": EVENTS_TOKEN,
        "SB_RESOLVE_OVERRIDES": json.dumps({BENCH_HOST: "127.0.0.1"}),
        "SB_REGISTRY_ALLOW_LOOPBACK_URLS": "true",
        "SB_DISPATCHER_ALLOW_LOOPBACK_URLS": "true",
        # The load is what is measured, not the seeds' per-integration and per-visitor limits.
        "SB_INGRESS_RATE_LIMIT_PER_MINUTE": "1000000",
        "SB_INGRESS_WIDGET_RATE_LIMIT": "100000000",
        **databases,
    }
    log(f"soak {run_id}: topics {namespace}*, logs in {run_dir.relative_to(ROOT)}/logs")
    asyncio.run(ensure_topics(bootstrap, namespace))
    try:
        with started_stack(run_dir, env) as stack:
            result = asyncio.run(soak(args, stack.urls, run_dir, namespace))
    finally:
        log("cleaning up topics and databases")
        asyncio.run(drop_run(bootstrap, mongodb_url, namespace, list(databases.values())))
    summary = result["summary"]
    outcome = {
        "benchmark": "soak",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "git": git_state(),
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "setup": {k: v for k, v in result["setup"].items() if k != "hooks"},
        "verdicts": report.verdicts(summary),
        "summary": summary,
        "series": result["series"],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"soak-{started:%Y-%m-%d-%H%M}"
    report.write(outcome, stem.with_suffix(".json"))
    report.chart(outcome, stem.with_suffix(".png"))
    if args.out.resolve() == RESULTS.resolve():
        report.update_readme(outcome, stem.name)
    print(json.dumps({k: v for k, v in summary.items() if k != "services"}, indent=2))
    for name, entry in summary["services"].items():
        print(
            f"{name:13} RSS MiB {entry['rss_mib_start']:.1f} -> {entry['rss_mib_end']:.1f} "
            f"(fit {entry['rss_fit']}), fds {entry['fds_start']} -> {entry['fds_end']}, "
            f"loop lag ms {entry.get('loop_lag_ms')}"
        )
    print(json.dumps(outcome["verdicts"], indent=2))
    log(f"recorded {stem.with_suffix('.json')} and .png")
    return 0 if all(outcome["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
