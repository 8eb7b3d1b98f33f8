"""Synchronous answers over Kafka: the waiting side of the request/reply contract.

Contract (``switchboard_contracts.events``, defined with the AI responder): a request is a ``message.received`` whose
CloudEvent carries the extension ``replyto`` = a correlation id the waiter chose (a UUID). The responder then
publishes exactly one ``message.replied`` to ``switchboard.replies`` with ``correlationid`` = that id and
``replystatus`` = answered | handoff | held | silent; its data is a ``Reply``.

The answer may land on any partition and any ingress replica may be waiting for it, so every replica reads every
partition of ``switchboard.replies`` (no consumer group), starting at the end as of start-up, and completes the
future registered for a correlation id it knows; other replicas' answers are skipped. A waiter registers
*before* publishing its request, so an answer cannot arrive before anyone waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from switchboard_contracts.cloudevents import CloudEvent, CloudEventError
from switchboard_contracts.events import CORRELATION_EXTENSION
from switchboard_platform.consumers import KafkaTopicConsumer, TopicConsumer
from switchboard_platform.kafka import header

log = logging.getLogger(__name__)
#: The Kafka header of a synchronous answer's correlation id (only waiters' answers carry one).
CORRELATION_HEADER = "ce_" + CORRELATION_EXTENSION


class ReplyChannel(Protocol):
    def expect(self, correlation_id: str) -> asyncio.Future[CloudEvent]:
        """Register interest before publishing the request; the future completes with the reply event."""
        ...

    def forget(self, correlation_id: str) -> None: ...


class PendingReplies:
    """Futures by correlation id (the part every ``ReplyChannel`` shares)."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[CloudEvent]] = {}

    def expect(self, correlation_id: str) -> asyncio.Future[CloudEvent]:
        future: asyncio.Future[CloudEvent] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        return future

    def forget(self, correlation_id: str) -> None:
        future = self._waiting.pop(correlation_id, None)
        if future is not None and not future.done():
            future.cancel()

    def take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """A replies-topic record: completes the waiter of its correlation id, if this replica has it."""
        correlation_id = header(record.headers, CORRELATION_HEADER)
        if correlation_id is None or not self.knows(correlation_id):
            return  # another replica's answer, an agent's message (no correlation id), or nobody waits any more
        try:
            event = CloudEvent.from_kafka(record.value, record.headers)
        except CloudEventError as exc:
            log.warning("unreadable reply skipped: %s", exc, extra={"correlation_id": correlation_id})
            return
        self.resolve(correlation_id, event)

    def resolve(self, correlation_id: str, event: CloudEvent) -> bool:
        future = self._waiting.pop(correlation_id, None)
        if future is None or future.done():
            return False
        future.set_result(event)
        return True

    def knows(self, correlation_id: str) -> bool:
        return correlation_id in self._waiting


class KafkaTail:
    """Reads every partition of a topic from its end as of start-up, without a consumer group (every replica
    sees every record), and hands each record to every one of ``readers``: for the replies topic, the waiters
    (``PendingReplies``) and the agent messages the chat widget polls for (``AgentMessages``)."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        client_id: str,
        readers: Sequence[Callable[[ConsumerRecord[bytes, bytes]], None]],
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.client_id = client_id
        self.readers = tuple(readers)
        self.ready = asyncio.Event()
        self._consumer: TopicConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 30.0) -> None:
        self._consumer = KafkaTopicConsumer(
            bootstrap=self.bootstrap,
            topic=self.topic,
            group_id=None,
            client_id=self.client_id,
            # Only answers produced from now on matter: nobody waits for older ones.
            start_at="latest",
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=self.client_id)
        try:
            await asyncio.wait_for(self.ready.wait(), timeout_s)
        except TimeoutError:
            # Waiters then time out (202 / 504) until the topic shows up; nothing else depends on it.
            log.warning("topic %s not assigned yet; records on it are missed until it is", self.topic)

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
        while True:
            try:
                if not self.ready.is_set() and self._consumer.assignment():
                    # Resolve "latest" to concrete positions now, so a record published after this point is
                    # read even if the first fetch happens later.
                    for partition in self._consumer.assignment():
                        await self._consumer.position(partition)
                    self.ready.set()
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            except KafkaError as exc:
                log.warning("reading %s failed; retrying: %s", self.topic, type(exc).__name__)
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    for read in self.readers:
                        read(record)
