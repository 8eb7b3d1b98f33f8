"""Follows the registry's compacted config topic: the whole topic at start-up, then new changes.

Services that keep a materialized view of configuration (the dispatcher's endpoints, ingress's integrations,
the API keys) give it a ``ConfigView`` (``switchboard_platform.config_view``). The follower parses each record of
an entity the view follows once, into that entity's model (``switchboard_contracts.config_records``), and applies
it; records of other entities are skipped unparsed. A tombstone is applied as None, and so is a record that
cannot be read: acting on the entity's previous configuration (an old URL, a revoked key) would be worse than
not acting on it, and the error is logged.

No consumer group: every replica needs every partition from the beginning. Start-up completes (and the
service reports ready) only once the view has caught up with the end offsets read at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol, Self

from aiokafka import ConsumerRecord, TopicPartition
from pydantic import ValidationError

from switchboard_contracts import strict_json
from switchboard_contracts.config_records import ConfigChanged, ConfigRecord, Entity, parse_key
from switchboard_contracts.topics import Topic
from switchboard_platform.consumers import KafkaTopicConsumer, TopicConsumer, reached_end
from switchboard_platform.settings import ConfigFollowerSettings

log = logging.getLogger(__name__)


class FollowingView(Protocol):
    """What a follower feeds (``ConfigView`` is one)."""

    @property
    def entities(self) -> frozenset[Entity]: ...

    def apply(
        self, entity: Entity, entity_id: str, version: int | None, record: ConfigRecord | None
    ) -> bool: ...


class ConfigFollower:
    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        view: FollowingView,
        client_id: str = "switchboard-config",
        catch_up_timeout_s: float = 60.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.view = view
        self.client_id = client_id
        self.catch_up_timeout_s = catch_up_timeout_s
        self.caught_up = asyncio.Event()
        self._consumer: TopicConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_service(cls, settings: ConfigFollowerSettings, service: str, view: FollowingView) -> Self:
        """``service``'s follower of its namespace's config topic, waiting ``config_catch_up_timeout_s`` at
        start-up; its Kafka client id is ``switchboard-<service>-config``."""
        return cls(
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic(Topic.CONFIG),
            view=view,
            client_id=f"switchboard-{service}-config",
            catch_up_timeout_s=settings.config_catch_up_timeout_s,
        )

    async def ready(self) -> bool:
        """Whether the view has caught up: a readiness probe (``extra_probes``)."""
        return self.caught_up.is_set()

    async def start(self, catch_up_timeout_s: float | None = None) -> None:
        """Start following and return once caught up; TimeoutError after ``catch_up_timeout_s`` (default: the
        one given at construction)."""
        if catch_up_timeout_s is None:
            catch_up_timeout_s = self.catch_up_timeout_s
        # Without a group every partition is assigned, each read from the beginning.
        self._consumer = KafkaTopicConsumer(
            bootstrap=self.bootstrap, topic=self.topic, group_id=None, client_id=self.client_id
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="config-follower")
        await asyncio.wait_for(self.caught_up.wait(), catch_up_timeout_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _run(self) -> None:
        assert self._consumer is not None  # noqa: S101 - start() set it
        end: dict[TopicPartition, int] | None = None
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for record in records:
                    self.apply(record)
            if self.caught_up.is_set():
                continue
            assignment = self._consumer.assignment()
            if end is None and assignment:
                end = await self._consumer.end_offsets(list(assignment))
            if end is not None and await reached_end(self._consumer, end):
                self.caught_up.set()

    def apply(self, record: ConsumerRecord[bytes, bytes]) -> None:
        key = (record.key or b"").decode()
        parsed = parse_key(key)
        if parsed is None or parsed[0] not in self.view.entities:
            return
        entity, entity_id = parsed
        headers = {name: value.decode() for name, value in record.headers}
        version_header = headers.get("ce_version")
        version = int(version_header) if version_header and version_header.isdigit() else None
        if record.value is None:
            self.view.apply(entity, entity_id, version, None)
            return
        try:
            change = ConfigChanged.model_validate(
                strict_json.loads(record.value, max_depth=strict_json.RECORD_MAX_DEPTH)
            )
        except ValueError as exc:  # not JSON, or not a record of its entity (ValidationError)
            # Only field paths and error kinds: a record carries sealed secrets, never logged even sealed.
            problems = exc.errors(include_input=False) if isinstance(exc, ValidationError) else []
            log.error(
                "unreadable config record: entity removed from this view",
                extra={
                    "key": key,
                    "offset": record.offset,
                    "problems": [".".join(map(str, p["loc"])) + f": {p['type']}" for p in problems],
                },
            )
            self.view.apply(entity, entity_id, version, None)
            return
        self.view.apply(change.entity, change.entity_id, change.version, change.state)
