"""Follows the registry's compacted config topic: the whole topic at start-up, then new changes.

Services that keep a materialized view of configuration (the dispatcher's endpoints, ingress's integrations)
give it an ``apply(key, version, state)`` callback; ``state`` is None for a tombstone (deletion).

No consumer group: every replica needs every partition from the beginning. Start-up completes (and the
service reports ready) only once the view has caught up with the end offsets read at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Self

from aiokafka import ConsumerRecord, TopicPartition

from switchboard_shared import strict_json
from switchboard_shared.consumers import KafkaTopicConsumer, TopicConsumer, reached_end
from switchboard_shared.settings import ConfigFollowerSettings
from switchboard_shared.topics import Topic

log = logging.getLogger(__name__)

#: (key "<entity>:<id>", version or None, full state or None for a deletion)
Apply = Callable[[str, int | None, dict[str, Any] | None], object]


class ConfigFollower:
    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        apply: Apply,
        client_id: str = "switchboard-config",
        catch_up_timeout_s: float = 60.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._apply = apply
        self.client_id = client_id
        self.catch_up_timeout_s = catch_up_timeout_s
        self.caught_up = asyncio.Event()
        self._consumer: TopicConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_service(cls, settings: ConfigFollowerSettings, service: str, apply: Apply) -> Self:
        """``service``'s follower of its namespace's config topic, waiting ``config_catch_up_timeout_s`` at
        start-up; its Kafka client id is ``switchboard-<service>-config``."""
        return cls(
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic(Topic.CONFIG),
            apply=apply,
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
        headers = {name: value.decode() for name, value in record.headers}
        version_header = headers.get("ce_version")
        version = int(version_header) if version_header and version_header.isdigit() else None
        if record.value is None:
            self._apply(key, version, None)
            return
        try:
            change = strict_json.loads(record.value, max_depth=strict_json.RECORD_MAX_DEPTH)
            state = change["state"]
            version = int(change.get("version", version or 0)) or version
        except (ValueError, KeyError, TypeError):
            log.error("unreadable config record skipped", extra={"key": key, "offset": record.offset})
            return
        self._apply(key, version, state)
