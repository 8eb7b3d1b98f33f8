"""Webhook test doubles: a scriptable loopback receiver and a publisher of config records and events in the
registry's and other producers' formats (used by dispatcher tests, e2e tests and benchmarks).

The receiver listens on 127.0.0.1 only. Names like ``hooks.test`` resolve to it through the dispatcher's
``resolve_overrides``; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from faststream.kafka import KafkaBroker

from switchboard_contracts.cloudevents import CloudEvent
from switchboard_contracts.config_records import (
    DEFAULT_RETRY_SCHEDULE,
    AnyConfig,
    ConfigChanged,
    Entity,
    config_key,
)
from switchboard_contracts.signing import generate_secret
from switchboard_contracts.topics import Topic
from switchboard_platform.kafka import event_publisher, publish_event
from switchboard_platform.settings import ServiceSettings
from switchboard_testing.builders import config_record


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    """What a path answers: a list of (status, headers, delay_s) consumed in order, then ``default``."""

    steps: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    default: tuple[int, dict[str, str], float] = (200, {}, 0.0)


class Receiver:
    def __init__(self) -> None:
        self.requests: dict[str, list[Received]] = defaultdict(list)
        self.scripts: dict[str, Script] = defaultdict(Script)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, host: str = "hooks.test") -> str:
        return f"http://{host}:{self.port}/{path.lstrip('/')}"

    def script(
        self,
        path: str,
        *steps: tuple[int, dict[str, str], float],
        default: tuple[int, dict[str, str], float] = (200, {}, 0.0),
    ) -> None:
        self.scripts["/" + path.lstrip("/")] = Script(list(steps), default)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        script = self.scripts[path]
        status, headers, delay = script.steps.pop(0) if script.steps else script.default
        if delay:
            await asyncio.sleep(delay)
        async with self._arrived:
            self.requests[path].append(
                Received(
                    path,
                    request.method,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    time.monotonic(),
                )
            )
            self._arrived.notify_all()
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "nope")

    async def wait_for(self, path: str, count: int, timeout_s: float = 20.0) -> list[Received]:
        path = "/" + path.lstrip("/")
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests[path]) >= count)
        return list(self.requests[path])


class Platform:
    """Publishes what the registry and other services would: config changes and platform events."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.broker = KafkaBroker(settings.kafka_bootstrap)
        self.box = settings.secrets_box()
        self._config = event_publisher(self.broker, settings, Topic.CONFIG, title="t", description="t")
        self._events = event_publisher(
            self.broker, settings, Topic.PLATFORM_EVENTS, title="t", description="t"
        )
        self._versions: dict[str, int] = defaultdict(int)

    async def __aenter__(self) -> Platform:
        await self.broker.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()

    async def config(
        self, entity: Entity, entity_id: str, tenant: str, state: Mapping[str, Any] | None
    ) -> AnyConfig | None:
        """Publish the next version of ``entity_id``: the record ``state`` describes (``config_record`` fills in
        the bookkeeping), or a tombstone for None. Returns the record."""
        key = config_key(entity, entity_id)
        self._versions[key] += 1
        version = self._versions[key]
        if state is None:
            await self.broker.publish(
                None,
                topic=self.settings.topic(Topic.CONFIG),
                key=key.encode(),
                headers={"ce_type": "config.changed", "ce_version": str(version)},
            )
            return None
        record = config_record(entity, entity_id, tenant, state, version)
        change = ConfigChanged(
            entity=entity, entity_id=entity_id, tenant_id=tenant, version=version, state=record
        )
        await publish_event(
            self._config,
            CloudEvent(
                source="/switchboard/registry",
                type="config.changed",
                tenant=tenant,
                partitionkey=key,
                data=change,
                extensions={"entity": entity, "version": str(version)},
            ),
        )
        return record

    async def webhook(
        self,
        webhook_id: str,
        tenant: str,
        url: str,
        events: list[str],
        *,
        secret: str | None = None,
        delivery: dict[str, Any] | None = None,
        previous_secrets: tuple[tuple[str, datetime], ...] = (),
        **extra: Any,
    ) -> str:
        secret = secret or generate_secret()
        state = {
            "name": webhook_id,
            "url": url,
            "events": events,
            "active": True,
            "secret": self.box.encrypt(secret),
            "previous_secrets": [
                {"secret": self.box.encrypt(s), "expires_at": e.isoformat()} for s, e in previous_secrets
            ],
            "delivery": {
                "timeout_seconds": 5,
                "retry_schedule": list(DEFAULT_RETRY_SCHEDULE),
                "max_in_flight": 10,
                "rate_limit_per_minute": 100,
                "ordered": False,
                **(delivery or {}),
            },
            **extra,
        }
        await self.config("webhook", webhook_id, tenant, state)
        return secret

    async def events(
        self, type_: str, tenant: str, datas: list[Any], *, chunk: int = 1000
    ) -> list[CloudEvent]:
        """Publish many events, waiting for Kafka's acks per chunk rather than per event."""
        published: list[CloudEvent] = []
        for start in range(0, len(datas), chunk):
            futures = []
            for index, data in enumerate(datas[start : start + chunk], start=start):
                event = CloudEvent(
                    source="//tests", type=type_, tenant=tenant, data=data, partitionkey=f"conv-{index % 64}"
                )
                futures.append(
                    await self._events.publish(
                        event.kafka_value(),
                        key=event.kafka_key(),
                        headers=event.kafka_headers(),
                        no_confirm=True,
                    )
                )
                published.append(event)
            await asyncio.gather(*futures)
        return published

    async def event(self, type_: str, tenant: str, data: Any, **fields: Any) -> CloudEvent:
        event = CloudEvent(
            source="//tests",
            type=type_,
            tenant=tenant,
            data=data,
            partitionkey=fields.pop("partitionkey", "conv-1"),
            **fields,
        )
        await publish_event(self._events, event)
        return event


def now() -> datetime:
    return datetime.now(UTC)
