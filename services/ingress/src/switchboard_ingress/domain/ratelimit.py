"""Fixed-window request limits (seed 002: 100 requests per minute per platform integration).

``window_of`` is the arithmetic every limiter shares. ``LocalWindows`` counts in this process only: the
limiter of a single replica, and the fallback of the shared (MongoDB) limiter while MongoDB is unreachable.
A fixed window, like express-rate-limit's default, may admit up to twice the limit across a window boundary;
the limit is about protecting the pipeline and the partner contract, not about exact metering.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RateLimiter(Protocol):
    async def acquire(self, key: str, limit: int, window_s: int) -> float | None:
        """Take one request from ``key``'s current window: None when admitted, else the seconds until the
        window resets (the Retry-After)."""
        ...


@dataclass(frozen=True)
class Window:
    start: int
    reset_in: float

    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_in))


def window_of(now: float, window_s: int) -> Window:
    start = int(now // window_s) * window_s
    return Window(start=start, reset_in=start + window_s - now)


class LocalWindows:
    """Per-process fixed windows: ``(key, window start) → count``, old windows dropped as time moves on."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._last_prune = 0.0

    def take(self, key: str, limit: int, window_s: int) -> float | None:
        now = self.clock()
        window = window_of(now, window_s)
        self._prune(now)
        slot = (key, window.start)
        count = self._counts.get(slot, 0)
        if count >= limit:
            return window.reset_in
        self._counts[slot] = count + 1
        return None

    async def acquire(self, key: str, limit: int, window_s: int) -> float | None:
        return self.take(key, limit, window_s)

    def _prune(self, now: float) -> None:
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        # Windows are at most an hour long here; anything that started over an hour ago is over.
        self._counts = {slot: n for slot, n in self._counts.items() if slot[1] > now - 3600}
