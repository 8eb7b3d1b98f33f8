"""The delivery engine's bookkeeping, without I/O: each endpoint's lane (its queue and limits) and each
partition's watermark (the offset below which every task is settled, so it may be committed)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from switchboard_contracts import delivery_defaults as defaults
from switchboard_dispatcher.domain.targets import Target
from switchboard_dispatcher.domain.tasks import DeliveryTask


class PartitionWatermark:
    """Unsettled offsets of one partition; ``committable()`` is the next offset to commit."""

    def __init__(self) -> None:
        self.open: deque[int] = deque()
        self.settled: set[int] = set()
        self.last_settled_prefix: int | None = None

    def add(self, offset: int) -> None:
        self.open.append(offset)

    def settle(self, offset: int) -> None:
        self.settled.add(offset)
        while self.open and self.open[0] in self.settled:
            first = self.open.popleft()
            self.settled.discard(first)
            self.last_settled_prefix = first

    @property
    def unsettled(self) -> int:
        return len(self.open)

    def committable(self) -> int | None:
        return None if self.last_settled_prefix is None else self.last_settled_prefix + 1


@dataclass(eq=False)
class Entry:
    tp: TopicPartition
    offset: int
    task: DeliveryTask
    settled: bool = False


@dataclass(eq=False)
class Lane:
    """One endpoint's queue and limits."""

    key: str
    max_in_flight: int = defaults.MAX_IN_FLIGHT
    rate_per_minute: int = defaults.RATE_PER_MINUTE
    ordered: bool = False
    queue: deque[Entry] = field(default_factory=deque)
    in_flight: int = 0
    starts: deque[float] = field(default_factory=deque)
    wake: asyncio.TimerHandle | None = None

    def configure(self, target: Target) -> None:
        self.ordered = target.ordered
        self.max_in_flight = 1 if target.ordered else target.max_in_flight
        self.rate_per_minute = target.rate_per_minute

    def rate_slot_in(self, now: float) -> float:
        """Seconds until another start is allowed (0 when one is allowed now)."""
        while self.starts and self.starts[0] <= now - 60:
            self.starts.popleft()
        if len(self.starts) < self.rate_per_minute:
            return 0.0
        return self.starts[0] + 60 - now

    @property
    def overflow_limit(self) -> int:
        # What the lane can start within about a minute; beyond that, waiting in memory would hold offsets.
        return max(self.rate_per_minute, self.max_in_flight * 4, 50)
